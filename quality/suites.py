"""Specs → GX 1.x expectation suites, and the SQL of the query assets they run on.

:func:`build_suite` is the only place that knows GX expectation classes. Each expectation carries
its check's name in ``meta`` so results map back to the spec (:mod:`quality.runner`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quality.specs import Check, DatasetSpec

#: Check kinds and the GX expectation each becomes.
KINDS = {
    "schema_equals": "ExpectColumnDistinctValuesToEqualSet",
    "schema_contains": "ExpectColumnDistinctValuesToContainSet",
    "row_count_at_least": "ExpectTableRowCountToBeBetween",
    "not_null": "ExpectColumnValuesToNotBeNull",
    "in_set": "ExpectColumnValuesToBeInSet",
    "between": "ExpectColumnValuesToBeBetween",
    "unique": "ExpectCompoundColumnsToBeUnique (ExpectColumnValuesToBeUnique for one column)",
    "a_ge_b": "ExpectColumnPairValuesAToBeGreaterThanB",
    "rows": "UnexpectedRowsExpectation",
}
#: Kinds whose GX result is per row (unexpected_count / element_count, with ``mostly``).
MAP_KINDS = frozenset({"not_null", "in_set", "between", "unique", "a_ge_b"})

#: Type families for marts, whose exact float/int widths depend on the dbt adapter.
_TYPE_FAMILY_SQL = """case
    when data_type in ('DOUBLE', 'FLOAT', 'REAL') or data_type like 'DECIMAL%' then 'DOUBLE'
    when data_type in ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT') then 'BIGINT'
    else data_type end"""


def expected_column_types(spec: DatasetSpec) -> list[str]:
    """``column:TYPE`` strings the schema check compares with the warehouse's catalogue."""
    family = {"DOUBLE": "DOUBLE", "FLOAT": "DOUBLE", "INTEGER": "BIGINT", "BIGINT": "BIGINT"}
    if spec.exact_columns:
        return [f"{name}:{type_}" for name, type_ in spec.columns]
    return [f"{name}:{family.get(type_, type_)}" for name, type_ in spec.columns]


def asset_query(spec: DatasetSpec, asset: str) -> str:
    """The SQL of one query asset of ``spec`` (GX query assets must start with ``select``)."""
    if asset == "rows":
        return f"select * from {spec.schema}.{spec.table}"
    if asset == "schema":
        type_sql = "data_type" if spec.exact_columns else _TYPE_FAMILY_SQL
        return (f"select column_name, column_name || ':' || {type_sql} as column_type "
                f"from information_schema.columns "
                f"where table_schema = '{spec.schema}' and table_name = '{spec.table}'")
    if asset == "periods":
        if spec.periods is None:
            raise ValueError(f"{spec.name} has a period check but no PeriodComparison")
        from quality.specs import ROW_COUNT_BAND_MIN_PREVIOUS, kommune_crosswalk_values

        group, period, year = spec.periods.group, spec.periods.period, spec.periods.year
        return f"""select * from (
    with counts as (
        select coalesce(crosswalk.code_2024, {group}) as grp, {period} as period, count(*) as n
        from {spec.schema}.{spec.table}
        left join (values {kommune_crosswalk_values()}) as crosswalk(source_year, source_code, code_2024)
            on crosswalk.source_code = {group} and crosswalk.source_year = {year}
        where {group} is not null and {period} is not null
        group by all
    ),
    latest as (select max(period) as p from counts),
    previous as (select max(period) as p from counts where period < (select p from latest)),
    cur as (select grp, n from counts where period = (select p from latest)),
    prev as (select grp, n from counts where period = (select p from previous))
    select coalesce(cur.grp, prev.grp) as grp,
           (select p from latest) as latest_period, (select p from previous) as previous_period,
           coalesce(cur.n, 0) as n_latest, prev.n as n_previous,
           case when prev.n >= {ROW_COUNT_BAND_MIN_PREVIOUS} then cast(coalesce(cur.n, 0) as double) / prev.n end as ratio
    from cur full outer join prev on cur.grp = prev.grp
) as period_comparison"""
    raise ValueError(f"unknown asset {asset!r}")


def scratch_table(spec: DatasetSpec, asset: str) -> str:
    """The temporary table that holds ``asset`` of ``spec`` for one validation (see :func:`scratch_query`)."""
    return f"quality_scratch_{asset}_{spec.schema}_{spec.table}"


def scratch_query(spec: DatasetSpec, asset: str, checks: Sequence[Check] | None = None,
                  source: str = "rows") -> str | None:
    """What is materialised once per run so GX's several queries on an asset do not rescan the table.

    * ``periods``: the period comparison (a group-by over the whole table, a few hundred rows).
    * ``failing``: ONE scan evaluating every ``rows`` check of ``spec`` — the rows that fail at least
      one, with a boolean column per check (:func:`check_flag`). GX's ``UnexpectedRowsExpectation``
      runs two queries per check (the rows, then their count); on this table both are instant.
      A row whose condition is null fails no check, as in ``where <condition>``. ``checks``
      narrows it to some of the ``rows`` checks, on the asset ``source``.
    """
    if asset == "periods":
        return asset_query(spec, "periods")
    if asset != "failing":
        return None
    checks = [c for c in (spec.checks if checks is None else checks) if c.kind == "rows"]
    if not checks:
        return None
    if all(c.args.get("columns") for c in checks):
        columns = ", ".join(dict.fromkeys(col for c in checks for col in c.args["columns"]))
    else:
        columns = "*"
    flags = ", ".join(f"coalesce({c.args['where']}, false) as {check_flag(c)}" for c in checks)
    failing = " or ".join(f"({c.args['where']})" for c in checks)
    return f"select {columns}, {flags} from ({asset_query(spec, source)}) as batch where {failing}"


def check_flag(check: Check) -> str:
    """The column of the ``failing`` scratch table that is true where ``check`` fails."""
    return f'"_fails_{check.name}"'


def rows_query(check: Check, source: str = "{batch}") -> str:
    """The unexpected-rows query of a ``rows`` check on the ``failing`` scratch table (``{batch}`` is
    GX's placeholder for it)."""
    columns = ", ".join(check.args.get("columns") or ["*"])
    return f"select {columns} from {source} where {check_flag(check)}"


def build_expectation(check: Check, spec: DatasetSpec) -> Any:
    """The GX expectation for one check."""
    import great_expectations.expectations as gxe

    meta = {"check": check.name, "category": check.category, "context": check.context,
            "severity": check.severity, "threshold": check.threshold}
    common: dict[str, Any] = {"meta": meta}
    if check.description:
        common["description"] = check.description[:200]
    a = check.args
    if check.kind in MAP_KINDS and check.threshold:
        common["mostly"] = check.mostly
    match check.kind:
        case "schema_equals":
            return gxe.ExpectColumnDistinctValuesToEqualSet(
                column="column_type", value_set=expected_column_types(spec), **common)
        case "schema_contains":
            return gxe.ExpectColumnDistinctValuesToContainSet(
                column="column_type", value_set=expected_column_types(spec), **common)
        case "row_count_at_least":
            return gxe.ExpectTableRowCountToBeBetween(min_value=a["min_value"], **common)
        case "not_null":
            return gxe.ExpectColumnValuesToNotBeNull(column=a["column"], **common)
        case "in_set":
            return gxe.ExpectColumnValuesToBeInSet(column=a["column"], value_set=list(a["value_set"]), **common)
        case "between":
            return gxe.ExpectColumnValuesToBeBetween(
                column=a["column"], min_value=a.get("min_value"), max_value=a.get("max_value"), **common)
        case "unique" if len(a["columns"]) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=a["columns"][0], **common)
        case "unique":
            return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(a["columns"]), **common)
        case "a_ge_b":
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a["column_a"], column_B=a["column_b"], or_equal=True,
                ignore_row_if="either_value_is_missing", **common)
        case "rows":
            common.pop("mostly", None)
            return gxe.UnexpectedRowsExpectation(unexpected_rows_query=rows_query(check), **common)
    raise ValueError(f"check {check.name}: unknown kind {check.kind!r}; known: {', '.join(KINDS)}")


def build_suite(spec: DatasetSpec, asset: str = "rows", checks: Sequence[Check] | None = None,
                name: str | None = None) -> Any:
    """The GX expectation suite of ``spec``'s checks on one asset (``rows``, ``schema``, ``periods``),
    or of just ``checks``."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name or f"{spec.name}:{asset}")
    for check in spec.checks if checks is None else checks:
        if check.asset == asset:
            suite.add_expectation(build_expectation(check, spec))
    return suite
