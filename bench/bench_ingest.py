"""Benchmark: `helsedata ingest` of kpr_kontakter against DuckDB's bare ``read_csv``.

Run (from the repository root):

    .venv/bin/python bench/bench_ingest.py                  # scale 0.1 (≈16 M contact rows)
    .venv/bin/python bench/bench_ingest.py --full           # scale 1 (≈160 M rows, hours)
    .venv/bin/python bench/bench_ingest.py --extracts DIR   # reuse extracts from `helsedata demo-data`
    .venv/bin/python bench/bench_ingest.py --files 1        # only the first year's file
    .venv/bin/python bench/bench_ingest.py --extracts DIR --files 1 --work DIR2  # e.g. scale 1, one file

It generates synthetic kpr_kontakter extracts (unless given), then runs two measurements, each in
its own fresh process and empty warehouse file, on the same files and machine:

* **ingest** — ``ingestion.ingest_files`` (parse, all row rules, pseudonymise, quarantine, load);
* **baseline** — DuckDB's own ``create table … as select * from read_csv(…)`` into a database file:
  the floor for "read the text into a table", with no validation at all.

Timings are taken inside the child around the work only (interpreter start-up and imports are not
counted). Peak memory is the highest RSS of the child's process tree, sampled every 50 ms with
psutil. It prints a table and writes JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from measure import run_measured  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SOURCE = "kpr_kontakter"


def child_ingest(home: Path, files: list[Path]) -> dict:
    from ingestion import ingest_files
    from kernel.config import Settings

    settings = Settings(home=home).ensure()
    start = time.perf_counter()
    results = ingest_files(settings, SOURCE, files, progress=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows_read": sum(r.rows_read for r in results),
            "rows_loaded": sum(r.rows_loaded for r in results),
            "rows_quarantined": sum(r.rows_quarantined for r in results),
            "statuses": sorted({r.status for r in results})}


def child_baseline(home: Path, files: list[Path]) -> dict:
    import duckdb

    home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(home / "baseline.duckdb"), config={"storage_compatibility_version": "v1.4.0"})
    start = time.perf_counter()
    con.execute("create table t as select * from read_csv(?, delim=';', header=true)", [[str(f) for f in files]])
    con.execute("checkpoint")
    seconds = time.perf_counter() - start
    [(rows,)] = con.execute("select count(*) from t").fetchall()
    con.close()
    return {"seconds": seconds, "rows_read": rows}


def run_child(kind: str, home: Path, files: list[Path]) -> dict:
    """Run one measurement in a fresh process; add its peak RSS (process tree, MiB)."""
    env = {**os.environ, "HELSEDATA_PSEUDONYM_KEY": secrets.token_hex(32), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--child", kind, "--home", str(home), *map(str, files)]
    return run_measured(cmd, env, kind)


def extracts(args: argparse.Namespace, work: Path) -> list[Path]:
    if args.extracts:
        folder = Path(args.extracts) / SOURCE
    else:
        from synthetic import generate

        start = time.perf_counter()
        generate(work / "extracts", scale=args.scale, seed=args.seed, progress=True)
        print(f"generated scale {args.scale} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        folder = work / "extracts" / SOURCE
    files = sorted(folder.glob(f"{SOURCE}_*.csv"))
    if not files:
        raise SystemExit(f"no {SOURCE}_*.csv files in {folder}")
    return files[: args.files] if args.files else files


def extracts_scale(folder: str) -> float | None:
    """The generator scale recorded in a `helsedata demo-data` folder's manifest.json, if any."""
    try:
        return float(json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))["scale"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def report(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"ingest {SOURCE}: {result['rows']:,} rows, {result['megabytes']:,} MB, {result['files']} files")
    for column in ("", "seconds", "rows/s", "peak RSS MiB"):
        table.add_column(column, justify="right")
    for name in ("ingest", "baseline"):
        m = result[name]
        table.add_row(name, f"{m['seconds']:.1f}", f"{m['rows_per_second']:,.0f}", f"{m['peak_rss_mib']:,}")
    Console().print(table)
    print(f"ingest takes {result['ratio_ingest_to_baseline']:.1f}× DuckDB's bare read_csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1, help="generator scale (default 0.1)")
    parser.add_argument("--full", action="store_true", help="scale 1, the national volume")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extracts", help="folder from `helsedata demo-data` to reuse instead of generating")
    parser.add_argument("--files", type=int, default=0, help="ingest only the first N yearly files (0: all)")
    parser.add_argument("--work", help="working folder (default: a temporary one, removed after)")
    parser.add_argument("--child", choices=["ingest", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child_ingest if args.child == "ingest" else child_baseline
        print(json.dumps(run(Path(args.home), [Path(p) for p in args.paths])))
        return
    if args.full:
        args.scale = 1.0
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        files = extracts(args, work)
        megabytes = round(sum(f.stat().st_size for f in files) / 1e6)
        ingest = run_child("ingest", work / "home_ingest", files)
        baseline = run_child("baseline", work / "home_baseline", files)
    if ingest["rows_read"] != baseline["rows_read"]:
        raise SystemExit(f"row counts differ: ingest read {ingest['rows_read']}, read_csv {baseline['rows_read']}")
    for m in (ingest, baseline):
        m["rows_per_second"] = m["rows_read"] / m["seconds"]
    scale = extracts_scale(args.extracts) if args.extracts else args.scale
    result = {
        "benchmark": "bench_ingest", "source": SOURCE, "scale": scale,
        "extracts": args.extracts, "files": len(files), "rows": ingest["rows_read"],
        "megabytes": megabytes, "ingest": ingest, "baseline": baseline,
        "ratio_ingest_to_baseline": ingest["seconds"] / baseline["seconds"],
        "cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0],
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    label = f"scale{scale:g}" if scale is not None else "extracts"
    out = RESULTS / f"bench_ingest_{label}_{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
