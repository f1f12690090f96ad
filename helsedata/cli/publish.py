"""`helsedata publish`: disclosure-controlled public tables, HTML report, Superset (if configured)."""

from __future__ import annotations

import click

from helsedata.cli import emit, json_option, settings


@click.command(name="publish")
@json_option
@click.option("--override-quality-gate", "override", is_flag=True,
              help="Publish although a critical quality check fails. Needs --reason; recorded in the audit log.")
@click.option("--reason", metavar="TEXT", default=None,
              help="Why the quality gate is overridden (required with --override-quality-gate).")
@click.option("--actor", metavar="ID", default=None,
              help="Who overrides the quality gate (written to the audit log with the reason). "
                   "Defaults to the operating-system user.")
def publish(as_json: bool, override: bool, reason: str | None, actor: str | None) -> None:
    """Publish the indicator marts: quality gate, disclosure control, public.* tables,
    reports/indicators.html, and Superset when HELSEDATA_SUPERSET_URL is set.

    Counts of 1–5 persons are suppressed, with secondary suppression so they cannot be
    recovered from totals; other counts are rounded to the nearest 5 (docs/publishing.md).
    Exit 1 when the quality gate blocks publication.
    """
    if override and not (reason and reason.strip()):
        raise click.UsageError("--override-quality-gate needs --reason TEXT saying why.")
    if reason is not None and not override:
        raise click.UsageError("--reason is only used with --override-quality-gate.")
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
