"""``helsedata build``: dbt build of the indicator marts (docs/indicators.md)."""

from __future__ import annotations

import click

from helsedata.cli import emit, json_option, settings


@click.command(name="build")
@click.option("--select", "-s", "select", multiple=True, metavar="SELECTOR",
              help="dbt node selection, e.g. 'marts' or '+mart_indicator_status' (repeatable; default: everything).")
@json_option
def build(select: tuple[str, ...], as_json: bool) -> None:
    """Build and test the indicator marts with dbt (seeds, models, data tests, unit tests).

    Runs `dbt build` on the DuckDB warehouse in HELSEDATA_HOME: staging → intermediate → marts
    (mart_indicator_values, mart_indicator_status, mart_registry_reporting_coverage). Creates the
    raw and shared tables first when they do not exist, so it also works before any ingestion.
    On failure it names every model or test that failed and why, and exits 1. dbt's own log is
    in HELSEDATA_HOME/dbt/logs/dbt.log.
    """
    from helsedata.build import build as run_build

    selectors = [part for value in select for part in value.split()]  # "-s 'a b'" is "-s a -s b"
    result = run_build(settings(), select=selectors or None, progress=not as_json)
    counts = ", ".join(f"{status} {n}" for status, n in result.counts.items())
    emit(result.to_json(), as_json,
         f"dbt build OK: {len(result.nodes)} nodes ({counts}) in {result.seconds:.1f} s")
