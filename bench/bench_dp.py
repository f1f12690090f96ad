"""Benchmark: a DP grouped count in the analysis room vs an exact DuckDB GROUP BY vs OpenDP's Polars path.

    .venv/bin/python bench/bench_dp.py --rows 20000000 --polars-rows 2000000 --repeat 3

Builds a throw-away warehouse (``--home``, default a temp folder) with one year of synthetic
``raw.kpr_kontakter`` (``--rows`` contacts over rows/4 persons, generated inside DuckDB), then
times, each ``--repeat`` times on the same machine, the best of:

* ``exact``   — ``select kommunenummer, tjenesteyter, count(*) ... group by`` on a fresh read-only
  connection (what an analyst with raw access would run);
* ``room``    — :func:`privacy.room.query` end to end: plan and calibrate, permit and budget
  check, aggregation over the person-bounded extract, ledger + audit commit, OpenDP discrete
  Laplace. ``room_cold`` is the first query after a load, which also builds the extract;
* ``polars``  — OpenDP's Polars path on ``--polars-rows`` rows (loading from DuckDB into Polars
  included, identifier-based truncation ``truncate_per_group(k)``, same public keys), and our
  ``room`` path on that same smaller table, so the ratio compares like with like.

Start-up (imports, OpenDP library load) is done once before timing. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernel.config import Settings  # noqa: E402

GROUP_BY = ("kommunenummer", "tjenesteyter")


def build(settings: Settings, table: str, rows: int, seed: int) -> None:
    """Synthetic contacts for 2024 made in SQL (fast at national scale)."""
    from kernel.sources import KPR_KONTAKTER, raw_table_ddl
    from kernel.warehouse import writer
    from privacy.catalogue import domain

    kommuner = list(domain("kommunenummer"))
    persons = max(rows // 4, 1)
    with writer(settings) as con:
        con.execute(f"drop table if exists {table}")
        con.execute(raw_table_ddl(KPR_KONTAKTER).replace(KPR_KONTAKTER.raw_table, table))
        con.execute(f"select setseed({seed / 1000})")
        con.execute(
            f"""insert into {table} (person_id, fodselsaar, kjonn, kommunenummer, kontaktdato, tjenesteyter,
                                     kontaktform, _file_sha256, _line_number)
            with p as (select range as line, (random() * {persons})::bigint as pid from range({rows}))
            select sha256(pid::varchar), 1930 + pid % 94, case when pid % 2 = 0 then 'K' else 'M' end,
                   (?::varchar[])[1 + (hash(pid) % {len(kommuner)})::int],
                   date '2024-01-01' + (random() * 365)::int,
                   (['fastlege','legevakt','helsestasjon','fysioterapi','fastlege'])[1 + (random() * 4)::int],
                   (['oppmote','telefon','video','e-konsultasjon'])[1 + (random() * 3)::int],
                   'bench', line
            from p""",
            [kommuner],
        )


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def exact_group_by(settings: Settings, table: str) -> None:
    from kernel.warehouse import read_only

    with read_only(settings) as con:
        con.execute(f"select {', '.join(GROUP_BY)}, count(*) from {table}"
                    " where year(kontaktdato) = 2024 group by all").fetchall()


def room_query(settings: Settings, permit_id: str, table: str) -> dict:
    from privacy import catalogue
    from privacy.budget import parse_epsilon
    from privacy.room import QueryRequest, query

    ds = catalogue.DATASETS["kpr_kontakter"]
    original = ds.select_sql, ds.table
    object.__setattr__(ds, "select_sql", original[0].replace("raw.kpr_kontakter", table))
    object.__setattr__(ds, "table", table)
    try:
        return query(settings, QueryRequest(permit_id, "bench", "kpr_kontakter", GROUP_BY, "count",
                                            parse_epsilon("1/1000")))
    finally:
        object.__setattr__(ds, "select_sql", original[0])
        object.__setattr__(ds, "table", original[1])


def polars_path(settings: Settings, table: str, k: int) -> float:
    import opendp.prelude as dp
    import polars as pl

    from kernel.warehouse import read_only
    from privacy.catalogue import domain

    dp.enable_features("contrib")
    with read_only(settings) as con:
        lf = con.execute(f"select person_id, kommunenummer, tjenesteyter from {table}"
                         " where year(kontaktdato) = 2024").pl().lazy()
    keys = pl.DataFrame([(k1, k2) for k1 in domain("kommunenummer") for k2 in domain("tjenesteyter")],
                        schema=list(GROUP_BY), orient="row")
    context = dp.Context.compositor(
        data=lf, privacy_unit=dp.unit_of(contributions=1, identifier=pl.col("person_id")),
        privacy_loss=dp.loss_of(epsilon=0.001), split_evenly_over=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        query = context.query().truncate_per_group(k).group_by(list(GROUP_BY)).agg(dp.len(signed=True)).with_keys(keys)
        query.release().collect()
        return float(query.summarize()["scale"][0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000, help="contacts in the large table")
    parser.add_argument("--polars-rows", type=int, default=2_000_000, help="contacts in the small table")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="HELSEDATA_HOME to build in (default: temp)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="bench_dp_"))
    settings = Settings(home=home).ensure()
    from kernel.sources import KPR_KONTAKTER
    from privacy.mechanisms import laplace_measurement  # noqa: F401  (warm up OpenDP before timing)
    from privacy.room import apply, review

    t0 = time.perf_counter()
    build(settings, "raw.kpr_kontakter", args.rows, args.seed)
    build(settings, "raw.bench_kontakter_small", args.polars_rows, args.seed + 1)
    built = time.perf_counter() - t0
    app = apply(settings, "bench", "benchmark", "kpr_kontakter", "10")["application_id"]
    permit_id = review(settings, app, "bench-reviewer", approve=True)["permit_id"]
    laplace_measurement(1, __import__("fractions").Fraction(1))

    large = {
        "exact_s": best(lambda: exact_group_by(settings, "raw.kpr_kontakter"), args.repeat),
        # first query after a load builds the bounded extract (once per load)
        "room_cold_s": best(lambda: room_query(settings, permit_id, "raw.kpr_kontakter"), 1),
        "room_s": best(lambda: room_query(settings, permit_id, "raw.kpr_kontakter"), args.repeat),
    }
    large["room_over_exact"] = large["room_s"] / large["exact_s"]
    large["room_cold_over_exact"] = large["room_cold_s"] / large["exact_s"]
    small = {
        "exact_s": best(lambda: exact_group_by(settings, "raw.bench_kontakter_small"), args.repeat),
        "room_cold_s": best(lambda: room_query(settings, permit_id, "raw.bench_kontakter_small"), 1),
        "room_s": best(lambda: room_query(settings, permit_id, "raw.bench_kontakter_small"), args.repeat),
    }
    polars_scale = []
    small["polars_s"] = best(lambda: polars_scale.append(
        polars_path(settings, "raw.bench_kontakter_small", KPR_KONTAKTER.rows_per_person)), args.repeat)
    small["room_over_exact"] = small["room_s"] / small["exact_s"]
    small["polars_over_room"] = small["polars_s"] / small["room_s"]
    room_scale = room_query(settings, permit_id, "raw.bench_kontakter_small")["scale"]
    print(json.dumps({
        "rows": args.rows, "polars_rows": args.polars_rows, "repeat": args.repeat, "build_s": round(built, 2),
        "cells": 357 * 4, "large": {k: round(v, 4) for k, v in large.items()},
        "small": {k: round(v, 4) for k, v in small.items()},
        "noise_scale": {"room": room_scale, "opendp_polars": polars_scale[-1]},
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
