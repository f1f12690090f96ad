"""Benchmark: every platform step at several scales — seconds, peak RSS, growth exponents and ratios.

Run (from the repository root):

    .venv/bin/python bench/bench_platform.py --scales 0.01,0.05
    .venv/bin/python bench/bench_platform.py --scales 0.01,0.1,0.3,1 --work /data/bench   # hours
    .venv/bin/python bench/bench_platform.py --combine bench/results/A.json bench/results/B.json  # runs made apart, one table

For each scale it generates synthetic extracts for all four sources, then runs each step in its
own fresh process, one after the other, on one HELSEDATA_HOME:

* ``generate`` — ``synthetic.generate`` (timed separately from the platform, as the issue asks);
* ``read_csv`` — baseline: DuckDB's bare ``read_csv`` of the same files into a fresh database file;
* ``ingest`` — ``ingest_files`` for every source (every rule, pseudonymisation, duplicates);
* ``room_extracts`` — the analysis room's bounded extracts, which ``helsedata ingest`` / ``run``
  build right after the load (``privacy.aggregate.prepare_extracts``); a step of its own here so
  the ingest ratio compares like with like;
* ``build`` — ``helsedata build`` (``dbt build`` without unit tests, which are CI's: see
  helsedata/build.py), in a home with no dbt target yet, so it includes a full project parse;
  ``build_script`` — baseline: the same tables as one hand-written SQL script
  (``bench/handwritten_marts.sql``, into schema ``bench``): the three indicator marts and the
  analysis room's ``person_aar``, i.e. every table of the build that costs time
  (``tests/integration/test_dbt_build.py`` checks its ``person_aar`` equals dbt's row for row).
  Not in the script: dbt's data tests, and the few-hundred-row ``mart_indicator_status_history``
  and reported figures;
* ``quality`` — ``quality.run_quality``; ``quality_sql`` — baseline: the same checks as plain
  DuckDB SQL (``bench/bench_quality.py``'s ``plain_sql``);
* ``dp`` — the first DP query after the load (the pipeline built the extract) and the best of
  three warm ones, ``privacy.room.query`` end to end;
* ``publish`` — disclosure control, public tables and the HTML report.

Seconds are measured inside the child around the work only (imports and interpreter start-up
are not counted). Peak RSS is the highest resident memory of the child's whole process tree,
sampled every 50 ms with psutil. Per step it fits the log-log slope of seconds against rows
(the growth exponent; 1 = linear) over the scales, and prints the ratios ingest / read_csv,
dbt build / script, quality / plain SQL and first / warm DP query. Also the cost of each yearly
``kpr_kontakter`` file (from ``ingest.manifest``) to show that the 8th file costs about what
the 1st does (duplicate index). JSON goes to ``bench/results/``, a PNG plot next to it
(``--plot``, default ``bench/results/bench_platform.png``), rewritten after every scale so a long
run that stops early keeps what it measured. ``--combine`` puts runs made apart into one table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from measure import run_measured  # bench/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STEPS = ("generate", "read_csv", "ingest", "room_extracts", "build", "build_script", "quality", "quality_sql", "dp", "publish")
#: The steps of `helsedata run` (the generator and the baselines are not part of the platform).
PLATFORM = ("ingest", "room_extracts", "build", "quality", "publish")
#: ratio name → (step, baseline step); the DP and yearly-file ratios are computed in summarise()
RATIOS = {"ingest / read_csv": ("ingest", "read_csv"), "dbt build / script": ("build", "build_script"),
          "quality / plain SQL": ("quality", "quality_sql")}


# --- children: each runs one step and prints one JSON line -------------------------------------

def _extract_files(extracts: Path) -> dict[str, list[Path]]:
    from kernel.sources import SOURCES

    return {s: sorted((extracts / s).glob(f"{s}_*.csv")) for s in SOURCES}


def _settings():
    """The child's settings, read from the environment the parent set (home and key)."""
    from kernel.config import Settings

    return Settings.from_environ(os.environ)


def _attempt(work: Callable[[], dict], errors: type[BaseException]) -> dict:
    """Time ``work``; one of ``errors`` is recorded (``ok`` false, the error) instead of ending the run."""
    start = time.perf_counter()
    try:
        extra, ok, error = work(), True, None
    except errors as e:
        extra, ok, error = {}, False, f"{type(e).__name__}: {e}"[:300]
    return {"seconds": time.perf_counter() - start, **extra, "ok": ok, "error": error}


def child_generate(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    from synthetic import generate

    start = time.perf_counter()
    generate(extracts, scale=scale, seed=seed, progress=False)
    return {"seconds": time.perf_counter() - start}


def child_read_csv(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    import duckdb

    home.mkdir(parents=True, exist_ok=True)
    path = home / "read_csv_baseline.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path), config={"storage_compatibility_version": "v1.4.0"})
    rows = 0
    start = time.perf_counter()
    for source, files in _extract_files(extracts).items():
        con.execute(f"create table {source} as select * from read_csv(?, delim=';', header=true)", [[str(f) for f in files]])
        rows += con.execute(f"select count(*) from {source}").fetchone()[0]
    con.execute("checkpoint")
    seconds = time.perf_counter() - start
    con.close()
    path.unlink()
    return {"seconds": seconds, "rows": rows}


def child_ingest(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    import duckdb

    from ingestion import ingest_files

    settings = _settings().ensure()
    start = time.perf_counter()
    rows = 0
    for source, files in _extract_files(extracts).items():
        results = ingest_files(settings, source, files, progress=False)
        rows += sum(r.rows_read for r in results)
        if any(r.status == "rejected" for r in results):
            raise SystemExit(f"{source}: a file was rejected")
    seconds = time.perf_counter() - start
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        per_file = con.execute(
            "select file_name, rows_read, date_diff('millisecond', started_at, finished_at) / 1000 "
            "from ingest.manifest where source = 'kpr_kontakter' order by file_name").fetchall()
    return {"seconds": seconds, "rows": rows,
            "kpr_kontakter_files": [{"file": Path(f).name, "rows": n, "seconds": s} for f, n, s in per_file]}


def child_room_extracts(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    from privacy.aggregate import prepare_extracts

    settings = _settings()
    start = time.perf_counter()
    built = prepare_extracts(settings)
    return {"seconds": time.perf_counter() - start, "datasets": sorted(built)}


def child_build(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    import dbt.adapters.duckdb  # noqa: F401  (imports are not timed: dbt's take ≈ 8 s on a loaded machine)
    import dbt.cli.main  # noqa: F401

    from helsedata.build import build

    settings = _settings()
    start = time.perf_counter()
    build(settings, progress=False)  # raises BuildFailure when a node fails
    return {"seconds": time.perf_counter() - start}


def child_build_script(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    import duckdb

    from kernel.warehouse import writer

    sql = (ROOT / "bench" / "handwritten_marts.sql").read_text(encoding="utf-8")
    settings = _settings()

    def script() -> dict:
        with writer(settings) as con:
            con.execute(sql)
        return {}

    return _attempt(script, duckdb.Error)  # a baseline that cannot run under the memory limit is a result too


def child_quality(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    from quality import run_quality

    settings = _settings()
    start = time.perf_counter()
    run_quality(settings)
    return {"seconds": time.perf_counter() - start}


def child_quality_sql(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    import duckdb

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_quality import plain_sql  # noqa: E402  (bench/ is not a package)

    from quality.specs import all_specs

    settings = _settings()
    return _attempt(lambda: {"checks": len(plain_sql(settings.warehouse, all_specs()))}, duckdb.Error)


def child_dp(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    from fractions import Fraction

    from privacy.budget import parse_epsilon
    from privacy.mechanisms import laplace_measurement
    from privacy.room import QueryRequest, apply, query, review

    settings = _settings()
    laplace_measurement(1, Fraction(1))  # OpenDP's library load, not part of a query
    application = apply(settings, "bench", "benchmark", "kpr_kontakter", "10")["application_id"]
    permit = review(settings, application, "bench-reviewer", approve=True)["permit_id"]

    def one() -> float:
        start = time.perf_counter()
        query(settings, QueryRequest(permit, "bench", "kpr_kontakter", ("kommunenummer", "tjenesteyter"), "count",
                                     parse_epsilon("1/1000")))
        return time.perf_counter() - start

    first = one()
    warm = min(one() for _ in range(3))
    return {"seconds": first, "first_seconds": first, "warm_seconds": warm}


def child_publish(home: Path, extracts: Path, scale: float, seed: int) -> dict:
    from helsedata.publish import publish

    settings = _settings()

    def publication() -> dict:
        publish(settings)
        return {}

    return _attempt(publication, Exception)  # a refused gate at a tiny scale is a result, not a crash


CHILDREN = {name: globals()[f"child_{name}"] for name in STEPS}


# --- parent -------------------------------------------------------------------------------------

def run_child(step: str, home: Path, extracts: Path, scale: float, seed: int, key: str) -> dict:
    """Run one step in a fresh process; add the peak RSS of its process tree (MiB)."""
    env = {**os.environ, "HELSEDATA_PSEUDONYM_KEY": key, "HELSEDATA_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, __file__, "--child", step, "--home", str(home), "--extracts", str(extracts),
           "--scales", str(scale), "--seed", str(seed)]
    return run_measured(cmd, env, f"step {step} at scale {scale}")


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(rows): the growth exponent.

    >>> round(slope([(1e5, 1.0), (1e6, 10.0)]), 2)
    1.0
    """
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


def summarise(runs: list[dict]) -> dict:
    """Growth exponents per step and the ratios per scale."""
    exponents = {step: slope([(r["rows"], r["steps"][step]["seconds"]) for r in runs if r["steps"][step].get("ok", True)])
                 for step in STEPS}
    for r in runs:
        s = r["steps"]
        r["ratios"] = {name: s[a]["seconds"] / s[b]["seconds"] for name, (a, b) in RATIOS.items()
                       if s[a].get("ok", True) and s[b].get("ok", True)}  # no ratio against a step that failed
        r["ratios"]["first / warm DP query"] = s["dp"]["first_seconds"] / s["dp"]["warm_seconds"]
        files = s["ingest"]["kpr_kontakter_files"]
        if len(files) >= 2:
            r["ratios"]["8th / 1st yearly file"] = ((files[-1]["seconds"] / files[-1]["rows"])
                                                    / (files[0]["seconds"] / files[0]["rows"]))
        r["platform_seconds"] = sum(s[k]["seconds"] for k in PLATFORM)
        r["platform_peak_rss_mib"] = max(s[k]["peak_rss_mib"] for k in PLATFORM)
    return {"growth_exponents": exponents}


def table(result: dict) -> str:
    """The Markdown table for the README."""
    runs = result["runs"]
    head = "| step | " + " | ".join(f"scale {r['scale']:g} ({r['rows'] / 1e6:.2f} M rows): s / peak MiB" for r in runs) \
        + " | growth exponent |"
    lines = [head, "|---" * (len(runs) + 2) + "|"]
    for step in STEPS:
        cells = [f"{r['steps'][step]['seconds']:.1f} / {r['steps'][step]['peak_rss_mib']:,}" for r in runs]
        exponent = result["growth_exponents"][step]
        lines.append(f"| {step} | " + " | ".join(cells) + f" | {exponent:.2f} |" if exponent is not None
                     else f"| {step} | " + " | ".join(cells) + " | – |")
    lines.append(f"| **platform** ({' + '.join(PLATFORM)}) | "
                 + " | ".join(f"**{r['platform_seconds']:.1f} / {r['platform_peak_rss_mib']:,}**" for r in runs) + " | |")
    names = [*RATIOS, "first / warm DP query", "8th / 1st yearly file"]
    for name in names:
        cells = [f"{r['ratios'][name]:.2f}×" if name in r["ratios"] else "–" for r in runs]
        lines.append(f"| ratio {name} | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    rows = [r["rows"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for step in STEPS:
        exponent = result["growth_exponents"][step]
        label = f"{step} (exponent {exponent:.2f})" if exponent is not None else step
        left.plot(rows, [r["steps"][step]["seconds"] for r in runs], marker="o", label=label)
        right.plot(rows, [r["steps"][step]["peak_rss_mib"] for r in runs], marker="o", label=step)
    left.set(xscale="log", yscale="log", xlabel="rows read", ylabel="seconds", title="Time per step (log-log)")
    right.set(xscale="log", xlabel="rows read", ylabel="peak RSS (MiB)", title="Peak RSS per step")
    right.axhline(4096, color="red", linestyle="--", linewidth=1, label="4 GiB target")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.suptitle(f"bench_platform.py, {result['cpus']} CPUs, load average {result['load_average_1m']:.1f} at the end")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.01,0.05", help="comma-separated generator scales")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", help="working folder, kept (default: a temporary one, removed after each scale)")
    parser.add_argument("--plot", type=Path, default=RESULTS / "bench_platform.png")
    parser.add_argument("--combine", nargs="+", metavar="JSON",
                        help="summarise the runs of earlier result files together (growth exponents over all scales)")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--extracts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    if args.child:
        print(json.dumps(CHILDREN[args.child](Path(args.home), Path(args.extracts), scales[0], args.seed)))
        return
    if args.combine:
        runs = sorted((run for f in args.combine for run in json.loads(Path(f).read_text())["runs"]),
                      key=lambda run: run["scale"])
        report(runs, args.plot, "combined")
        return
    if args.work:
        Path(args.work).mkdir(parents=True, exist_ok=True)
    runs = []
    key = secrets.token_hex(32)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    for scale in scales:
        # a folder of its own per scale; with --work it is kept (also when a step fails, so the
        # home and the generated extracts of an hour-long run can be looked at or resumed)
        folder = Path(args.work) / f"scale-{scale:g}-{stamp}" if args.work else Path(tempfile.mkdtemp())
        home, extracts = folder / "home", folder / "extracts"
        steps = {}
        for step in STEPS:
            steps[step] = run_child(step, home, extracts, scale, args.seed, key)
            print(f"scale {scale:g} {step:13s} {steps[step]['seconds']:8.1f} s  {steps[step]['peak_rss_mib']:6,} MiB",
                  file=sys.stderr, flush=True)
        if steps["ingest"]["rows"] != steps["read_csv"]["rows"]:
            raise SystemExit(f"row counts differ: ingest {steps['ingest']['rows']}, read_csv {steps['read_csv']['rows']}")
        runs.append({"scale": scale, "rows": steps["ingest"]["rows"], "steps": steps})
        if not args.work:
            shutil.rmtree(folder)
        # after every scale, so an hours-long run that stops early still leaves what it measured
        report(runs, args.plot, stamp)


def report(runs: list[dict], plot_path: Path, stamp: str) -> None:
    """Write the JSON, the Markdown table and the plot for ``runs``; print the table."""
    result = {"benchmark": "bench_platform", "runs": runs, **summarise(runs), "cpus": os.cpu_count(),
              "load_average_1m": os.getloadavg()[0], "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    scales = "_".join(f"{run['scale']:g}" for run in runs)
    out = RESULTS / f"bench_platform_{scales}_{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    markdown = table(result)
    out.with_suffix(".md").write_text(markdown + "\n", encoding="utf-8")
    plot(result, plot_path)
    print(markdown)
    print(f"wrote {out.relative_to(ROOT)}, {out.with_suffix('.md').relative_to(ROOT)} and {plot_path}")


if __name__ == "__main__":
    main()
