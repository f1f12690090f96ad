"""End to end: generated demo extracts of all four sources load and reconcile exactly."""

from __future__ import annotations

import duckdb
import pytest

from ingestion import ingest_files
from kernel.config import Settings
from kernel.sources import SOURCES

SCALE = 0.0005


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    synthetic = pytest.importorskip("synthetic")
    root = tmp_path_factory.mktemp("synthetic")
    files = synthetic.generate(root / "extracts", scale=SCALE, seed=7, progress=False)
    settings = Settings(home=root / "home").ensure()
    results = {source: ingest_files(settings, source, files[source], demo=True, progress=False) for source in SOURCES}
    return settings, files, results


def test_every_generated_file_loads_and_reconciles(loaded):
    settings, files, results = loaded
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for source, per_file in results.items():
            assert [r.status for r in per_file] == ["loaded"] * len(files[source])
            lines = sum(sum(1 for _ in path.open(encoding="utf-8")) - 1 for path in files[source])
            assert sum(r.rows_read for r in per_file) == lines
            for r in per_file:
                assert r.rows_read == r.rows_loaded + r.rows_quarantined
            [(raw,)] = con.execute(f"select count(*) from raw.{source}").fetchall()
            assert raw == sum(r.rows_loaded for r in per_file) > 0, source


def test_clean_generated_data_has_no_quarantined_row(loaded):
    _, _, results = loaded
    reasons = {source: {rule: n for r in per_file for rule, n in r.quarantine_reasons.items()}
               for source, per_file in results.items()}
    assert reasons == {source: {} for source in SOURCES}
