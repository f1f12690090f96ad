"""`helsedata quality`: run the GX suites on every raw table and mart, store results and labels."""

from __future__ import annotations

import click

from helsedata.cli import emit, error_body, json_option, settings
from helsedata.cli.bokmal import Command
from kernel.formats import format_number


@click.command(name="quality", cls=Command)
@json_option
@click.option("--dataset", "datasets", multiple=True, metavar="SCHEMA.TABLE",
              help="Kontroller bare dette datasettet (kan gjentas), f.eks. raw.vft_mottakere. Standard: alle.")
def quality(as_json: bool, datasets: tuple[str, ...]) -> None:
    """Kjør kvalitetskontrollene (Great Expectations) og gi hvert datasett et kvalitetsmerke.

    Kontrollene kjøres på DuckDB-varehuset. Skriver quality.results og quality.labels i varehuset og HTML-rapporten
    $HELSEDATA_HOME/reports/quality.html. Exit-kode 0 når alle kritiske kontroller består, 1 når en
    kritisk kontroll feiler (da stoppes publisering av det som bygger på den), 2 ved ugyldig
    inndata (ukjent datasett, mangler varehus).
    """
    from quality import run_quality

    run = run_quality(settings(), datasets=datasets or None)
    failed = run.failed_critical
    if as_json:
        body = run.to_dict()
        if failed:
            message = _failed_message(len(failed))
            body.update({k: v for k, v in error_body(message, 1, [
                f"{r.dataset}: {r.check}" for r in failed]).items() if k != "ok"})
        emit(body, True, "")
    else:
        _print_table(run)
    if failed:
        raise click.exceptions.Exit(1)


def _print_table(run) -> None:
    from rich.console import Console
    from rich.table import Table

    from quality.labels import LABEL_NAMES
    from quality.report import SEVERITIES

    table = Table(title=f"Kvalitetskjøring {run.run_id}")
    table.add_column("datasett")
    table.add_column("kvalitetsmerke")
    table.add_column("feilede kontroller")
    for d in run.datasets:
        failed = ", ".join(f"{r.check} ({SEVERITIES.get(r.severity, r.severity)}"
                           + (f", {format_number(r.unexpected_percent, decimals=2)}\u202f%" if r.unexpected_percent is not None else "")
                           + ")" for r in d.failed()) or "—"
        table.add_row(d.dataset, LABEL_NAMES[d.label.label], failed)
    console = Console(width=160)
    console.print(table)
    console.print(f"Rapport: {run.report_path}")
    if not run.ok:
        console.print(f"[bold red]{_failed_message(len(run.failed_critical))}[/]: publisering av datasett som "
                      "bygger på dem er stoppet (helsedata publish --override-quality-gate --reason TEKST).")


def _failed_message(count: int) -> str:
    return f"{format_number(count)} {'kritisk kontroll' if count == 1 else 'kritiske kontroller'} feilet"
