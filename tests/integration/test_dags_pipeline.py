"""``helsedata.pipeline``: the glue the DAGs and ``helsedata run`` share, on a real warehouse.

Needs DuckDB (a ``tmp_path`` warehouse) and ingestion, no Airflow.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from helsedata import pipeline
from ingestion.testing import TEST_KEY_HEX, valid_row, write_extract, write_valid_extract

SOURCE = "kpr_tjenester"


@pytest.fixture
def settings(settings):
    """The test's settings with a pseudonymisation key, as a configured install has one."""
    return dataclasses.replace(settings, pseudonym_key_hex=TEST_KEY_HEX)


def test_landing_files_are_the_not_yet_loaded_extracts(settings):
    folder = pipeline.landing_dir(settings, SOURCE)
    first = write_valid_extract(folder / "a.csv", SOURCE, 20)
    second = write_valid_extract(folder / "b.csv", SOURCE, 20, start=20)
    write_valid_extract(folder / "c.csv.part", SOURCE, 5)  # still being copied
    write_valid_extract(folder / ".hidden.csv", SOURCE, 5)
    assert pipeline.landing_files(settings, SOURCE) == [first, second]

    results = pipeline.ingest_landing(settings, SOURCE)
    assert [(r.file, r.status) for r in results] == [(str(first), "loaded"), (str(second), "loaded")]
    assert pipeline.landing_files(settings, SOURCE) == []
    assert pipeline.ingest_landing(settings, SOURCE) == []

    # The same content under another name is not new: judged by sha256, not by name.
    shutil.copy(first, folder / "a-again.csv")
    assert pipeline.landing_files(settings, SOURCE) == []


def test_a_rejected_file_stays_new_and_fails_naming_it(settings):
    folder = pipeline.landing_dir(settings, SOURCE)
    good = write_valid_extract(folder / "good.csv", SOURCE, 10)
    bad = write_extract(folder / "bad.csv", SOURCE, ["x;y"], header=["not", "the", "header"])

    results = pipeline.ingest_landing(settings, SOURCE)
    assert {r.file: r.status for r in results} == {str(bad): "rejected", str(good): "loaded"}
    with pytest.raises(pipeline.NothingLoaded, match=r"kpr_tjenester: ingen rader lastet inn fra 1 fil: .*bad\.csv: avvist: ") as failure:
        pipeline.raise_for_rejected(SOURCE, results)
    assert failure.value.exit_code == 2 and "good.csv" not in str(failure.value)
    # JSON results (what an Airflow task passes on) work the same.
    with pytest.raises(pipeline.NothingLoaded, match=r"bad\.csv"):
        pipeline.raise_for_rejected(SOURCE, [pipeline.result_json(r) for r in results])
    assert pipeline.landing_files(settings, SOURCE) == [bad]


def test_a_file_of_which_no_row_loads_fails_with_its_quarantine_summary(settings):
    """Every row quarantined: the file is recorded (not offered again) but nothing loaded — a failure."""
    folder = pipeline.landing_dir(settings, SOURCE)
    write_extract(folder / "some.csv", SOURCE, [valid_row(SOURCE, 1), {**valid_row(SOURCE, 2), "startdato": "x"}])
    write_extract(folder / "none.csv", SOURCE, [{**valid_row(SOURCE, i), "tjenestetype": "999"} for i in range(3)])

    results = pipeline.ingest_landing(settings, SOURCE)
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 0), ("loaded", 1)]
    expected = r"kpr_tjenester: ingen rader lastet inn fra 1 fil: .*none\.csv: alle 3 satt i karantene \(code_not_in_list 3\)$"
    for given in (results, [pipeline.result_json(r) for r in results]):
        with pytest.raises(pipeline.NothingLoaded, match=expected):
            pipeline.raise_for_rejected(SOURCE, given)
    assert pipeline.landing_files(settings, SOURCE) == []  # both recorded: neither is offered again


def test_run_exits_2_with_the_quarantine_summary_when_a_file_loads_nothing(run_cli, home):
    folder = home / "landing" / SOURCE
    write_extract(folder / "none.csv", SOURCE, [{**valid_row(SOURCE, i), "tjenestetype": "999"} for i in range(2)])
    result = run_cli("run", "--json", environ={"HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX})
    assert result.exit_code == 2, result.stderr
    assert "none.csv: alle 2 satt i karantene (code_not_in_list 2)" in result.stdout + result.stderr


def test_nothing_is_new_in_an_empty_or_missing_landing_folder(settings):
    assert pipeline.landing_files(settings, SOURCE) == []
    assert pipeline.loaded_hashes(settings) == set()


@pytest.mark.parametrize("source", sorted(pipeline.SOURCES))
def test_asset_uris_name_the_raw_table_and_landing_folder(source):
    assert pipeline.raw_asset_uri(source) == f"duckdb://warehouse/raw/{source}"
    assert pipeline.landing_asset_uri(source) == f"helsedata://landing/{source}"


def test_unknown_source_is_refused():
    from kernel.errors import UserInputError

    with pytest.raises(UserInputError, match="ukjent kilde"):
        pipeline.raw_asset_uri("kpr_kontakt")


def test_demo_to_landing_puts_every_source_in_its_folder_and_creates_a_key(settings):
    settings = dataclasses.replace(settings, pseudonym_key_hex=None)
    files = pipeline.demo_to_landing(settings, 0.0002, 3)
    assert set(files) == set(pipeline.SOURCES)
    for source, paths in files.items():
        assert paths and all(p.parent == pipeline.landing_dir(settings, source) for p in paths)
        assert pipeline.landing_files(settings, source) == sorted(paths)
    assert (settings.keys / "pseudonym.key").exists()
