"""`helsedata publish`: disclosure-controlled public tables, HTML report, Superset (if configured)."""

from __future__ import annotations

import click

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Command


@click.command(name="publish", cls=Command)
@json_option
@click.option("--override-quality-gate", "override", is_flag=True,
              help="Publiser selv om en kritisk kvalitetskontroll feiler. Krever --reason; føres i revisjonsloggen.")
@click.option("--reason", metavar="TEXT", default=None,
              help="Hvorfor kvalitetsporten overstyres (påkrevd med --override-quality-gate).")
@click.option("--actor", metavar="ID", default=None,
              help="Hvem som overstyrer kvalitetsporten (føres i revisjonsloggen sammen med begrunnelsen). "
                   "Standard er brukeren i operativsystemet.")
def publish(as_json: bool, override: bool, reason: str | None, actor: str | None) -> None:
    """Publiser indikatorene: kvalitetsport, utleveringskontroll, public.*-tabeller, rapporter.

    Publiserer indikatormartene som public.*-tabeller og reports/indicators.html, og til Superset
    når HELSEDATA_SUPERSET_URL er satt.

    Antall på 1–5 personer skjules, med sekundær skjuling så de ikke kan regnes ut fra
    summene; andre antall avrundes til nærmeste 5 (docs/publishing.md).
    Exit 1 når kvalitetsporten stopper publiseringen.
    """
    if override and not (reason and reason.strip()):
        raise click.UsageError("--override-quality-gate krever --reason TEXT som sier hvorfor.")
    if reason is not None and not override:
        raise click.UsageError("--reason brukes bare sammen med --override-quality-gate.")
    from helsedata.publish import publish as run_publish

    if override and not actor:
        import getpass

        actor = getpass.getuser()
    result = run_publish(settings(), override_reason=reason if override else None, actor=actor)
    from dashboards.report import GATE_LABELS, report_pages
    from kernel.formats import format_number as num

    pages = report_pages(settings())
    human = [(f"Publiserte {num(result.tables.get('public.indicator_values', 0))} indikatorverdier "
              f"({num(result.cells_suppressed)} skjult, {num(result.cells_suppressed_secondary)} av dem "
              "for å beskytte andre)."),
             f"Kvalitetskontroll: {GATE_LABELS.get(result.gate, result.gate)}.", f"Rapport: {pages.report}",
             f"Registersider ({len(pages.registry_pages)}): {pages.registry_dir}",
             f"Datakvalitet: {pages.report.parent / 'quality.html'}"]
    if result.superset:
        human += [f"Superset: {result.superset['url']}/superset/dashboard/{slug}/"
                  for slug in result.superset["dashboards"]]
    human += [f"Advarsel: {w}" for w in result.warnings]
    emit(result.to_dict(), as_json, "\n".join(human))
