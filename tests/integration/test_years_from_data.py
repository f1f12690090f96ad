"""No year horizon in the code (issue 16, item 5): a platform run in 2028 counts 2027.

The clock is frozen in 2028 with time-machine, so ingestion's "not in the future" rule, the run
date helsedata build passes to dbt (var run_date) and the year spine (int_calendar_years) all
see 2028. A real load, a real ``dbt build`` and a query of the real mart.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ingestion.testing import STABLE_KOMMUNE, synthetic_fnr, write_extract
from kernel.config import Settings

pytestmark = pytest.mark.slow

FROZEN = dt.datetime(2028, 2, 1, 9, 0, tzinfo=dt.UTC)


def _service(serial: int, start: str, end: str = "") -> dict[str, str]:
    return {"fodselsnummer": synthetic_fnr(serial), "kommunenummer": STABLE_KOMMUNE, "tjenestetype": "6",
            "startdato": start, "sluttdato": end, "via_vkp": "false"}


def test_a_build_in_2028_carries_2027(settings: Settings, tmp_path):
    import duckdb

    import ingestion
    from helsedata.build import build

    extract = write_extract(tmp_path / "vft.csv", "vft_mottakere", [
        _service(1, "2026-06-01"),                 # ongoing: counted in 2026 and 2027
        _service(2, "2027-03-01"),                 # ongoing from 2027
        _service(3, "2026-11-01", "2026-12-01"),   # ended in 2026: the extract covers 2026 on
        _service(4, "2027-11-01", "2027-12-01"),   # ended before 31 December 2027
    ])
    with time_machine.travel(FROZEN, tick=True):
        [loaded] = ingestion.ingest_files(settings, "vft_mottakere", [extract], demo=True, progress=False)
        assert loaded.status == "loaded", loaded.error
        result = build(settings, progress=False)
    assert result.ok, [n.message for n in result.failed]

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        years = con.execute("select aar from intermediate.int_calendar_years order by aar").fetchall()
        values = dict(con.execute(
            "select indicator_id || ':' || period, value from marts.mart_indicator_values "
            "where geo_level = 'nasjonal' and indicator_id in ('vft_mottakere', 'vft_mottakere_31des')"
        ).fetchall())
    assert years == [(2026,), (2027,)]
    assert values["vft_mottakere:2027"] == 3
    assert values["vft_mottakere_31des:2027"] == 2
    assert values["vft_mottakere:2026"] == 2
