"""Benchmark: a linked DP grouped count on ``person_aar`` vs the same exact GROUP BY in DuckDB.

    .venv/bin/python bench/bench_linked.py --scale 0.1 --home DIR [--reuse] [--repeat 5]

Builds a demo warehouse at ``--scale`` (synthetic extracts → ingestion → ``dbt build``, which
writes ``analysis.person_aar``) unless ``--reuse`` finds one in ``--home``, then times, warm and in
the same run on the same machine, the best of ``--repeat``:

* ``exact`` — ``select fylke, aar, count(*) from analysis.person_aar where has_vft group by all``
  on a fresh read-only connection (what an analyst with access to the linked table would run);
* ``room``  — :func:`privacy.room.query` end to end for ``--dataset person_aar --where has_vft=true
  --by fylke,aar --count``: plan and calibrate, permit and audit check, aggregation over the
  person-bounded extract, ledger + audit commit, OpenDP discrete Laplace. The extract is built by
  one untimed query first (``room_cold`` reports that query).

Start-up (imports, OpenDP library load) is done before timing. Prints a JSON summary and writes it
to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.config import Settings  # noqa: E402

BY = ("fylke", "aar")
WHERE = (("has_vft", "true"),)
EXACT_SQL = "select fylke, aar, count(*) from analysis.person_aar where has_vft group by all"


def build(settings: Settings, scale: float, seed: int) -> None:
    """Synthetic extracts at ``scale``, ingested and built by dbt (the platform's own steps)."""
    import ingestion
    import synthetic
    from helsedata.build import build as dbt_build
    from kernel.sources import SOURCES

    files = synthetic.generate(settings.home / "extracts", scale, seed, progress=False)
    for source in SOURCES:
        results = ingestion.ingest_files(settings, source, files[source], demo=True, progress=False)
        if not all(r.status in ("loaded", "skipped_duplicate") for r in results):
            raise SystemExit(f"ingest of {source} failed: {[r.error for r in results]}")
    result = dbt_build(settings, progress=False)
    if not result.ok:
        raise SystemExit(f"dbt build failed: {result.to_json()['failed']}")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, help="HELSEDATA_HOME to build in (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="reuse a warehouse already built in --home")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from kernel.warehouse import read_only
    from privacy.budget import parse_epsilon
    from privacy.room import QueryRequest, query
    from privacy.testing import permit

    settings = Settings(home=args.home or Path(tempfile.mkdtemp(prefix="bench-linked-"))).ensure()
    if not (args.reuse and settings.warehouse.exists()):
        started = time.perf_counter()
        build(settings, args.scale, args.seed)
        print(f"built scale {args.scale} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    settings.state_db.unlink(missing_ok=True)
    pid = permit(settings, epsilon="10", datasets="person_aar")
    request = QueryRequest(pid, "forsker", "person_aar", BY, "count", parse_epsilon("1/100"), where=WHERE)

    def exact() -> None:
        with read_only(settings) as con:
            con.execute(EXACT_SQL).fetchall()

    def room() -> None:
        query(settings, request)

    room_cold = timed(room)  # builds the bounded extract of this warehouse
    exact()
    exact_times, room_times = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        exact_times.append(timed(exact))
        room_times.append(timed(room))
    with read_only(settings) as con:
        rows = con.execute("select count(*) from analysis.person_aar").fetchone()[0]
    summary = {
        "benchmark": "bench_linked", "scale": args.scale, "person_aar_rows": rows, "query": {
            "dataset": "person_aar", "by": list(BY), "where": dict(WHERE), "statistic": "count"},
        "exact_s": min(exact_times), "room_s": min(room_times), "room_cold_s": room_cold,
        "ratio_warm": min(room_times) / min(exact_times), "repeat": args.repeat,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"bench_linked-{args.scale}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
