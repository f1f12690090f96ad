"""Benchmark: ``dbt build`` of the marts vs the same marts from one hand-written DuckDB script.

Not a test. It answers "what does dbt cost us?": the platform builds the indicator marts with
dbt (portable SQL, tests, docs, lineage), and this compares that with the fastest thing we could
do instead, one DuckDB SQL script (``bench/handwritten_marts.sql``) computing the same three
marts from the same ``raw.*`` tables in the same warehouse, in the same run. It also checks that
both give identical rows, so the script doubles as an independent re-implementation of the
indicator definitions.

Timed, each ``--repeat`` times (the best is reported):

* ``dbt_build``  ``helsedata.build.build``: seeds, 22 models, data tests and unit tests;
* ``dbt_run``    ``dbt run``: the models only (no seeds, no tests);
* ``sql_script`` the hand-written script (models only, like ``dbt_run``).

Usage (from the repository root)::

    .venv/bin/python bench/bench_build.py --scale 0.01             # generate, ingest, measure
    .venv/bin/python bench/bench_build.py --home /tmp/b --reuse    # measure an existing warehouse
    .venv/bin/python bench/bench_build.py --scale 1 --home /data/helsedata-bench   # national volume

Scale 1 is about 160 M contact rows: generating and ingesting it takes long and needs tens of GB
of disk; run it once with ``--home`` on a large disk and re-measure with ``--reuse``. Results are
printed as JSON and written to ``bench/results/bench_build-<scale>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCRIPT = ROOT / "bench" / "handwritten_marts.sql"
MARTS = ("mart_indicator_values", "mart_indicator_status", "mart_registry_reporting_coverage")


def prepare(home: Path, scale: float, seed: int) -> dict[str, float]:
    import ingestion
    import synthetic
    from kernel.config import Settings
    from kernel.sources import SOURCES

    settings = Settings(home=home).ensure()
    started = time.perf_counter()
    files = synthetic.generate(home / "extracts", scale, seed, progress=True)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    rows = 0
    for source in SOURCES:
        for result in ingestion.ingest_files(settings, source, files[source], demo=True, progress=True):
            rows += result.rows_loaded
    return {"generate_seconds": round(generated, 2), "ingest_seconds": round(time.perf_counter() - started, 2),
            "raw_rows": rows}


def time_dbt_build(settings) -> float:
    from helsedata.build import build

    return build(settings, progress=False).seconds


def time_dbt_run(settings) -> float:
    from dbt.cli.main import dbtRunner

    from helsedata.build import _environment, _release_duckdb, dbt_args

    started = time.perf_counter()
    with _environment(settings):
        try:
            outcome = dbtRunner().invoke(dbt_args(settings, ["run"]))
        finally:
            _release_duckdb()
    if not outcome.success:
        raise SystemExit(f"dbt run failed: {outcome.exception}")
    return time.perf_counter() - started


def time_sql_script(settings) -> float:
    from kernel.warehouse import writer

    sql = SCRIPT.read_text()
    started = time.perf_counter()
    with writer(settings) as con:
        con.execute(sql)
    return time.perf_counter() - started


def differences(settings) -> dict[str, int]:
    """Rows in one version of each mart and not the other (0 everywhere = identical)."""
    from kernel.warehouse import read_only

    out = {}
    with read_only(settings) as con:
        for mart in MARTS:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'bench' "
                f"and table_name = '{mart}' order by ordinal_position").fetchall()]
            # doubles are compared at 9 decimals: the two engines sum in different orders
            cols = ", ".join(f"round({c}, 9)" if c in {"value", "numerator", "denominator", "coverage",
                                                       "digital_share", "on_time_share", "coverage_3m_ago",
                                                       "coverage_change_3m", "coverage_rolling_12m",
                                                       "latest_value", "first_value", "trend_per_year",
                                                       "projected_value", "relative_gap"} else c
                             for c in columns)
            a = f"select {cols} from marts.{mart}"
            b = f"select {cols} from bench.{mart}"
            out[mart] = con.execute(f"select (select count(*) from ({a} except all {b})) + "
                                    f"(select count(*) from ({b} except all {a}))").fetchone()[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.01, help="demo data scale (1 = Norway)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", type=Path, default=None, help="HELSEDATA_HOME to use (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="use the warehouse already in --home")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions (best is reported)")
    args = parser.parse_args(argv)

    from kernel.config import Settings

    home = args.home or Path(tempfile.mkdtemp(prefix="helsedata-bench-"))
    settings = Settings(home=home.resolve()).ensure()
    report: dict[str, object] = {"scale": args.scale, "home": str(settings.home), "cpus": os.cpu_count()}
    if not args.reuse:
        report.update(prepare(settings.home, args.scale, args.seed))

    timings: dict[str, list[float]] = {"dbt_build": [], "dbt_run": [], "sql_script": []}
    for _ in range(args.repeat):
        timings["dbt_build"].append(time_dbt_build(settings))
        timings["dbt_run"].append(time_dbt_run(settings))
        timings["sql_script"].append(time_sql_script(settings))
    best = {k: round(min(v), 3) for k, v in timings.items()}
    report.update(
        seconds=best,
        all_seconds={k: [round(x, 3) for x in v] for k, v in timings.items()},
        ratio_dbt_build_to_sql=round(best["dbt_build"] / best["sql_script"], 2),
        ratio_dbt_run_to_sql=round(best["dbt_run"] / best["sql_script"], 2),
        rows_differing=differences(settings),
    )
    out = ROOT / "bench" / "results" / f"bench_build-{args.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
