"""``helsedata.pipeline``: the glue the DAGs and ``helsedata run`` share, on a real warehouse.

Needs DuckDB (a ``tmp_path`` warehouse) and ingestion, no Airflow.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from helsedata import pipeline
from kernel.errors import PipelineFailure
from ingestion.testing import TEST_KEY_HEX, write_extract, write_valid_extract

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
    with pytest.raises(PipelineFailure, match=r"1 kpr_tjenester file rejected .*bad\.csv: "):
        pipeline.raise_for_rejected(SOURCE, results)
    # JSON results (what an Airflow task passes on) work the same.
    with pytest.raises(PipelineFailure, match=r"bad\.csv"):
        pipeline.raise_for_rejected(SOURCE, [pipeline.result_json(r) for r in results])
    assert pipeline.landing_files(settings, SOURCE) == [bad]


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
