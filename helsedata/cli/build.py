"""``helsedata build``: dbt build of the indicator marts (docs/indicators.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from helsedata.cli import emit, json_option, settings
from helsedata.cli.bokmal import Command
from kernel.formats import format_number

if TYPE_CHECKING:
    from helsedata.build import BuildResult

#: dbt's node statuses in bokmål (the JSON keeps dbt's words).
DBT_STATUSES = {"success": "vellykket", "pass": "bestått", "warn": "advarsel", "skipped": "hoppet over",
                "error": "feil", "fail": "feilet"}


@click.command(name="build", cls=Command)
@click.option("--select", "-s", "select", multiple=True, metavar="SELECTOR",
              help="Hvilke dbt-noder som bygges, f.eks. 'marts' eller '+mart_indicator_status' (kan gjentas; "
                   "standard: alle).")
@json_option
def build(select: tuple[str, ...], as_json: bool) -> None:
    """Bygg og test indikatormartene med dbt (seeds, modeller og datatester).

    Kjører `dbt build` på DuckDB-varehuset i HELSEDATA_HOME: staging → intermediate → marts
    (mart_indicator_values, mart_indicator_status, mart_registry_reporting_coverage). Lager
    råtabellene og de felles tabellene først hvis de mangler, så kommandoen virker også før noe er
    lastet inn. Ved feil nevnes hver modell og test som feilet, og hvorfor, og exit-koden er 1.
    dbts egen logg ligger i HELSEDATA_HOME/dbt/logs/dbt.log. dbts enhetstester hører til CI og
    kjøres ikke her (dbt test --select test_type:unit).
    """
    from helsedata.build import build as run_build

    selectors = [part for value in select for part in value.split()]  # "-s 'a b'" is "-s a -s b"
    result = run_build(settings(), select=selectors or None, progress=not as_json)
    emit(result.to_json(), as_json, summary(result))


def summary(result: BuildResult) -> str:
    """``dbt build fullført: 117 noder (bestått 95, vellykket 22) på 25,3 s``."""
    counts = ", ".join(f"{DBT_STATUSES.get(status, status)} {format_number(n)}" for status, n in result.counts.items())
    return (f"dbt build fullført: {format_number(len(result.nodes))} noder ({counts}) på "
            f"{format_number(result.seconds, decimals=1)} s")
