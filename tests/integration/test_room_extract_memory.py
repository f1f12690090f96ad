"""The analysis room's DuckDB connections obey the platform's memory limit, not DuckDB's 80 % of RAM."""

from __future__ import annotations

import dataclasses

import duckdb

from kernel.warehouse import duckdb_config
from privacy.aggregate import _connect


def test_room_connections_use_the_platforms_memory_limit(settings):
    settings = dataclasses.replace(settings, duckdb_memory_limit="512MB")  # a limit no default equals
    with duckdb.connect(config=duckdb_config(settings)) as reference:
        [(expected,)] = reference.execute("select current_setting('memory_limit')").fetchall()
    with duckdb.connect() as default:
        [(unbounded,)] = default.execute("select current_setting('memory_limit')").fetchall()
    con = _connect(settings)
    try:
        [(actual,)] = con.execute("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    assert actual == expected != unbounded
