"""Adding a source is one declaration: a fifth source, declared only here, is ingested under its
own rules and checked by its own GX raw spec, with no change to ingestion/ or quality/.

The fifth source renames every column the registry extract has (unit, month, counts), so a rule
that still keyed on ``registry_reporting``'s names would not fire for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import pytest

from ingestion import ingest_files
from ingestion.testing import TEST_KEY_HEX, VALID_ORGNR, write_extract
from kernel import sources
from kernel.sources import REGISTRY_REPORTING, Column, CountRule, Period, Source
from quality.runner import validate
from quality.specs import raw_spec

TODAY = dt.date(2025, 6, 1)

FIFTH = dataclasses.replace(
    REGISTRY_REPORTING,
    name="kvalitetsregister_leveranser",
    description="One row is one unit's deliveries to one quality registry in one month.",
    columns=(
        REGISTRY_REPORTING.column("register"),
        Column("enhet", "text", description="Kommunenummer or organisation number."),
        Column("maaned", "text", description="Month, YYYY-MM."),
        Column("ventet", "integer"),
        Column("levert", "integer"),
        Column("levert_digitalt", "integer"),
    ),
    period=Period("maaned", grain="month"),
    business_key=("register", "enhet", "maaned"),
    unit_column="enhet",
    count_columns=("ventet", "levert", "levert_digitalt"),
    count_rules=(CountRule("levert_digitalt", "levert"),),
)

GOOD = [
    {"register": "KPR", "enhet": "0301", "maaned": "2024-01", "ventet": "10", "levert": "9", "levert_digitalt": "8"},
    {"register": "KPR", "enhet": VALID_ORGNR, "maaned": "2024-02", "ventet": "4", "levert": "4", "levert_digitalt": "0"},
]
#: (change to a good row, the rule it must be quarantined under)
BAD = [
    ({"maaned": "2024-13"}, "periode_invalid"),
    ({"maaned": "2025-07"}, "date_in_future"),
    ({"maaned": "2016-12"}, "date_before_source"),
    ({"enhet": "1141", "maaned": "2021-03"}, "rapporteringsenhet_invalid"),
    ({"enhet": "974760674"}, "rapporteringsenhet_invalid"),
    ({"ventet": "-1"}, "count_negative"),
    ({"levert": "3", "levert_digitalt": "4"}, "count_inconsistent"),
]


@pytest.fixture
def fifth(monkeypatch) -> Source:
    """Declare the fifth source: one entry in the contract's registry of sources."""
    monkeypatch.setitem(sources.SOURCES, FIFTH.name, FIFTH)
    return FIFTH


def test_fifth_source_is_ingested_under_its_contract(settings, tmp_path, fifth):
    rows = GOOD + [{**GOOD[0], **change} for change, _ in BAD]
    path = write_extract(tmp_path / "fifth.csv", fifth.name, rows)
    configured = dataclasses.replace(settings, pseudonym_key_hex=TEST_KEY_HEX)
    result = ingest_files(configured, fifth.name, [path], progress=False, today=TODAY)[0]
    assert result.status == "loaded", result.error
    assert result.rows_loaded == len(GOOD)
    expected: dict[str, int] = {}
    for _, rule in BAD:
        expected[rule] = expected.get(rule, 0) + 1
    assert result.quarantine_reasons == expected
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        details = dict(con.execute("select rule, string_agg(detail, ' | ') from ingest.quarantine group by rule").fetchall())
        loaded = con.execute(f"select enhet, maaned, levert_digitalt from {fifth.raw_table} order by maaned").fetchall()
    assert loaded == [("0301", "2024-01", 8), (VALID_ORGNR, "2024-02", 0)]
    assert details["periode_invalid"] == "maaned 2024-13 er ikke en måned skrevet ÅÅÅÅ-MM"
    assert details["count_inconsistent"] == "levert_digitalt (4) er større enn levert (3)"
    assert "enhet 974760674 er verken et kommunenummer" in details["rapporteringsenhet_invalid"]


def test_fifth_source_gets_a_gx_raw_spec_that_checks_its_rules(settings, tmp_path, fifth):
    path = write_extract(tmp_path / "fifth.csv", fifth.name, GOOD)
    configured = dataclasses.replace(settings, pseudonym_key_hex=TEST_KEY_HEX)
    assert ingest_files(configured, fifth.name, [path], progress=False, today=TODAY)[0].rows_loaded == 2
    spec = raw_spec(fifth, TODAY)
    names = {c.name for c in spec.checks}
    assert {"business_key_unique", "ventet_not_negative", "maaned_is_month", "maaned_plausible",
            "levert_digitalt_within_levert", "enhet_valid", "register_in_codelist",
            "rows_per_enhet_within_band_of_previous_period"} <= names
    assert spec.data_date == "maaned"

    def failing() -> set[str]:
        results = validate([spec], settings)[spec.name]
        assert [r.error for r in results if r.error] == []
        return {r.check for r in results if not r.passed}

    assert failing() == set()
    # Corrupt the loaded rows behind ingestion's back: the spec's own checks catch it.
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"update {fifth.raw_table} set levert_digitalt = levert + 1, maaned = '2024-1', enhet = '0302'"
                    " where enhet = '0301'")
    assert {"levert_digitalt_within_levert", "maaned_is_month", "enhet_valid"} <= failing()
