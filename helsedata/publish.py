"""Publication step: quality gate → disclosure control → ``public.*`` → HTML report → Superset.

``publish(settings)`` is what ``helsedata publish`` and the Airflow DAG run. It

1. asks the quality gate (:func:`quality.gate`) whether the marts may be published; a failing
   critical check raises :class:`~kernel.errors.PipelineFailure` unless an override with a
   reason is given, and a gate that cannot run stops publication as well;
2. reads ``marts.mart_indicator_values``, ``marts.mart_indicator_status`` and
   ``marts.mart_registry_reporting_coverage``;
3. applies disclosure control (:mod:`privacy.publication`) to every indicator about persons,
   jointly over all of them;
4. replaces ``public.indicator_values``, ``public.indicator_status``,
   ``public.registry_reporting_coverage`` and ``public.publication`` in one transaction, so a
   reader sees either the old or the new publication, never a mix;
5. renders ``$HELSEDATA_HOME/reports/indicators.html`` and refreshes Superset when
   ``HELSEDATA_SUPERSET_URL`` is set.

The rules are documented in ``docs/publishing.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kernel.config import Settings
from kernel.errors import ConfigurationError, PipelineFailure
from privacy.disclosure import ROUNDING_BASE, SUPPRESSION_THRESHOLD, VALUE_DECIMALS
from privacy.publication import SHARE_DECIMALS, protect_indicator_values, protect_status

MART_VALUES = "marts.mart_indicator_values"
MART_STATUS = "marts.mart_indicator_status"
MART_COVERAGE = "marts.mart_registry_reporting_coverage"


@dataclass
class PublishResult:
    """What one publication did (printed by ``helsedata publish --json``)."""

    published_at: str
    gate: str  # "passed" or "overridden"
    override_reason: str | None
    tables: dict[str, int]  # public table → rows
    cells_suppressed: int
    cells_suppressed_secondary: int
    report: str
    superset: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, **asdict(self)}


# ---------------------------------------------------------------------------------------------
# the step


def publish(settings: Settings, override_reason: str | None = None, actor: str | None = None) -> PublishResult:
    """Publish the disclosure-controlled indicator tables, the HTML report and Superset
    (when ``settings.superset`` is configured)."""
    if not settings.warehouse.exists():
        raise ConfigurationError(
            f"fant ikke noe varehus i {settings.warehouse}; kjør 'helsedata build' (eller 'helsedata run') først"
        )
    gate = _run_gate(settings, override_reason, actor)
    from privacy.audit import current_head

    audit_head = current_head(settings)  # recorded, so `room audit verify --expect-head` can check it later

    from kernel.warehouse import writer

    published_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with writer(settings) as con:
        missing = [t for t in (MART_VALUES, MART_STATUS) if not _exists(con, t)]
        if missing:
            raise PipelineFailure(f"mangler mart(er) {', '.join(missing)}; kjør 'helsedata build' først.")
        values = _fetch(con, MART_VALUES)
        status = _fetch(con, MART_STATUS)
        coverage = _fetch(con, MART_COVERAGE) if _exists(con, MART_COVERAGE) else None
        definitions = indicator_definitions()

        public_values, primary, secondary = protect_indicator_values(values, definitions, _fylke_of())
        public_status = protect_status(status, public_values)
        meta = [{
            "published_at": published_at.replace(tzinfo=None), "suppression_threshold": SUPPRESSION_THRESHOLD,
            "rounding_base": ROUNDING_BASE, "value_decimals": VALUE_DECIMALS,
            "share_decimals": SHARE_DECIMALS, "quality_gate": gate, "override_reason": override_reason,
            "audit_head": audit_head,
        }]
        tables = {"public.indicator_values": public_values, "public.indicator_status": public_status,
                  "public.publication": meta}
        if coverage is not None:
            tables["public.registry_reporting_coverage"] = coverage
        _replace_tables(con, tables)
        counts = {name: len(rows) for name, rows in tables.items()}

    from dashboards.report import render_report

    report = render_report(settings, public_values, public_status, definitions,
                           published_at=published_at, gate=gate)
    result = PublishResult(
        published_at=published_at.isoformat(), gate=gate, override_reason=override_reason,
        tables=counts, cells_suppressed=primary + secondary, cells_suppressed_secondary=secondary,
        report=str(report),
    )
    if coverage is None:
        result.warnings.append(f"{MART_COVERAGE} finnes ikke; public.registry_reporting_coverage ble ikke skrevet")
    if settings.superset is not None:
        from dashboards.superset import refresh_superset

        result.superset = refresh_superset(settings.superset, settings, tables=list(counts))
    return result


def _run_gate(settings: Settings, override_reason: str | None, actor: str | None) -> str:
    """Ask the quality gate; publication never goes ahead without it.

    :func:`quality.gate` raises :class:`PipelineFailure` (exit 1) naming dataset, check and
    failing share when it blocks, validates an override and writes it to the audit log. Any
    other failure to run the gate stops publication too.
    """
    try:
        from quality import gate
    except ImportError as exc:  # a broken install must not publish unchecked data
        raise PipelineFailure(f"kvalitetsporten kan ikke kjøre ({exc}); ingenting ble publisert.") from exc
    decision = gate(settings, override_reason=override_reason, actor=actor)
    return "overridden" if decision.overridden else "passed"


# ---------------------------------------------------------------------------------------------
# inputs


def indicator_definitions() -> dict[str, dict[str, Any]]:
    """indicator_id → its seed row, plus ``datasets`` (from the seed ``indicator_inputs``)."""
    from kernel.codelists import read_seed

    definitions = {row["indicator_id"]: dict(row) for row in read_seed("indicator_definitions")}
    for row in read_seed("indicator_inputs"):
        if row["indicator_id"] in definitions:
            definitions[row["indicator_id"]].setdefault("datasets", set()).add(row["dataset"])
    return definitions


def _fylke_of() -> dict[str, str]:
    from kernel.codelists import read_seed

    return {r["kommunenummer"]: r["fylkesnummer"] for r in read_seed("kommuner_2024")}


# ---------------------------------------------------------------------------------------------
# warehouse I/O


def _exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def _fetch(con, table: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"select * from {table} order by all")  # the same publication from the same marts
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, r)) for r in cursor.fetchall()]


_PUBLICATION_DDL = """(
    published_at TIMESTAMP, suppression_threshold INTEGER, rounding_base INTEGER,
    value_decimals INTEGER, share_decimals INTEGER, quality_gate VARCHAR, override_reason VARCHAR
)"""
_SOURCES = {"public.indicator_values": MART_VALUES, "public.indicator_status": MART_STATUS,
            "public.registry_reporting_coverage": MART_COVERAGE}
_DUCKDB_TYPES = ((bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"))


def _replace_tables(con, tables: Mapping[str, Iterable[dict[str, Any]]]) -> None:
    """Create or replace every table in one transaction (all or nothing).

    Each public table keeps the column types of the mart it comes from, plus any column the
    disclosure step adds (``suppressed`` on the status table).
    """
    import pyarrow as pa

    con.execute("begin transaction")
    try:
        for name, rows in tables.items():
            rows = list(rows)
            if name in _SOURCES:
                con.execute(f"create or replace table {name} as select * from {_SOURCES[name]} limit 0")
            else:
                con.execute(f"create or replace table {name} {_PUBLICATION_DDL}")
            if not rows:
                continue
            existing = {r[0] for r in con.execute(f"describe {name}").fetchall()}
            for column in rows[0]:
                if column not in existing:
                    sample = next((r[column] for r in rows if r.get(column) is not None), None)
                    kind = next((t for py, t in _DUCKDB_TYPES if isinstance(sample, py)), "VARCHAR")
                    con.execute(f'alter table {name} add column "{column}" {kind}')
            columns = list(rows[0])
            arrow = pa.Table.from_pylist(rows)
            con.register("_publish_rows", arrow)
            quoted = ", ".join(f'"{c}"' for c in columns)
            con.execute(f"insert into {name} ({quoted}) select {quoted} from _publish_rows")
            con.unregister("_publish_rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
