"""Each row rule, on a crafted file: the bad line is quarantined under its named rule.

Every case is one valid row (``ingestion.testing.valid_row``) with a few fields changed, written
after a valid first row, and ingested into a real DuckDB warehouse in ``tmp_path``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from ingestion import RULES, ingest_files
from ingestion.fnr import with_check_digits
from ingestion.reader import MAX_LINE_BYTES
from ingestion.testing import TEST_KEY_HEX, VALID_ORGNR, synthetic_fnr_born, valid_row, write_extract
from kernel.config import Settings

TODAY = dt.date(2025, 6, 1)
KEY_ENV = {"HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX}

# (case id, source, changed fields or a raw line, expected rule or None when the row must load)
CASES = [
    ("line too long", "kpr_kontakter", "1" * (MAX_LINE_BYTES + 1), "line_too_long"),
    ("line at the limit", "kpr_kontakter", "x" * MAX_LINE_BYTES, "field_count"),
    ("too few fields", "kpr_kontakter", "13888012235;0301;2024-01-01", "field_count"),
    ("too many fields", "kpr_kontakter", "13888012235;0301;2024-01-01;fastlege;video;x", "field_count"),
    ("blank line", "kpr_kontakter", "", "field_count"),
    ("missing fnr", "kpr_kontakter", {"fodselsnummer": ""}, "required_missing"),
    ("missing date", "kpr_tjenester", {"startdato": ""}, "required_missing"),
    ("fnr 10 digits", "kpr_kontakter", {"fodselsnummer": "1388801223"}, "fnr_format"),
    ("fnr letters", "kpr_kontakter", {"fodselsnummer": "1388801223X"}, "fnr_format"),
    ("fnr check digit", "kpr_kontakter", {"fodselsnummer": "13888012236"}, "fnr_check_digits"),
    ("fnr 30 February", "kpr_kontakter", {"fodselsnummer": with_check_digits("300280123")}, "fnr_birth_date"),
    ("D-number accepted", "kpr_kontakter", {"fodselsnummer": with_check_digits("530180123")}, None),
    ("H-number accepted", "kpr_kontakter", {"fodselsnummer": with_check_digits("134180124")}, None),
    ("date not ISO", "kpr_kontakter", {"kontaktdato": "01.03.2024"}, "date_invalid"),
    ("impossible date", "kpr_kontakter", {"kontaktdato": "2024-02-30"}, "date_invalid"),
    ("bad end date", "kpr_tjenester", {"sluttdato": "2024-13-01"}, "date_invalid"),
    ("integer text", "kpr_tjenester", {"tjenestetype": "seks"}, "integer_invalid"),
    ("count decimal", "registry_reporting", {"mottatt": "9.5"}, "integer_invalid"),
    ("boolean", "vft_mottakere", {"via_vkp": "kanskje"}, "boolean_invalid"),
    ("boolean ja", "vft_mottakere", {"via_vkp": "ja"}, None),
    ("periode day", "registry_reporting", {"periode": "2024-03-01"}, "periode_invalid"),
    ("periode month 13", "registry_reporting", {"periode": "2024-13"}, "periode_invalid"),
    ("tjenesteyter unknown", "kpr_kontakter", {"tjenesteyter": "tannlege"}, "code_not_in_list"),
    ("kontaktform unknown", "kpr_kontakter", {"kontaktform": "brev"}, "code_not_in_list"),
    ("tjenestetype unknown", "kpr_tjenester", {"tjenestetype": "999"}, "code_not_in_list"),
    ("not welfare technology", "vft_mottakere", {"tjenestetype": "1"}, "code_not_in_list"),
    ("register unknown", "registry_reporting", {"register": "XYZ"}, "code_not_in_list"),
    ("contact tomorrow", "kpr_kontakter", {"kontaktdato": "2025-06-02"}, "date_in_future"),
    ("end in future", "kpr_tjenester", {"sluttdato": "2026-01-01"}, "date_in_future"),
    ("periode in future", "registry_reporting", {"periode": "2025-07"}, "date_in_future"),
    ("contact before KPR", "kpr_kontakter", {"kontaktdato": "2016-12-31"}, "date_before_source"),
    ("contact on KPR's first day", "kpr_kontakter", {"kontaktdato": "2017-01-01"}, None),
    ("episode before IPLOS", "kpr_tjenester", {"startdato": "2006-12-31"}, "date_before_source"),
    ("vft episode from IPLOS's first day", "vft_mottakere", {"startdato": "2007-01-01"}, None),
    ("periode before KPR", "registry_reporting", {"periode": "2016-12"}, "date_before_source"),
    ("kommune never existed", "kpr_kontakter", {"kommunenummer": "0302"}, "kommunenummer_invalid"),
    ("kommune lost leading zero", "kpr_kontakter", {"kommunenummer": "301"}, "kommunenummer_invalid"),
    ("kommune ended 2020", "kpr_kontakter", {"kommunenummer": "1141", "kontaktdato": "2024-05-01"}, "kommunenummer_invalid"),
    ("kommune valid then", "kpr_kontakter", {"kommunenummer": "1141", "kontaktdato": "2019-05-01"}, None),
    ("vft kommune on start", "vft_mottakere", {"kommunenummer": "1507", "startdato": "2024-02-01"}, "kommunenummer_invalid"),
    ("unit kommune ended", "registry_reporting", {"rapporteringsenhet": "1141", "periode": "2021-03"}, "rapporteringsenhet_invalid"),
    ("unit kommune valid then", "registry_reporting", {"rapporteringsenhet": "1141", "periode": "2019-03"}, None),
    ("unit orgnr valid", "registry_reporting", {"rapporteringsenhet": VALID_ORGNR}, None),
    ("unit orgnr check digit", "registry_reporting", {"rapporteringsenhet": "974760674"}, "rapporteringsenhet_invalid"),
    ("end before start", "kpr_tjenester", {"startdato": "2024-03-01", "sluttdato": "2024-02-28"}, "period_end_before_start"),
    ("vft end before start", "vft_mottakere", {"startdato": "2024-03-01", "sluttdato": "2024-02-28"}, "period_end_before_start"),
    ("one-day episode", "kpr_tjenester", {"startdato": "2024-03-01", "sluttdato": "2024-03-01"}, None),
    ("born after the contact", "kpr_kontakter",
     {"fodselsnummer": synthetic_fnr_born(dt.date(2024, 3, 2)), "kontaktdato": "2024-03-01"}, "birth_after_event"),
    ("contact on the birth day", "kpr_kontakter",
     {"fodselsnummer": synthetic_fnr_born(dt.date(2024, 3, 1)), "kontaktdato": "2024-03-01"}, None),
    ("D-number born after the episode", "kpr_tjenester",
     {"fodselsnummer": "41882450072", "startdato": "2024-01-01"}, "birth_after_event"),
    ("negative count", "registry_reporting", {"forventet": "-1"}, "count_negative"),
    ("digital over received", "registry_reporting", {"mottatt": "5", "mottatt_digitalt": "6", "mottatt_innen_frist": "1"}, "count_inconsistent"),
    ("on time over received", "registry_reporting", {"mottatt": "5", "mottatt_digitalt": "1", "mottatt_innen_frist": "6"}, "count_inconsistent"),
    ("over-delivery allowed", "registry_reporting", {"forventet": "3", "mottatt": "9"}, None),
]


def _line(source: str, change: dict[str, str] | str, serial: int) -> dict[str, str] | str:
    return change if isinstance(change, str) else {**valid_row(source, serial), **change}


def _ingest(settings, source: str, path: Path):
    configured = dataclasses.replace(settings, pseudonym_key_hex=TEST_KEY_HEX)
    return ingest_files(configured, source, [path], progress=False, today=TODAY)[0]


@pytest.mark.parametrize(("source", "change", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_row_rule(settings, tmp_path, source, change, rule):
    path = write_extract(tmp_path / "extract.csv", source, [valid_row(source, 1), _line(source, change, 2)])
    result = _ingest(settings, source, path)
    assert result.status == "loaded", result.error
    assert result.rows_read == 2
    expected = {rule: 1} if rule else {}
    assert result.quarantine_reasons == expected
    assert (result.rows_loaded, result.rows_quarantined) == ((1, 1) if rule else (2, 0))
    if rule:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            line, got, detail, values = con.execute(
                "select line_number, rule, detail, offending_values from ingest.quarantine").fetchone()
        assert (line, got) == (3, rule)
        assert detail
        assert isinstance(json.loads(values), dict)


def test_every_rule_has_a_case():
    covered = {c[3] for c in CASES if c[3]} | {"duplicate_in_file", "duplicate_in_warehouse"}
    assert covered == set(RULES)


def test_every_rule_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "ingestion.md").read_text(encoding="utf-8")
    assert [name for name in RULES if f"`{name}`" not in doc] == []


def test_duplicates_within_and_across_files_keep_the_first(settings, tmp_path):
    a, b, c = (valid_row("kpr_tjenester", i) for i in range(3))
    first = write_extract(tmp_path / "first.csv", "kpr_tjenester", [a, b, a, a])
    second = write_extract(tmp_path / "second.csv", "kpr_tjenester", [c, b])
    r1, r2 = (_ingest(settings, "kpr_tjenester", p) for p in (first, second))
    assert (r1.rows_loaded, r1.quarantine_reasons) == (2, {"duplicate_in_file": 2})
    assert (r2.rows_loaded, r2.quarantine_reasons) == (1, {"duplicate_in_warehouse": 1})
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        kept = con.execute("select _line_number from raw.kpr_tjenester where _file_sha256 = ? order by 1",
                           [r1.sha256]).fetchall()
        details = con.execute("select line_number, detail from ingest.quarantine order by file_name, line_number").fetchall()
    assert kept == [(2,), (3,)]
    assert details[:2] == [(4, "nøyaktig lik linje 2"), (5, "nøyaktig lik linje 2")]
    assert details[2][0] == 3 and r1.sha256 in details[2][1]


def _index(settings, source: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(f"select h, file_sha256, line_number from ingest.row_hashes_{source} order by 2, 3").fetchall()


def test_the_duplicate_index_holds_every_loaded_row_and_no_quarantined_one(settings, tmp_path):
    a, b, c = (valid_row("kpr_tjenester", i) for i in range(3))
    r1 = _ingest(settings, "kpr_tjenester", write_extract(tmp_path / "1.csv", "kpr_tjenester", [a, b, a]))
    r2 = _ingest(settings, "kpr_tjenester", write_extract(tmp_path / "2.csv", "kpr_tjenester", [c, b]))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        loaded = con.execute("select _file_sha256, _line_number from raw.kpr_tjenester order by 1, 2").fetchall()
    assert sorted((f, n) for _, f, n in _index(settings, "kpr_tjenester")) == loaded
    assert {(r1.sha256, 2), (r1.sha256, 3), (r2.sha256, 2)} == set(loaded)


def test_a_warehouse_loaded_before_the_index_gets_it_built_and_duplicates_still_found(settings, tmp_path):
    a, b = valid_row("kpr_tjenester", 0), valid_row("kpr_tjenester", 1)
    _ingest(settings, "kpr_tjenester", write_extract(tmp_path / "old.csv", "kpr_tjenester", [a, b]))
    with duckdb.connect(str(settings.warehouse)) as con:  # as a warehouse from before the index looked
        con.execute("drop table ingest.row_hashes_kpr_tjenester")
        con.execute("drop table ingest.row_hash_index")
    result = _ingest(settings, "kpr_tjenester", write_extract(tmp_path / "new.csv", "kpr_tjenester", [b]))
    assert (result.rows_loaded, result.quarantine_reasons) == (0, {"duplicate_in_warehouse": 1})
    assert len(_index(settings, "kpr_tjenester")) == 2


def test_a_hash_collision_in_the_index_never_quarantines_a_different_row(settings, tmp_path):
    """Every indexed hash of the first file is overwritten with a hash the second file's rows have,
    so each of its rows collides with a different row; the full comparison must let them all load."""
    first = write_extract(tmp_path / "a.csv", "kpr_tjenester", [valid_row("kpr_tjenester", i) for i in range(3)])
    second = write_extract(tmp_path / "b.csv", "kpr_tjenester", [valid_row("kpr_tjenester", i) for i in range(10, 13)])
    scratch = Settings(home=tmp_path / "scratch").ensure()
    _ingest(scratch, "kpr_tjenester", second)  # same key: the hashes the second file's rows will have
    wanted = [h for h, _, _ in _index(scratch, "kpr_tjenester")]
    _ingest(settings, "kpr_tjenester", first)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("""update ingest.row_hashes_kpr_tjenester set h = (?::UBIGINT[])[line_number - 1]""", [wanted])
    assert sorted(h for h, _, _ in _index(settings, "kpr_tjenester")) == sorted(wanted)
    result = _ingest(settings, "kpr_tjenester", second)
    assert (result.rows_loaded, result.rows_quarantined) == (3, 0)


def test_quarantine_never_holds_an_identity_number(settings, tmp_path):
    number = valid_row("kpr_kontakter", 7)["fodselsnummer"]
    rows = [
        {**valid_row("kpr_kontakter", 7), "tjenesteyter": "tannlege"},
        {**valid_row("kpr_kontakter", 7), "kommunenummer": number},  # shifted into another column
        f"{number};0301",  # too few fields
        valid_row("kpr_kontakter", 7), valid_row("kpr_kontakter", 7),  # duplicate
    ]
    path = write_extract(tmp_path / "extract.csv", "kpr_kontakter", rows)
    result = _ingest(settings, "kpr_kontakter", path)
    assert result.rows_quarantined == 4
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        text = json.dumps(con.execute("select * from ingest.quarantine").fetchall(), default=str)
        person_ids = {r[0] for r in con.execute("select person_id from raw.kpr_kontakter").fetchall()}
        hashes = {json.loads(r[0])["fodselsnummer"] for r in con.execute("select offending_values from ingest.quarantine").fetchall()}
    assert number not in text
    assert len(hashes) == 1 and next(iter(hashes)).startswith("keyed-hash:")
    assert not {h.removeprefix("keyed-hash:") for h in hashes} & person_ids  # not joinable with raw


NUMBER = valid_row("kpr_kontakter", 7)["fodselsnummer"]
# Lines where a piece of NUMBER lands outside the identity column (issue 9): each row is mis-split,
# so every value of it is kept only as a keyed hash, and its detail quotes none of them.
MIS_SPLIT = [
    ("last five digits in kommunenummer", f"{NUMBER[:6]};{NUMBER[6:]};2024-01-01;fastlege;oppmote", "fnr_format"),
    ("8-digit prefix in kommunenummer", f";{NUMBER[:8]};2024-01-01;fastlege;oppmote", "required_missing"),
    ("stray separator adds a field", f"{NUMBER[:8]};{NUMBER[8:]};0301;2024-01-01;fastlege;oppmote", "field_count"),
    ("number and kommune swapped", f"0301;{NUMBER};2024-01-01;fastlege;oppmote", "fnr_format"),
    ("four digits in a code column", f"{NUMBER};0301;2024-01-01;{NUMBER[7:]};oppmote", "code_not_in_list"),
]


@pytest.mark.parametrize(("line", "rule"), [c[1:] for c in MIS_SPLIT], ids=[c[0] for c in MIS_SPLIT])
def test_a_piece_of_an_identity_number_is_never_kept_in_clear(settings, tmp_path, line, rule):
    path = write_extract(tmp_path / "extract.csv", "kpr_kontakter", [line])
    result = _ingest(settings, "kpr_kontakter", path)
    assert result.quarantine_reasons == {rule: 1}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        [(detail, values)] = con.execute("select detail, offending_values from ingest.quarantine").fetchall()
    in_clear = [v for v in json.loads(values).values() if v and not v.startswith("keyed-hash:")]
    for piece in {NUMBER, NUMBER[:6], NUMBER[6:], NUMBER[:8], NUMBER[7:]}:
        assert piece not in detail and not [v for v in in_clear if piece in v], (detail, values)


def test_a_well_formed_row_keeps_its_harmless_values_readable(settings, tmp_path):
    path = write_extract(tmp_path / "extract.csv", "kpr_kontakter", [{**valid_row("kpr_kontakter", 7), "kontaktform": "brev"}])
    _ingest(settings, "kpr_kontakter", path)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        [(detail, values)] = con.execute("select detail, offending_values from ingest.quarantine").fetchall()
    stored = json.loads(values)
    assert detail == "kontaktform brev finnes ikke i codelist_kontaktform"
    assert stored["fodselsnummer"].startswith("keyed-hash:")
    assert {k: stored[k] for k in ("kommunenummer", "kontaktform")} == {"kommunenummer": "0301", "kontaktform": "brev"}


@pytest.mark.parametrize(("kommune", "shown"), [("1141", "1141"), ("0302", "<skjult>")])
def test_an_invalid_kommunenummer_is_shown_only_when_it_is_a_public_code(settings, tmp_path, kommune, shown):
    row = {**valid_row("kpr_kontakter", 7), "kommunenummer": kommune, "kontaktdato": "2024-05-01"}
    _ingest(settings, "kpr_kontakter", write_extract(tmp_path / "extract.csv", "kpr_kontakter", [row]))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        [(detail, values)] = con.execute("select detail, offending_values from ingest.quarantine").fetchall()
    assert detail == f"kommunenummer {shown} var ikke gyldig på kontaktdato 2024-05-01"
    assert (json.loads(values)["kommunenummer"] == kommune) == (shown == kommune)
