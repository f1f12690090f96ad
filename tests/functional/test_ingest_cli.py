"""`helsedata ingest` end to end through the real CLI: JSON shape (docs/ingestion.md) and exit codes."""

from __future__ import annotations

import json

import pytest

from ingestion.testing import TEST_KEY_HEX, valid_row, write_extract, write_valid_extract
from kernel.config import Settings

KEYS = ["file", "source", "sha256", "status", "rows_read", "rows_loaded", "rows_quarantined", "quarantine_reasons"]


@pytest.fixture
def run_cli(run_cli):
    """``helsedata`` with a pseudonymisation key in its environment."""
    def run(*args, environ=None):
        return run_cli(*args, environ={"HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX, **(environ or {})})
    return run


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_json_is_one_object_per_file_with_the_contract_keys(run_cli, tmp_path):
    good = write_valid_extract(tmp_path / "good.csv", "kpr_tjenester", 5)
    mixed = write_extract(tmp_path / "mixed.csv", "kpr_tjenester",
                          [valid_row("kpr_tjenester", 10), {**valid_row("kpr_tjenester", 11), "kommunenummer": "0302"}])
    result = run_cli("ingest", "kpr_tjenester", good, mixed, "--json")
    assert result.exit_code == 0, result.stderr
    first, second = lines(result)
    assert list(first) == KEYS and list(second) == KEYS
    assert first["status"] == "loaded" and first["rows_loaded"] == 5 and len(first["sha256"]) == 64
    assert second["file"] == str(mixed) and second["source"] == "kpr_tjenester"
    assert (second["rows_read"], second["rows_loaded"], second["rows_quarantined"]) == (2, 1, 1)
    assert second["quarantine_reasons"] == {"kommunenummer_invalid": 1}

    again = run_cli("ingest", "kpr_tjenester", good, "--json")
    assert again.exit_code == 0
    assert lines(again)[0]["status"] == "skipped_duplicate"


def test_rejected_file_exits_2_and_still_reports_every_file(run_cli, tmp_path):
    good = write_valid_extract(tmp_path / "good.csv", "vft_mottakere", 3)
    bad = tmp_path / "bad.csv"
    bad.write_text("hei;hallo\n1;2\n", encoding="utf-8")
    result = run_cli("ingest", "vft_mottakere", bad, good, "--json")
    assert result.exit_code == 2
    rejected, loaded = lines(result)
    assert list(rejected) == [*KEYS, "error"]
    assert rejected["status"] == "rejected" and str(bad) in rejected["error"] and "overskriften" in rejected["error"]
    assert loaded["status"] == "loaded"
    assert "avvist:" in result.stderr


def test_human_output_names_counts_and_rules(run_cli, tmp_path):
    path = write_extract(tmp_path / "r.csv", "registry_reporting",
                         [valid_row("registry_reporting", 1), {**valid_row("registry_reporting", 2), "forventet": "-3"}])
    result = run_cli("ingest", "registry_reporting", path)
    assert result.exit_code == 0, result.stderr
    assert "lastet 1 av 2 rader inn i raw.registry_reporting; 1 satt i karantene (count_negative 1)" in result.stdout


def test_latin_1_option(run_cli, tmp_path):
    path = write_extract(tmp_path / "l.csv", "kpr_kontakter",
                         [{**valid_row("kpr_kontakter", 1), "tjenesteyter": "legevakt"}, {**valid_row("kpr_kontakter", 2), "kontaktform": "møte"}],
                         encoding="latin-1")
    assert run_cli("ingest", "kpr_kontakter", path, "--json").exit_code == 2
    result = run_cli("ingest", "kpr_kontakter", path, "--json", "--encoding", "latin-1")
    assert result.exit_code == 0
    assert lines(result)[0]["quarantine_reasons"] == {"code_not_in_list": 1}


@pytest.mark.parametrize(("args", "message"), [
    (["ingest", "no_such_source", "{file}", "--json"], "ukjent kilde 'no_such_source'"),
    (["ingest", "kpr_kontakter", "{missing}", "--json"], "finnes ikke"),
    (["ingest", "kpr_kontakter", "{file}", "--encoding", "ebcdic-cp-us", "--json"], "støttes ikke"),
])
def test_bad_invocations_exit_2_with_the_error_shape(run_cli, tmp_path, args, message):
    file = write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 1)
    argv = [a.format(file=file, missing=tmp_path / "missing.csv") for a in args]
    result = run_cli(*argv)
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False and body["status"] == 2 and message in body["error"]


def test_missing_key_exits_2_and_demo_fixes_it(run_cli, tmp_path, home):
    path = write_valid_extract(tmp_path / "a.csv", "kpr_kontakter", 2)
    result = run_cli("ingest", "kpr_kontakter", path, environ={"HELSEDATA_PSEUDONYM_KEY": ""})
    assert result.exit_code == 2
    assert "ConfigurationError" in result.stderr and "--demo" in result.stderr
    demo = run_cli("ingest", "kpr_kontakter", path, "--demo", "--json", environ={"HELSEDATA_PSEUDONYM_KEY": ""})
    assert demo.exit_code == 0 and lines(demo)[0]["status"] == "loaded"
    assert (home / "keys" / "pseudonym.key").exists()


def test_help_documents_every_option(run_cli):
    result = run_cli("ingest", "--help")
    assert result.exit_code == 0
    for option in ("--json", "--encoding", "--demo"):
        assert option in result.stdout


def test_the_issue_example_a_file_without_header_never_shows_the_number(run_cli, tmp_path, home):
    """Issue 9: a data row on line 1 used to be echoed into the message and ingest.manifest.error."""
    path = tmp_path / "x.csv"
    path.write_text("09086647076;0301;2024-02-01;fastlege;oppmote\n", encoding="utf-8")
    result = run_cli("ingest", "kpr_kontakter", path, "--json")
    assert result.exit_code == 2
    [body] = lines(result)
    assert body["status"] == "rejected" and "linje 1 ser ut som en datarad" in body["error"]
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        [(error,)] = con.execute("select error from ingest.manifest").fetchall()
    for text in (result.stdout, result.stderr, error):
        assert "09086647076" not in text and "0908664" not in text and "47076" not in text


def test_a_file_of_which_no_row_loads_exits_2_with_the_quarantine_summary(run_cli, tmp_path):
    rows = [{**valid_row("kpr_kontakter", i), "kontaktform": "brev"} for i in range(3)]
    path = write_extract(tmp_path / "bad.csv", "kpr_kontakter", rows + ["1;2"])
    result = run_cli("ingest", "kpr_kontakter", path, "--json")
    assert result.exit_code == 2
    [body] = lines(result)
    assert list(body) == KEYS and body["status"] == "loaded"
    assert (body["rows_read"], body["rows_loaded"], body["quarantine_reasons"]) == (4, 0, {"code_not_in_list": 3, "field_count": 1})
    assert f"ingen rader lastet: {path}: alle 4 satt i karantene (code_not_in_list 3, field_count 1)" in result.stderr
    human = run_cli("ingest", "kpr_kontakter", path)
    assert human.exit_code == 0 and "hoppet over, allerede lastet inn" in human.stdout


def test_header_only_file_is_not_an_error(run_cli, tmp_path):
    path = write_extract(tmp_path / "empty.csv", "kpr_kontakter", [])
    result = run_cli("ingest", "kpr_kontakter", path)
    assert result.exit_code == 0 and "lastet 0 av 0 rader" in result.stdout


def test_an_undeclared_utf_16_file_is_rejected_with_the_option_to_use(run_cli, tmp_path):
    path = write_extract(tmp_path / "w.csv", "kpr_kontakter", [valid_row("kpr_kontakter", 1)], encoding="utf-16")
    rejected = run_cli("ingest", "kpr_kontakter", path, "--json")
    assert rejected.exit_code == 2 and "--encoding utf-16" in lines(rejected)[0]["error"]
    loaded = run_cli("ingest", "kpr_kontakter", path, "--json", "--encoding", "utf-16")
    assert loaded.exit_code == 0 and lines(loaded)[0]["rows_loaded"] == 1


def test_ingest_builds_the_rooms_bounded_extract_so_the_first_query_finds_it(run_cli, tmp_path, home):
    from privacy.aggregate import CACHE_DIR, bounded_extract
    from privacy.catalogue import get_dataset

    def built() -> set[str]:
        return {p.name for p in (home / CACHE_DIR).glob("vft_mottakere-*.duckdb")}

    assert run_cli("ingest", "vft_mottakere", write_valid_extract(tmp_path / "a.csv", "vft_mottakere", 6)).exit_code == 0
    first = built()
    assert len(first) == 1
    assert bounded_extract(Settings(home=home), get_dataset("vft_mottakere")).name in first
    # A new load changes the raw table: the pipeline replaces the extract at once.
    more = write_valid_extract(tmp_path / "b.csv", "vft_mottakere", 4, start=100)
    assert run_cli("ingest", "vft_mottakere", more).exit_code == 0
    second = built()
    assert len(second) == 1 and second != first
    assert bounded_extract(Settings(home=home), get_dataset("vft_mottakere")).name in second
