"""Ingest's memory bounds: DuckDB gets its share of the platform's one limit, and gives it back."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

from ingestion import ingest_files
from ingestion.pipeline import INGEST_DUCKDB_SHARE, ingest_memory, size_bytes
from ingestion.store import FileLoad
from ingestion.testing import TEST_KEY_HEX, write_valid_extract
from kernel.warehouse import connect


def _limit_of(config_limit: str) -> str:
    """How DuckDB itself shows ``config_limit`` (so the test compares DuckDB with DuckDB)."""
    with duckdb.connect(config={"memory_limit": config_limit}) as con:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_ingest_gives_duckdb_its_share_of_the_limit_and_then_restores_it(settings, tmp_path, monkeypatch):
    """Without the share DuckDB caches blocks up to the whole limit while the Polars side uses its own memory on top."""
    settings = dataclasses.replace(settings, duckdb_memory_limit="600MB", pseudonym_key_hex=TEST_KEY_HEX)
    seen: list[str] = []
    finish = FileLoad.finish

    def observing(self):
        seen.append(self.con.execute("select current_setting('memory_limit')").fetchone()[0])
        return finish(self)

    monkeypatch.setattr(FileLoad, "finish", observing)
    path = write_valid_extract(tmp_path / "kpr_kontakter_2024.csv", "kpr_kontakter", 20)
    shared = connect(settings)  # the same database instance as the ingest's connection
    try:
        [result] = ingest_files(settings, "kpr_kontakter", [path], progress=False, today=dt.date(2025, 6, 1))
        after = shared.execute("select current_setting('memory_limit')").fetchone()[0]
    finally:
        shared.close()
    assert result.rows_loaded == 20
    assert seen == [_limit_of(f"{int(600e6 * INGEST_DUCKDB_SHARE)}B")] != [_limit_of("600MB")]
    assert after == _limit_of("600MB")


def test_sizes_are_read_as_duckdb_reads_them():
    for text in ("2GB", "512MiB", "1.5GiB", "300 MB", "4096KB"):
        assert _limit_of(f"{size_bytes(text)}B") == _limit_of(text)


def _cached_table_bytes(con) -> int:
    return con.execute("select memory_usage_bytes from duckdb_memory() where tag = 'BASE_TABLE'").fetchone()[0]


def test_after_each_file_duckdb_drops_the_blocks_it_cached(settings):
    """Without it DuckDB's cache of written blocks grows file after file up to the whole limit."""
    settings = dataclasses.replace(settings, duckdb_memory_limit="100MB")
    con = connect(settings)
    try:
        with ingest_memory(con, settings) as release_cache:
            con.execute("create table raw.big as select range::VARCHAR || 'x' as s, range as i from range(10_000_000)")
            con.execute("checkpoint")
            cached = _cached_table_bytes(con)
            release_cache()
            assert _cached_table_bytes(con) <= 12.5e6 < cached / 2  # more than half the 50 MB share: evicted
            assert con.execute("select count(*), sum(i) from raw.big").fetchone() == (10_000_000, 49_999_995_000_000)
            [(limit,)] = con.execute("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    assert limit == _limit_of(f"{int(size_bytes(settings.duckdb_memory_limit) * INGEST_DUCKDB_SHARE)}B")


def test_a_cache_under_half_the_share_is_kept(settings):
    """Evicting a small cache would only make the next file read its blocks back."""
    con = connect(settings)  # 2 GB: the share is 1 GB
    try:
        with ingest_memory(con, settings) as release_cache:
            con.execute("create table raw.small as select range as i from range(3_000_000)")
            con.execute("checkpoint")
            cached = _cached_table_bytes(con)
            release_cache()
            assert _cached_table_bytes(con) == cached > 0
    finally:
        con.close()
