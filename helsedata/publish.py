"""Publication step: quality gate → disclosure control → ``public.*`` → HTML report → Superset.

``publish(settings)`` is what ``helsedata publish`` and the Airflow DAG run. It

1. asks the quality gate (:func:`quality.gate`, when the quality package provides it) whether
   the marts may be published; a failing critical check raises
   :class:`~kernel.errors.PipelineFailure` unless an override with a reason is given;
2. reads ``marts.mart_indicator_values``, ``marts.mart_indicator_status`` and
   ``marts.mart_registry_reporting_coverage``;
3. applies disclosure control (:mod:`privacy.disclosure`) to every indicator about persons;
4. replaces ``public.indicator_values``, ``public.indicator_status``,
   ``public.registry_reporting_coverage`` and ``public.publication`` in one transaction, so a
   reader sees either the old or the new publication, never a mix;
5. renders ``$HELSEDATA_HOME/reports/indicators.html`` and refreshes Superset when
   ``HELSEDATA_SUPERSET_URL`` is set.

The rules are documented in ``docs/publishing.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kernel.config import Settings
from kernel.errors import ConfigurationError, PipelineFailure
from privacy.disclosure import (
    ROUNDING_BASE,
    SUPPRESSION_THRESHOLD,
    VALUE_DECIMALS,
    DisclosureControlConfig,
    protect_count,
    protect_table,
    round_value,
)

#: Input datasets whose rows are not persons: one reporting unit's deliveries to a registry in a
#: month (organisations and kommuner), and data-access applications. Indicators computed only
#: from these are published without suppression or rounding (docs/publishing.md).
DATASETS_NOT_ABOUT_PERSONS = frozenset({"registry_reporting", "room_applications", "reported_figures"})
#: Indicator units that count things other than persons (kommuner, registries, applications,
#: days). Such indicators are published exactly.
UNITS_NOT_ABOUT_PERSONS = frozenset({"kommuner", "registre", "søknader", "dager"})
#: Shares (unit ``andel``) are fractions 0–1; 3 decimals is 0.1 percentage point.
SHARE_DECIMALS = 3

MART_VALUES = "marts.mart_indicator_values"
MART_STATUS = "marts.mart_indicator_status"
MART_COVERAGE = "marts.mart_registry_reporting_coverage"

PUBLIC_TABLES = ("public.indicator_values", "public.indicator_status",
                 "public.registry_reporting_coverage", "public.publication")

NATIONAL = "nasjonal"


@dataclass
class PublishResult:
    """What one publication did (printed by ``helsedata publish --json``)."""

    published_at: str
    gate: str  # "passed", "overridden" or "unavailable"
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


def publish(settings: Settings, override_reason: str | None = None, actor: str | None = None,
            environ: Mapping[str, str] | None = None) -> PublishResult:
    """Publish the disclosure-controlled indicator tables, the HTML report and Superset."""
    environ = os.environ if environ is None else environ
    if override_reason is not None and not override_reason.strip():
        raise ConfigurationError("An override of the quality gate needs a non-empty reason.")
    if not settings.warehouse.exists():
        raise ConfigurationError(
            f"No warehouse at {settings.warehouse}; run 'helsedata build' (or 'helsedata run') first."
        )
    gate = _run_gate(settings, override_reason, actor)

    from kernel.warehouse import writer

    published_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with writer(settings) as con:
        missing = [t for t in (MART_VALUES, MART_STATUS) if not _exists(con, t)]
        if missing:
            raise PipelineFailure(f"missing mart(s) {', '.join(missing)}; run 'helsedata build' first.")
        values = _fetch(con, MART_VALUES)
        status = _fetch(con, MART_STATUS)
        coverage = _fetch(con, MART_COVERAGE) if _exists(con, MART_COVERAGE) else None
        definitions = indicator_definitions()

        public_values, primary, secondary = protect_indicator_values(values, definitions)
        public_status = protect_status(status, public_values)
        meta = [{
            "published_at": published_at.replace(tzinfo=None), "suppression_threshold": SUPPRESSION_THRESHOLD,
            "rounding_base": ROUNDING_BASE, "value_decimals": VALUE_DECIMALS,
            "share_decimals": SHARE_DECIMALS, "quality_gate": gate, "override_reason": override_reason,
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
        result.warnings.append(f"{MART_COVERAGE} does not exist; public.registry_reporting_coverage not written")
    from dashboards.superset import SupersetConfig, refresh_superset

    superset_config = SupersetConfig.from_environ(environ)
    if superset_config is not None:
        result.superset = refresh_superset(superset_config, settings, tables=list(counts))
    return result


def _run_gate(settings: Settings, override_reason: str | None, actor: str | None) -> str:
    """Call ``quality.gate`` when the quality package provides it; return how it ended."""
    import quality

    gate = getattr(quality, "gate", None)
    if gate is None:
        return "unavailable"
    # Raises PipelineFailure (exit 1) naming dataset, check and failing share when it blocks;
    # an override is validated and written to the audit log by the gate itself.
    decision = gate(settings, override_reason=override_reason, actor=actor)
    return "overridden" if getattr(decision, "overridden", override_reason is not None) else "passed"


# ---------------------------------------------------------------------------------------------
# disclosure control of the marts


def indicator_definitions() -> dict[str, dict[str, Any]]:
    """indicator_id → its seed row, plus ``datasets`` (from the seed ``indicator_inputs``)."""
    from kernel.codelists import read_seed

    definitions = {row["indicator_id"]: dict(row) for row in read_seed("indicator_definitions")}
    try:
        inputs = read_seed("indicator_inputs")
    except LookupError:
        inputs = ()
    for row in inputs:
        if row["indicator_id"] in definitions:
            definitions[row["indicator_id"]].setdefault("datasets", set()).add(row["dataset"])
    return definitions


def is_about_persons(definition: Mapping[str, Any] | None) -> bool:
    """Whether an indicator's counts are counts of persons (or their contacts) and need control.

    Unknown indicators are protected: turning protection off has to be written down.

    >>> is_about_persons({"unit": "personer", "datasets": {"vft_mottakere"}})
    True
    >>> is_about_persons({"unit": "andel", "datasets": {"registry_reporting"}})
    False
    >>> is_about_persons(None)
    True
    """
    if definition is None:
        return True
    if definition.get("unit") in UNITS_NOT_ABOUT_PERSONS:
        return False
    datasets = definition.get("datasets") or set()
    return not (datasets and set(datasets) <= DATASETS_NOT_ABOUT_PERSONS)


def _as_count(value: Any, what: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise PipelineFailure(f"{what} is {value}, not a whole count; disclosure control needs counts.")
        value = int(value)
    if value < 0:
        raise PipelineFailure(f"{what} is negative ({value}).")
    return int(value)


def _fylke_of() -> dict[str, str]:
    from kernel.codelists import read_seed

    return {r["kommunenummer"]: r["fylkesnummer"] for r in read_seed("kommuner_2024")}


def protect_indicator_values(
    rows: list[dict[str, Any]], definitions: Mapping[str, Mapping[str, Any]],
    config: DisclosureControlConfig = DisclosureControlConfig(),
) -> tuple[list[dict[str, Any]], int, int]:
    """Disclosure-controlled copies of ``mart_indicator_values`` rows.

    Each (indicator, breakdown, year) is one table over two dimensions: geography
    (kommune → fylke → nasjonal) and period (months → their year, when an indicator has both;
    a year alone otherwise). What the national total holds beyond its fylker (persons in an
    unknown kommune, code 9999) is a hidden cell of the table: it is never published, but an
    attacker can compute it, so it is protected like any other cell.

    Returns the rows, the number of primary and of secondary suppressed published cells.
    """
    fylke_of = _fylke_of()
    breakdown_cols = [c for c in ("breakdown", "breakdown_code") if rows and c in rows[0]]
    tables: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = (row["indicator_id"], str(row["period"])[:4]) + tuple(row[c] for c in breakdown_cols)
        tables[key].append(row)

    out: list[dict[str, Any]] = []
    n_primary = n_secondary = 0
    for key, table_rows in tables.items():
        definition = definitions.get(key[0])
        protected = config.enabled and is_about_persons(definition)
        decimals = SHARE_DECIMALS if (definition or {}).get("unit") == "andel" else config.value_decimals
        suppressed: frozenset = frozenset()
        if protected:
            share = (definition or {}).get("unit") == "andel"
            primary, secondary = _protect_table_rows(table_rows, fylke_of, config, share=share)
            suppressed = primary | secondary
            n_primary += len(primary)
            n_secondary += len(secondary)
        for row in table_rows:
            hidden = (row["geo_code"], str(row["period"])) in suppressed
            out.append(_publish_row(row, protected, hidden, decimals, config))
    out.sort(key=lambda r: (r["indicator_id"], str(r["period"]), _GEO_ORDER.get(r["geo_level"], 9),
                            str(r["geo_code"]), *(str(r.get(c)) for c in breakdown_cols)))
    return out, n_primary, n_secondary


_GEO_ORDER = {"nasjonal": 0, "fylke": 1, "kommune": 2}
_REST = "__rest__"


def _protect_table_rows(rows, fylke_of, config, share: bool = False) -> tuple[frozenset, frozenset]:
    """Suppressed (geo_code, period) pairs of one (indicator, breakdown, year) table.

    For a share (numerator a subset of the denominator) the complement, denominator minus
    numerator, is a count readers can compute too (e.g. consultations *not* given digitally),
    so it is protected as a third count column.
    """
    cells: dict[tuple, list[int]] = {}
    geo: dict[str, str | None] = {}
    national = None
    force = []
    for row in rows:
        counts = [c for c in (_as_count(row.get("numerator"), f"numerator of {row['indicator_id']}"),
                              _as_count(row.get("denominator"), f"denominator of {row['indicator_id']}"))
                  if c is not None]
        if share and len(counts) == 2 and counts[1] >= counts[0]:
            counts.append(counts[1] - counts[0])
        key = (row["geo_code"], str(row["period"]))
        if row["geo_level"] == NATIONAL:
            national = row["geo_code"]
        cells[key] = counts
        if row.get("suppressed") is True:
            force.append(key)
    width = max((len(c) for c in cells.values()), default=0)
    if width == 0:
        return frozenset(), frozenset()
    for row in rows:
        code = row["geo_code"]
        if row["geo_level"] == "fylke":
            geo[code] = national
        elif row["geo_level"] == "kommune":
            geo[code] = fylke_of.get(code, code[:2])
    # rows without a count (e.g. a value with no numerator) have nothing to protect
    cells = {k: (v + [0] * (width - len(v))) for k, v in cells.items() if v}
    periods = {p for _, p in cells}
    # months (YYYY-MM) add up to their year (YYYY) when both are published
    period_parent = {p: p[:4] for p in periods if p != p[:4] and p[:4] in periods}
    if national is not None:
        for period in periods:
            if (national, period) not in cells:
                continue
            fylker = [k for k in cells if k[1] == period and geo.get(k[0]) == national]
            rest = [cells[(national, period)][i] - sum(cells[f][i] for f in fylker) for i in range(width)]
            if fylker and all(r >= 0 for r in rest) and any(r > 0 for r in rest):
                cells[(_REST, period)] = rest
        geo[_REST] = national
    protection = protect_table(cells, [geo, period_parent], threshold=config.threshold, force=force)
    published = lambda keys: frozenset(k for k in keys if k[0] != _REST)  # noqa: E731
    return published(protection.primary), published(protection.secondary)


def _publish_row(row, protected: bool, suppressed: bool, decimals: int, config) -> dict[str, Any]:
    out = dict(row)
    value = row.get("value")
    if value is not None and isinstance(value, float) and math.isnan(value):
        value = None
    if not protected:
        out["suppressed"] = False
        out["value"] = None if value is None else round_value(float(value), decimals)
        return out
    out["suppressed"] = suppressed
    if suppressed:
        out["numerator"] = out["denominator"] = out["value"] = None
        return out
    numerator = _as_count(row.get("numerator"), "numerator")
    denominator = _as_count(row.get("denominator"), "denominator")
    out["numerator"] = None if numerator is None else float(protect_count(
        numerator, threshold=config.threshold, base=config.rounding_base))
    out["denominator"] = None if denominator is None else float(protect_count(
        denominator, threshold=config.threshold, base=config.rounding_base))
    if value is None:
        out["value"] = None
    elif denominator is None and numerator is not None and float(value) == numerator:
        out["value"] = out["numerator"]  # a count: publish it rounded, like the numerator
    else:
        out["value"] = round_value(float(value), decimals)  # from unrounded counts (dbt)
    return out


#: (period column, value column) pairs of the status mart that repeat a national indicator value.
STATUS_VALUE_COLUMNS = (("latest_year", "latest_value"), ("first_year", "first_value"))
#: Status columns computed from those values; withheld when a value they use is suppressed.
STATUS_DERIVED_COLUMNS = ("trend_per_year", "projected_value", "relative_gap", "status")


def protect_status(status_rows: list[dict[str, Any]],
                   public_values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Status rows whose values are the published (disclosure-controlled) national values.

    The status mart repeats the exact latest and first national value. Publishing those would
    bypass rounding and, for a suppressed cell, suppression; so they are replaced by the
    published values, and what is computed from a suppressed value (trend, projection, gap,
    traffic light) is withheld.
    """
    national = {(r["indicator_id"], str(r.get("breakdown_code") or "alle"), str(r["period"])): r
                for r in public_values if r["geo_level"] == NATIONAL}
    out = []
    for row in status_rows:
        row = dict(row)
        hidden = False
        for period_col, value_col in STATUS_VALUE_COLUMNS:
            if period_col not in row or value_col not in row or row[period_col] is None:
                continue
            match = national.get((row["indicator_id"], str(row.get("breakdown_code") or "alle"),
                                  str(row[period_col])))
            if match is None:
                row[value_col] = None  # nothing published to repeat
                continue
            row[value_col] = match["value"]
            hidden = hidden or bool(match["suppressed"])
        if hidden:
            for col in STATUS_DERIVED_COLUMNS:
                if col in row:
                    row[col] = None
            if "status_reason" in row:
                row["status_reason"] = "Value suppressed for confidentiality"
        row["suppressed"] = hidden
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------
# warehouse I/O


def _exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def _fetch(con, table: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"select * from {table}")
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
