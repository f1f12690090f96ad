"""Reported figures in the marts, and the status history per reporting period (issue 16, items 1 and 2).

Real import, real ``dbt build`` (twice, under frozen clocks in two reporting periods), real marts.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import time_machine

from helsedata.build import build
from helsedata.indicators import STRATEGY_FIGURES, import_figures
from kernel.config import Settings

pytestmark = pytest.mark.slow


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_reported_figures_are_marked_and_every_reporting_period_is_kept(settings: Settings):
    import_figures(settings, STRATEGY_FIGURES)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=True):
        first = build(settings, progress=False)
    assert first.ok, [n.message for n in first.failed]

    values = {r[0]: r[1:] for r in _query(settings, """
        select indicator_id, value, origin, goal_indicator, source, reported_by, seed_reference
        from marts.mart_indicator_values where period = '2022' or period = '2023'""")}
    assert values["helseregistre_soknader"][:3] == (283, "rapportert", "3.1.1")
    assert values["raadsmodell_positiv_effekt"][0] == 76
    assert all(v[1] == "rapportert" and v[3] and v[4] and v[5] for v in values.values())
    status_origins = dict(_query(settings, "select indicator_id, origin from marts.mart_indicator_status"))
    assert status_origins["dho_helsefellesskap"] == "rapportert" and status_origins["vft_mottakere"] == "beregnet"

    with time_machine.travel(dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC), tick=True):
        second = build(settings, progress=False)
    assert second.ok, [n.message for n in second.failed]

    history = _query(settings, """
        select indicator_id, reporting_period, status, status_origin, comment, recorded_on, target_year,
               target_is_illustrative
        from marts.mart_indicator_status_history where breakdown_code = 'alle'""")
    periods = {(r[0], r[1]): r for r in history}
    # the strategy's own Q3 2023 report, with its comment
    digi = periods[("helsenorge_digihelsestasjon_kommuner", "2023-Q3")]
    assert digi[2:5] == ("yellow", "rapportert", "DigiHelsestasjon grønn; ungdomsløsningen forsinket (gul)")
    # the platform's status in both periods of 2026: the first build's row was kept
    q1, q3 = periods[("vft_mottakere", "2026-Q1")], periods[("vft_mottakere", "2026-Q3")]
    assert (q1[3], q1[5], q3[5]) == ("beregnet", dt.date(2026, 3, 1), dt.date(2026, 9, 1))
    # target horizon as the strategy states it, illustrative targets marked
    assert q3[6] == 2025 and q3[7] is True
    assert {r[1] for r in history} == {"2023-Q3", "2026-Q1", "2026-Q3"}
