"""Benchmark: the whole quality run (GX on DuckDB) against the same checks as plain DuckDB SQL.

Run (from the repository root):

    .venv/bin/python bench/bench_quality.py                 # demo data at scale 0.01
    .venv/bin/python bench/bench_quality.py --full          # scale 1 (≈160 M contact rows; long)
    .venv/bin/python bench/bench_quality.py --home DIR      # reuse a built HELSEDATA_HOME (read + quality.* writes)
    .venv/bin/python bench/bench_quality.py --rows 10000000 # GX vs SQL on one generated table (DuckDB range())

Without ``--home`` it generates synthetic extracts, ingests them and builds the dbt marts in a
temporary HELSEDATA_HOME. Then, in this one process, on the same warehouse and machine, it times
``--repeat`` times each (after one warm-up run, so GX's import and start-up are not counted):

* **quality** — :func:`quality.run_quality`: every GX suite, results and labels written, HTML report;
* **outside_gx** — of each quality run, what is not its GX validations (``QualityRun.seconds −
  QualityRun.gx_seconds``: label measures, lineage, storing, report), split within the same run;
* **gx** — only the GX validations (:func:`quality.runner.validate`);
* **sql** — each check as one hand-written DuckDB ``count(*)`` query on a read-only connection.

It also checks that GX and SQL agree on every unexpected count, prints medians and the ratio
quality / sql and gx / sql, and writes JSON to ``bench/results/bench_quality-<scale>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from kernel.config import Settings  # noqa: E402
from quality.specs import ROW_COUNT_BAND, Check, DatasetSpec, all_specs  # noqa: E402
from quality.suites import asset_query  # noqa: E402

T = TypeVar("T")


def _literal(value) -> str:
    return f"'{value}'" if isinstance(value, str) else (f"date '{value}'" if hasattr(value, "isoformat") else str(value))


def check_sql(spec: DatasetSpec, check: Check) -> str | None:
    """The plain-SQL version of one check: ``select unexpected_count`` (None for table-level checks)."""
    a, table = check.args, f"({asset_query(spec, check.asset)}) as t"
    match check.kind:
        case "not_null":
            return f"select count(*) filter ({a['column']} is null) from {table}"
        case "in_set":
            values = ", ".join(_literal(v) for v in a["value_set"])
            return f"select count(*) filter ({a['column']} is not null and {a['column']} not in ({values})) from {table}"
        case "between":
            c, conds = a["column"], []
            if a.get("min_value") is not None:
                conds.append(f"{c} < {_literal(a['min_value'])}")
            if a.get("max_value") is not None:
                conds.append(f"{c} > {_literal(a['max_value'])}")
            return f"select count(*) filter ({' or '.join(conds)}) from {table}"
        case "unique":
            cols = ", ".join(a["columns"])
            return (f"select coalesce(sum(n), 0) from (select count(*) as n from {table} "
                    f"where {' and '.join(f'{c} is not null' for c in a['columns'])} group by {cols} having count(*) > 1)")
        case "a_ge_b":
            return f"select count(*) filter ({a['column_a']} < {a['column_b']}) from {table}"
        case "rows":
            return f"select count(*) from {table} where {a['where']}"
    return None


def plain_sql(warehouse: Path, specs) -> dict[tuple[str, str], int]:
    import duckdb

    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        tables = {f"{s}.{t}" for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()}
        for spec in specs:
            if spec.name not in tables:
                continue
            for check in spec.checks:
                sql = check_sql(spec, check)
                if sql is None:
                    con.execute(f"select count(*) from ({asset_query(spec, check.asset)})").fetchone()
                    continue
                out[(spec.name, check.name)] = int(con.execute(sql).fetchone()[0] or 0)
    return out


def timed(times: list[float], action: Callable[[], T]) -> T:
    """Run ``action``, append the seconds it took to ``times`` and return its result."""
    started = time.perf_counter()
    result = action()
    times.append(time.perf_counter() - started)
    return result


def bench_rows(rows: int, repeat: int) -> int:
    """GX validation vs plain SQL on one generated ``rows``-row table, with exact expected counts."""
    from quality.runner import validate
    from quality.testing import big_expected, big_spec, make_big_table

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="bench-quality-")))
    path = settings.warehouse
    t = time.perf_counter()
    make_big_table(path, rows)
    generate = time.perf_counter() - t
    spec = big_spec(rows)
    validate([spec], settings)  # warm-up
    times: dict[str, list[float]] = {"gx": [], "sql": []}
    for _ in range(repeat):
        gx = timed(times["gx"], lambda: validate([spec], settings)["raw.big"])
        sql = timed(times["sql"], lambda: plain_sql(path, [spec]))
    expected = big_expected(rows)
    wrong = [(r.check, r.unexpected_count, sql.get(("raw.big", r.check)), expected.get(r.check))
             for r in gx if r.check in expected and not (r.unexpected_count == sql[("raw.big", r.check)] == expected[r.check][0])]
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {"rows": rows, "generate_seconds": round(generate, 2), "repeat": repeat,
              "median_seconds": {k: round(v, 3) for k, v in median.items()},
              "ratio_gx_to_sql": round(median["gx"] / median["sql"], 2), "wrong_counts": wrong}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench_quality-rows-{rows}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"{rows:,} rows generated in {generate:.1f} s; {len(spec.checks)} checks, median of {repeat}: "
          f"gx {median['gx']:.2f} s, sql {median['sql']:.2f} s, ratio {result['ratio_gx_to_sql']}; "
          f"counts exact: {not wrong} → {out}")
    return 1 if wrong else 0


def prepare(scale: float, seed: int) -> Settings:
    from helsedata.build import build
    from helsedata.pipeline import demo_to_landing, ingest_landing
    from kernel.sources import SOURCES

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="bench-quality-"))).ensure()
    t = time.perf_counter()
    demo_to_landing(settings, scale, seed)
    for source in SOURCES:
        ingest_landing(settings, source, demo=True)
    build(settings, progress=False)
    print(f"prepared {settings.home} in {time.perf_counter() - t:.1f} s", flush=True)
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="demo-data scale (default 0.01)")
    parser.add_argument("--full", action="store_true", help="scale 1 (≈160 M contact rows)")
    parser.add_argument("--home", type=Path, help="reuse this HELSEDATA_HOME instead of generating one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rows", type=int, help="instead of demo data: one table of N rows from range(), all check kinds")
    args = parser.parse_args(argv)
    if args.rows:
        return bench_rows(args.rows, args.repeat)
    scale = 1.0 if args.full else args.scale

    from quality import run_quality
    from quality.runner import validate

    settings = Settings(home=args.home.resolve()) if args.home else prepare(scale, args.seed)
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = {s.name: con.execute(f"select count(*) from {s.name}").fetchone()[0] for s in all_specs()
                if con.execute("select count(*) from information_schema.tables where table_schema || '.' || table_name = ?",
                               [s.name]).fetchone()[0]}
    specs = [s for s in all_specs() if s.name in rows]

    run_quality(settings, report=False)  # warm-up: GX import, context, first queries
    times: dict[str, list[float]] = {"quality": [], "outside_gx": [], "gx": [], "sql": []}
    for _ in range(args.repeat):
        run = timed(times["quality"], lambda: run_quality(settings))
        times["outside_gx"].append(run.seconds - run.gx_seconds)  # the same run's split
        gx = timed(times["gx"], lambda: validate(specs, settings))
        sql = timed(times["sql"], lambda: plain_sql(settings.warehouse, specs))

    # Compare counts (GX's between on the period asset excludes null ratios, as SQL does).
    mismatches = [(name, r.check, r.unexpected_count, sql[(name, r.check)]) for name, results in gx.items()
                  for r in results if (name, r.check) in sql and r.unexpected_count is not None
                  and r.unexpected_count != sql[(name, r.check)]]
    median = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "scale": None if args.home else scale, "home": str(settings.home), "rows": rows, "total_rows": sum(rows.values()), "repeat": args.repeat,
        "checks": sum(len(s.checks) for s in specs),
        "median_seconds": {k: round(v, 3) for k, v in median.items()},
        "ratio_quality_to_sql": round(median["quality"] / median["sql"], 2),
        "ratio_gx_to_sql": round(median["gx"] / median["sql"], 2),
        "count_mismatches": mismatches,
        "row_count_band": ROW_COUNT_BAND,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / (f"bench_quality-home-{settings.home.name}.json" if args.home else f"bench_quality-{scale:g}.json")
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"{result['total_rows']:,} rows in {len(specs)} datasets, {result['checks']} checks, median of {args.repeat}:")
    for k in ("quality", "outside_gx", "gx", "sql"):
        print(f"  {k:10s} {median[k]:8.2f} s")
    print(f"  ratio quality/sql = {result['ratio_quality_to_sql']}, gx/sql = {result['ratio_gx_to_sql']}")
    print(f"  GX and SQL unexpected counts agree: {not mismatches} {mismatches[:5] if mismatches else ''}")
    print(f"  → {out}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
