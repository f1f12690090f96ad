"""The same warehouse publishes the same cells (docs/publishing.md#determinism).

Two copies of one warehouse are published by ``helsedata publish`` in two separate processes,
each with its own ``PYTHONHASHSEED`` (so Python iterates a set of strings in a different order)
and with the mart stored in a different physical row order (so DuckDB returns it in a different
order): every cell of every ``public.*`` table must be the same. Left out: the publication's
timestamp and ``audit_head``, which may differ by design.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kernel.config import Settings
from tests.integration.test_publish import make_marts

REPO = Path(__file__).resolve().parents[2]
#: What differs between two publications by design: when each ran and its audit chain's head.
VOLATILE = {"published_at", "audit_head"}


def publish_in_process(home: Path, hash_seed: int) -> None:
    """``helsedata publish`` in a fresh Python process with the given hash seed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELSEDATA")}
    env.update(HELSEDATA_HOME=str(home), PYTHONHASHSEED=str(hash_seed), PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "helsedata", "publish", "--json"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def public_cells(home: Path) -> dict[str, list[tuple]]:
    """Every row of every ``public.*`` table, as sorted (column, value) tuples, volatile columns left out."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'public' order by all").fetchall()]
        out = {}
        for table in tables:
            cursor = con.execute(f'select * from public."{table}"')
            columns = [d[0] for d in cursor.description]
            out[table] = sorted((tuple((c, v) for c, v in zip(columns, row) if c not in VOLATILE)
                                 for row in cursor.fetchall()), key=repr)
        return out


def store_in_reverse_order(home: Path, table: str) -> None:
    """Rewrite ``table`` with its rows in the opposite physical order (same content)."""
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(f"create temp table _rows as select *, row_number() over () as _n from {table}")
        con.execute(f"delete from {table}")
        con.execute(f"insert into {table} select * exclude (_n) from _rows order by _n desc")


@pytest.mark.slow
def test_the_same_warehouse_publishes_the_same_cells_in_any_process(tmp_path):
    original = Settings(home=tmp_path / "original").ensure()
    make_marts(original)
    homes = [tmp_path / "first", tmp_path / "second"]
    for home in homes:
        shutil.copytree(original.home, home)
    store_in_reverse_order(homes[1], "marts.mart_indicator_values")

    for hash_seed, home in enumerate(homes, start=1):
        publish_in_process(home, hash_seed)

    first, second = (public_cells(home) for home in homes)
    assert set(first) >= {"indicator_values", "indicator_status", "publication"}
    assert any(dict(row)["suppressed"] for row in first["indicator_values"]), "nothing was hidden"
    for table in first:
        only_first = sorted(set(first[table]) - set(second[table]), key=repr)[:3]
        only_second = sorted(set(second[table]) - set(first[table]), key=repr)[:3]
        assert first[table] == second[table], (table, only_first, only_second)
