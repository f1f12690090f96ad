"""Great Expectations 1.x wired to DuckDB, with every check pushed down into DuckDB.

Why this module exists
----------------------
GX's SQL execution engine runs each metric query as::

    with engine.connect() as connection:
        result = connection.execute(query)
    rows = result.fetchall()          # read *after* the connection was released

Releasing a SQLAlchemy connection ends its (auto-begun) transaction with ``ROLLBACK``; on
``duckdb_engine`` that discards the pending result, so every metric comes back empty and GX reports
``IndexError: list index out of range`` (GX issues #10738 and #11579). GX keeps one connection
open only for a fixed list of dialects (SQLite, SQL Server, BigQuery, Databricks). A ``StaticPool``
alone does not help: the rollback happens on the SQLAlchemy connection, not in the pool.

The fix here is the one GX applies to those dialects, for DuckDB: :class:`DuckDBExecutionEngine`
keeps ONE SQLAlchemy connection open for its lifetime (on a ``StaticPool``, so one DuckDB
connection) and every query reads its rows before the next one runs. The datasource type
:class:`DuckDBDatasource` (GX fluent type ``"helsedata_duckdb"``) is GX's own ``SQLDatasource``
with that engine, so suites, batch definitions and validation definitions are plain GX 1.x.

Everything runs as SQL in DuckDB: assets are *query assets* (``select ... from raw.x``), so
column checks keep their schema (GX drops a table asset's schema in some column metrics) and
nothing is copied into pandas; only aggregate metrics and at most ``EXAMPLE_ROWS`` failing rows
come back to Python.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Literal

from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine
from sqlalchemy.pool import StaticPool

from kernel.config import Settings
from kernel.warehouse import duckdb_config


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQLAlchemy engine, holding one persistent connection (as GX does for SQLite)."""

    @contextmanager
    def get_connection(self) -> Generator:  # type: ignore[override]
        if self._connection is None:
            self._connection = self.engine.connect()
            # DuckDB draws a progress bar on stdout for queries over 2 s; not in a batch job.
            self._connection.exec_driver_sql("set enable_progress_bar = false")
        yield self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """A GX SQL datasource on a DuckDB file that keeps one connection open (see module doc)."""

    type: Literal["helsedata_duckdb"] = "helsedata_duckdb"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


def engine_kwargs(settings: Settings, read_only: bool = True) -> dict:
    """SQLAlchemy ``create_engine`` arguments for the warehouse.

    The DuckDB config matches :func:`kernel.warehouse.connect`, so a process that also holds a
    writer connection shares the same database instance instead of failing on a config clash.
    """
    connect_args: dict = {"config": duckdb_config(settings)}
    if read_only:
        connect_args["read_only"] = True
    return {"poolclass": StaticPool, "connect_args": connect_args}


def add_warehouse_datasource(context, settings: Settings, name: str = "warehouse", read_only: bool = True) -> DuckDBDatasource:
    """Register the warehouse of ``settings`` as a GX datasource of ``context``."""
    return context.data_sources.add_helsedata_duckdb(
        name=name,
        connection_string=f"duckdb:///{settings.warehouse}",
        create_temp_table=False,
        kwargs=engine_kwargs(settings, read_only),
    )
