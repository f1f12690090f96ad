"""Opening the DuckDB warehouse.

The warehouse file is written in DuckDB's v1.4.0 storage format so that DuckDB 1.x readers
(Superset's driver pins ``duckdb<2``) can always open it. A DuckDB file has one writer process at a
time; readers open it read-only and briefly (:func:`read_only`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from kernel.config import Settings

STORAGE_COMPATIBILITY_VERSION = "v1.4.0"
SCHEMAS = ("raw", "ingest", "quality", "public")


def duckdb_config(settings: Settings) -> dict[str, str]:
    """The configuration every warehouse connection is opened with: one memory limit for all.

    One dict for all openers (ingestion, dbt glue, GX, the room), because DuckDB refuses a second
    connection to the same file with a different configuration. Queries that need more memory
    spill to ``<warehouse>.tmp/`` (pseudonymised rows only).
    """
    return {
        "storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION,
        "memory_limit": settings.duckdb_memory_limit,
    }


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, creating it (and its schemas) when it does not exist."""
    path = settings.warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config=duckdb_config(settings))
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    return con


@contextmanager
def writer(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A write connection that is closed (and its lock released) when the block ends."""
    con = connect(settings)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def read_only(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, for readers that must not hold the writer lock.

    Under the same memory limit as every other connection: without it DuckDB may take 80 % of RAM.
    """
    con = duckdb.connect(str(settings.warehouse), read_only=True, config=duckdb_config(settings))
    try:
        yield con
    finally:
        con.close()


#: Tables written by one part of the platform and read by another; created empty up front so
#: every reader (dbt sources, GX suites, reports) works before the writer has run once.
SHARED_TABLES = {
    # Written by the quality run (quality/): one row per dataset per quality run.
    "quality.labels": """(
        run_id VARCHAR, dataset VARCHAR, label VARCHAR, reasons VARCHAR, computed_at TIMESTAMP
    )""",
    # Written by the analysis room export (privacy/): one row per data-access application.
    "raw.room_applications": """(
        application_id VARCHAR, submitted_at TIMESTAMP, decided_at TIMESTAMP,
        status VARCHAR, n_datasets INTEGER
    )""",
    # Written by helsedata.build (every dbt build, successful or not); read by the quality gate,
    # which refuses a quality run older than the latest build. kind: build | label_refresh.
    "ingest.builds": """(
        seq BIGINT, kind VARCHAR, selection VARCHAR,
        started_at TIMESTAMP, finished_at TIMESTAMP, ok BOOLEAN
    )""",
}


def ensure_shared_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in SHARED_TABLES.items():
        con.execute(f"create table if not exists {table} {columns}")
