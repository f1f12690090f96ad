"""History of quality runs in the warehouse: ``quality.results``, ``quality.labels``, ``quality.runs``.

``quality.labels`` is created (empty) by :func:`kernel.warehouse.ensure_shared_tables`, because
dbt reads it before the first quality run; this module adds its extra columns additively.
``quality.latest_labels`` is a view with the newest label per dataset. ``quality.runs`` records,
per run, the state of the warehouse it checked (:class:`WarehouseState`: the loads and the newest
data build), so the publication gate can tell a result that no longer describes the data.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb

from kernel.warehouse import ensure_shared_tables

RESULTS_DDL = """create table if not exists quality.results (
  run_id VARCHAR NOT NULL,
  dataset VARCHAR NOT NULL,
  "check" VARCHAR NOT NULL,
  category VARCHAR NOT NULL,      -- conformance | completeness | plausibility (Kahn)
  context VARCHAR NOT NULL,       -- verification | validation
  severity VARCHAR NOT NULL,      -- critical | warning
  threshold DOUBLE NOT NULL,      -- percent of rows allowed to violate
  unexpected_count BIGINT,
  element_count BIGINT,
  unexpected_percent DOUBLE,
  passed BOOLEAN NOT NULL,
  examples JSON,                  -- a few failing rows: lineage keys and checked values only
  description VARCHAR,
  error VARCHAR,                  -- set when the check could not run
  computed_at TIMESTAMP NOT NULL
)"""

RUNS_DDL = """create table if not exists quality.runs (
  run_id VARCHAR PRIMARY KEY,
  computed_at TIMESTAMP NOT NULL,
  loaded_files BIGINT NOT NULL,   -- files ingest.manifest records as loaded when the run started
  last_load_at TIMESTAMP,         -- the newest of their finished_at
  last_build_seq BIGINT NOT NULL  -- ingest.builds.seq of the newest data build (0: none)
)"""

#: Columns added to the shared quality.labels table (additive; dbt reads only the first five).
LABEL_EXTRA_COLUMNS = {
    "documentation": "DOUBLE",
    "age_days": "DOUBLE",
    "checks_failed_critical": "INTEGER",
    "checks_failed_warning": "INTEGER",
    "newest_period": "VARCHAR",     # YYYY-MM, the newest month in the data (timeliness)
    "due": "DATE",                  # when the following month's data are due
    "late_days": "INTEGER",         # run date − due; ≤ 0 is on time
    "coverage": "DOUBLE",           # share of expected units present in the newest period
    "coverage_period": "VARCHAR",
    "access": "VARCHAR",            # access and provision (bokmål)
    "changes": "JSON",              # what changed since the previous label (bokmål)
}

LATEST_LABELS_VIEW = """create or replace view quality.latest_labels as
select * exclude (recency) from (
    select *, row_number() over (partition by dataset order by computed_at desc, run_id desc) as recency
    from quality.labels
) where recency = 1"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists quality")
    ensure_shared_tables(con)
    con.execute(RESULTS_DDL)
    con.execute(RUNS_DDL)
    for column, type_ in LABEL_EXTRA_COLUMNS.items():
        con.execute(f"alter table quality.labels add column if not exists {column} {type_}")
    con.execute(LATEST_LABELS_VIEW)


def write_run(con: duckdb.DuckDBPyConnection, run) -> None:
    """Append one run's results and labels (one transaction)."""
    ensure_tables(con)
    con.execute("begin")
    try:
        state = run.state
        con.execute("insert into quality.runs values (?, ?, ?, ?, ?)",
                    [run.run_id, run.computed_at, state.loaded_files, state.last_load_at, state.last_build_seq])
        con.executemany(
            """insert into quality.results (run_id, dataset, "check", category, context, severity, threshold,
               unexpected_count, element_count, unexpected_percent, passed, examples, description, error, computed_at)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(run.run_id, r.dataset, r.check, r.category, r.context, r.severity, r.threshold,
              r.unexpected_count, r.element_count, r.unexpected_percent, r.passed,
              json.dumps(r.examples, ensure_ascii=False, default=str), r.description, r.error, run.computed_at)
             for r in run.results],
        )
        con.executemany(
            """insert into quality.labels (run_id, dataset, label, reasons, computed_at, documentation, age_days,
               checks_failed_critical, checks_failed_warning, newest_period, due, late_days, coverage,
               coverage_period, access, changes) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(run.run_id, d.dataset, d.label.label, json.dumps(list(d.label.reasons), ensure_ascii=False),
              run.computed_at, d.documentation, d.age_days, len(d.failed("critical")), len(d.failed("warning")),
              d.timeliness.newest_period if d.timeliness else None, d.timeliness.due if d.timeliness else None,
              d.timeliness.late_days if d.timeliness else None,
              round(d.coverage.share, 4) if d.coverage else None, d.coverage.period if d.coverage else None,
              d.access, json.dumps(list(d.changes), ensure_ascii=False))
             for d in run.datasets],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def latest_labels(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """dataset → its newest stored label row (``quality.latest_labels``; empty before the first run)."""
    if not _table_exists(con, "quality", "latest_labels"):
        return {}
    cursor = con.execute("select * from quality.latest_labels")
    names = [d[0] for d in cursor.description]
    return {row[names.index("dataset")]: dict(zip(names, row)) for row in cursor.fetchall()}


def latest_run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'quality' and table_name = 'results'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("select run_id from quality.results order by computed_at desc, run_id desc limit 1").fetchone()
    return row[0] if row else None


def failed_critical(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Failing critical checks of each dataset's latest run (a run may cover only some datasets)."""
    rows = con.execute(
        """with latest as (
               select dataset, arg_max(run_id, computed_at) as run_id from quality.results group by dataset
           )
           select dataset, "check", unexpected_percent, threshold, error, run_id
           from quality.results join latest using (dataset, run_id)
           where severity = 'critical' and not passed order by dataset, "check" """).fetchall()
    return [dict(zip(("dataset", "check", "unexpected_percent", "threshold", "error", "run_id"), r)) for r in rows]


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchone()[0] > 0


@dataclass(frozen=True)
class WarehouseState:
    """What a quality run's results are about: the loads so far and the newest data build.

    Two states are equal exactly when no file was loaded and no data build ran in between.
    Label refreshes (``ingest.builds.kind = 'label_refresh'``) only carry quality labels into the
    marts, so they do not count as a change of the data.
    """

    loaded_files: int
    last_load_at: dt.datetime | None
    last_build_seq: int
    last_build_at: dt.datetime | None = None  # for messages only; not part of the comparison

    def same_data(self, other: WarehouseState) -> bool:
        return (self.loaded_files, self.last_load_at, self.last_build_seq) == (
            other.loaded_files, other.last_load_at, other.last_build_seq)


def warehouse_state(con: duckdb.DuckDBPyConnection) -> WarehouseState:
    """The current :class:`WarehouseState` (loads from ``ingest.manifest``, builds from ``ingest.builds``)."""
    loaded, last_load = 0, None
    if _table_exists(con, "ingest", "manifest"):
        loaded, last_load = con.execute(
            "select count(*), max(finished_at) from ingest.manifest where status = 'loaded'").fetchone()
    seq, built = 0, None
    if _table_exists(con, "ingest", "builds"):
        row = con.execute("select seq, finished_at from ingest.builds where kind <> 'label_refresh' "
                          "order by seq desc limit 1").fetchone()
        if row:
            seq, built = row
    return WarehouseState(int(loaded), last_load, int(seq), built)


@dataclass(frozen=True)
class Stale:
    """A dataset whose newest quality result does not describe the current data, and why."""

    dataset: str
    run_id: str | None  # None: never checked
    checked: WarehouseState | None  # None: never checked, or by a version that did not record it


def stale_datasets(con: duckdb.DuckDBPyConnection, datasets: list[str], current: WarehouseState) -> list[Stale]:
    """The ``datasets`` whose newest result was computed on another :class:`WarehouseState` than ``current``."""
    latest: dict[str, tuple] = {}
    if _table_exists(con, "quality", "results"):
        runs = "quality.runs" if _table_exists(con, "quality", "runs") else (
            "(select null::varchar as run_id, null::bigint as loaded_files, null::timestamp as last_load_at, "
            "null::bigint as last_build_seq)")
        for dataset, run_id, files, load_at, build_seq in con.execute(
                f"""with latest as (
                        select dataset, arg_max(run_id, computed_at) as run_id from quality.results group by dataset
                    )
                    select latest.dataset, latest.run_id, r.loaded_files, r.last_load_at, r.last_build_seq
                    from latest left join {runs} as r using (run_id)""").fetchall():
            checked = None if files is None else WarehouseState(int(files), load_at, int(build_seq))
            latest[dataset] = (run_id, checked)
    out = []
    for dataset in datasets:
        run_id, checked = latest.get(dataset, (None, None))
        if checked is None or not checked.same_data(current):
            out.append(Stale(dataset, run_id, checked))
    return out
