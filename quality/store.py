"""History of quality runs in the warehouse: ``quality.results`` and ``quality.labels``.

``quality.labels`` is created (empty) by :func:`kernel.warehouse.ensure_shared_tables`, because
dbt reads it before the first quality run; this module adds its extra columns additively.
``quality.latest_labels`` is a view with the newest label per dataset.
"""

from __future__ import annotations

import json

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

#: Columns added to the shared quality.labels table (additive; dbt reads only the first five).
LABEL_EXTRA_COLUMNS = {
    "documentation": "DOUBLE",
    "age_days": "DOUBLE",
    "checks_failed_critical": "INTEGER",
    "checks_failed_warning": "INTEGER",
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
    for column, type_ in LABEL_EXTRA_COLUMNS.items():
        con.execute(f"alter table quality.labels add column if not exists {column} {type_}")
    con.execute(LATEST_LABELS_VIEW)


def write_run(con: duckdb.DuckDBPyConnection, run) -> None:
    """Append one run's results and labels (one transaction)."""
    ensure_tables(con)
    con.execute("begin")
    try:
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
               checks_failed_critical, checks_failed_warning) values (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [(run.run_id, d.dataset, d.label.label, json.dumps(list(d.label.reasons), ensure_ascii=False),
              run.computed_at, d.documentation, d.age_days, len(d.failed("critical")), len(d.failed("warning")))
             for d in run.datasets],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


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
