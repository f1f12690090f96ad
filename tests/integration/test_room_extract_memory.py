"""The analysis room's DuckDB connections obey the platform's memory limit, not DuckDB's 80 % of RAM."""

from __future__ import annotations

import duckdb

from kernel.warehouse import duckdb_config
from privacy.aggregate import _connect


def test_room_connections_use_the_platforms_memory_limit():
    with duckdb.connect(config=duckdb_config()) as reference:
        [(expected,)] = reference.execute("select current_setting('memory_limit')").fetchall()
    with duckdb.connect() as default:
        [(unbounded,)] = default.execute("select current_setting('memory_limit')").fetchall()
    con = _connect()
    try:
        [(actual,)] = con.execute("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    assert actual == expected != unbounded
