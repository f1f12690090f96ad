"""Small, clean warehouses for tests and benchmarks, built with DuckDB SQL only.

:func:`build_warehouse` creates every raw table with :func:`kernel.sources.raw_table_ddl` and the
three marts with the columns their specs declare, filled with rows that pass every check. Tests then
break one thing at a time (:data:`DEFECTS`) and expect exactly the matching check to fail.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kernel.config import Settings
from kernel.sources import SOURCES, raw_table_ddl
from kernel.warehouse import writer
from quality.specs import MART_SPECS

#: Kommuner valid in both 2023 and 2024 (no reform in between).
KOMMUNER = ("0301", "1103", "4601", "5001", "1804", "4204")
YEARS = (2023, 2024)

#: One defect per Kahn category and check kind: (dataset, SQL that breaks it, check that must fail).
DEFECTS = {
    "conformance/codelist": ("raw.kpr_kontakter", "update raw.kpr_kontakter set kontaktform = 'brevdue' where _line_number % 10 = 0",
                             "kontaktform_in_codelist"),
    "conformance/kommunenummer": ("raw.vft_mottakere", "update raw.vft_mottakere set kommunenummer = '1601' where _line_number < 5",
                                  "kommunenummer_valid_on_date"),
    "conformance/key": ("raw.kpr_tjenester", "update raw.kpr_tjenester set _line_number = 2 where _line_number < 6",
                        "lineage_key_unique"),
    "conformance/schema": ("raw.registry_reporting", "alter table raw.registry_reporting drop column mottatt_innen_frist",
                           "columns_and_types"),
    "completeness/null": ("raw.vft_mottakere", "update raw.vft_mottakere set person_id = null where _line_number = 7",
                          "person_id_not_null"),
    "plausibility/future_date": ("raw.kpr_kontakter", "update raw.kpr_kontakter set kontaktdato = current_date + 30 where _line_number = 9",
                                 "kontaktdato_plausible"),
    "plausibility/period_order": ("raw.kpr_tjenester", "update raw.kpr_tjenester set sluttdato = startdato - 1 where _line_number = 3",
                                  "sluttdato_not_before_startdato"),
    "plausibility/share_domain": ("marts.mart_indicator_values", "update marts.mart_indicator_values set value = 1.7 where unit = 'andel' and geo_code = '0301'",
                                  "share_values_within_0_1"),
    "plausibility/numerator_denominator": ("marts.mart_indicator_values",
                                           "update marts.mart_indicator_values set numerator = denominator + 5 where unit = 'andel' and geo_code = '1103'",
                                           "numerator_not_above_denominator"),
    "plausibility/coverage": ("marts.mart_registry_reporting_coverage",
                              "update marts.mart_registry_reporting_coverage set coverage = 0.5 where rapporteringsenhet = '0301'",
                              "coverage_consistent_with_components"),
    "plausibility/row_count_band": ("raw.kpr_kontakter",
                                    "delete from raw.kpr_kontakter where year(kontaktdato) = 2024 and kommunenummer in ('0301', '1103')",
                                    "rows_per_kommunenummer_within_band_of_previous_period"),
}


def build_warehouse(settings: Settings, rows_per_kommune_year: int = 20, loaded_at: dt.datetime | None = None) -> Path:
    """A warehouse whose raw tables and marts pass every critical and warning check."""
    loaded_at = loaded_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    n = rows_per_kommune_year
    kommuner = "[" + ", ".join(f"'{k}'" for k in KOMMUNER) + "]"
    with writer(settings) as con:
        for source in SOURCES.values():
            con.execute(f"drop table if exists {source.raw_table}")
            con.execute(raw_table_ddl(source))
        con.execute("create schema if not exists marts")
        base = f"""select i, {kommuner}[1 + i % {len(KOMMUNER)}] as k, {YEARS[0]} + (i // {len(KOMMUNER)}) % 2 as y,
                   sha256(cast(i as varchar)) as pid, repeat('a', 64) as sha, i + 2 as line,
                   timestamp '{loaded_at:%Y-%m-%d %H:%M:%S}' as loaded
                   from range({n * len(KOMMUNER) * len(YEARS)}) as t(i)"""
        con.execute(f"""insert into raw.kpr_kontakter select pid, 1940 + i % 60, case when i % 2 = 0 then 'K' else 'M' end, k,
            make_date(y, 1 + i % 12, 1 + i % 28), ['fastlege', 'legevakt'][1 + i % 2], ['oppmote', 'video'][1 + i % 2],
            sha, line, loaded from ({base})""")
        con.execute(f"""insert into raw.kpr_tjenester select pid, 1930 + i % 60, case when i % 2 = 0 then 'K' else 'M' end, k,
            [1, 2, 3][1 + i % 3], make_date(y, 1 + i % 12, 1 + i % 28),
            case when i % 3 = 0 then null else make_date(y, 1 + i % 12, 1 + i % 28) + 10 end,
            sha, line, loaded from ({base})""")
        con.execute(f"""insert into raw.vft_mottakere select pid, 1930 + i % 60, case when i % 2 = 0 then 'K' else 'M' end, k,
            [6, 26, 27, 28][1 + i % 4], make_date(y, 1 + i % 12, 1 + i % 28),
            case when i % 3 = 0 then null else make_date(y, 1 + i % 12, 1 + i % 28) + 100 end, i % 2 = 0,
            sha, line, loaded from ({base})""")
        con.execute(f"""insert into raw.registry_reporting
            select 'KPR', k, '2024-' || lpad(cast(11 + m as varchar), 2, '0'), 100, 90 + i % 10, 80, 70,
                   repeat('b', 64), row_number() over () + 1, timestamp '{loaded_at:%Y-%m-%d %H:%M:%S}'
            from (select unnest({kommuner}) as k, range as i from range(1)) cross join range(2) as mm(m)""")
        _build_marts(con)
        _build_analysis(con)
    return settings.warehouse


def _build_analysis(con) -> None:
    """``analysis.person_aar`` as dbt builds it from the raw tables above: one row per person and year."""
    con.execute("create schema if not exists analysis")
    con.execute("drop table if exists analysis.person_aar")
    con.execute("""create table analysis.person_aar as
        select person_id, year(kontaktdato) as aar, any_value(kommunenummer) as kommunenummer,
               cast(null as varchar) as fylke, any_value(kjonn) as kjonn, any_value(fodselsaar) as fodselsaar,
               false as has_vft, cast(0 as bigint) as n_vft_teknologier, cast(0 as bigint) as n_tjenester,
               count(*) as n_kontakter, count(*) filter (where kontaktform = 'video') as n_kontakter_digitale
        from raw.kpr_kontakter group by person_id, year(kontaktdato)""")


def _build_marts(con) -> None:
    for spec in MART_SPECS:
        con.execute(f"drop table if exists {spec.name}")
    con.execute("""create table marts.mart_indicator_values as
        select 'andel_digitale_konsultasjoner' as indicator_id, '2024' as period, 'year' as period_type,
               date '2024-01-01' as period_start, 'kommune' as geo_level, k as geo_code, 'total' as breakdown,
               'alle' as breakdown_code, 10.0 as numerator, 40.0 as denominator, 0.25 as value,
               'andel' as unit, 'silver' as input_quality_label, false as suppressed
        from (select unnest(['0301', '1103', '4601']) as k)
        union all
        select 'vft_mottakere', '2024', 'year', date '2024-01-01', 'nasjonal', 'NO', 'total', 'alle',
               133731.0, null, 133731.0, 'personer', 'gold', false""")
    con.execute("""create table marts.mart_indicator_status as
        select 'andel_digitale_konsultasjoner' as indicator_id, 'alle' as breakdown_code, 0.25 as latest_value,
               0.3 as target, 2026 as target_year, 'yellow' as status
        union all select 'vft_mottakere', 'alle', 133731.0, null, null, 'no_target'""")
    con.execute("""create table marts.mart_registry_reporting_coverage as
        select 'KPR' as register, k as rapporteringsenhet, '2024-12' as periode, cast(100 as bigint) as forventet,
               cast(95 as bigint) as mottatt, cast(90 as bigint) as mottatt_digitalt,
               cast(80 as bigint) as mottatt_innen_frist, 0.95 as coverage, 90 / 95 as digital_share,
               80 / 95 as on_time_share, 0.95 as coverage_rolling_12m, 12 as months_in_rolling_window
        from (select unnest(['0301', '1103']) as k)""")


def full_manifest(settings: Settings, path: Path) -> Path:
    """The project's real manifest (``dbt parse``: real lineage) with every dataset and column of
    the warehouse documented, for label tests that need full documentation."""
    from kernel.warehouse import read_only
    from quality.catalogue import parsed_project_manifest

    manifest = parsed_project_manifest()
    with read_only(settings) as con:
        rows = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                           "where table_schema in ('raw', 'marts')").fetchall()
    by_relation = {f"{n.get('schema')}.{n.get('identifier') or n.get('alias') or n.get('name')}": n
                   for n in (*manifest["nodes"].values(), *manifest["sources"].values())}
    for schema, table, column in rows:
        kind = "source" if schema == "raw" else "model"
        node = by_relation.get(f"{schema}.{table}")
        if node is None:  # a table dbt does not know (e.g. built by a test): add it
            node = {"resource_type": kind, "schema": schema, "name": table, "columns": {}}
            manifest["sources" if kind == "source" else "nodes"][f"{kind}.helsedata.{schema}.{table}"] = node
            by_relation[f"{schema}.{table}"] = node
        node["description"] = f"One row per {table}."
        node.setdefault("columns", {})[column] = {"name": column, "description": f"The {column}."}
    path.write_text(json.dumps(manifest))
    return path


# --------------------------------------------------------------------------- scale

def make_big_table(path: Path, rows: int) -> None:
    """``raw.big`` with ``rows`` rows, generated by DuckDB ``range()`` with known defects:
    ``v`` null in 10 % of rows, ``k`` = 6 (not allowed) in every 7th row, ``pair`` duplicated in every row."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists raw")
        con.execute("drop table if exists raw.big")
        con.execute(f"""create table raw.big as
            select range as id,
                   case when range % 10 = 0 then null else 'x' end as v,
                   range % 7 as k,
                   range // 2 as pair
            from range({rows})""")


def big_spec(rows: int):
    """Checks on :func:`make_big_table` whose unexpected counts are known exactly."""
    from quality.specs import Check, DatasetSpec

    return DatasetSpec(
        name="raw.big", description="One row per number.",
        columns=(("id", "BIGINT"), ("v", "VARCHAR"), ("k", "BIGINT"), ("pair", "BIGINT")),
        example_columns=("id",),
        checks=(
            Check("columns", "schema_equals", "conformance", "verification", asset="schema"),
            Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1}),
            Check("v_mostly_filled", "not_null", "completeness", "verification", threshold=15.0, args={"column": "v"}),
            Check("v_filled", "not_null", "completeness", "verification", args={"column": "v"}),
            Check("k_in_set", "in_set", "conformance", "validation", args={"column": "k", "value_set": [0, 1, 2, 3, 4, 5]}),
            Check("id_unique", "unique", "conformance", "verification", args={"columns": ["id"]}),
            Check("pair_unique", "unique", "conformance", "verification", args={"columns": ["pair"]}),
            Check("id_below_90_percent", "between", "plausibility", "verification",
                  args={"column": "id", "min_value": 0, "max_value": rows * 9 // 10 - 1}),
            Check("k_is_6", "rows", "plausibility", "verification", args={"where": "k = 6", "columns": ["id", "k"]}),
        ),
    )


def big_expected(rows: int) -> dict[str, tuple[int, bool]]:
    """check → (unexpected_count, passed) on :func:`make_big_table`."""
    sevens = len(range(6, rows, 7))
    return {"v_mostly_filled": (rows // 10, True), "v_filled": (rows // 10, False), "k_in_set": (sevens, False),
            "id_unique": (0, True), "pair_unique": (rows, False), "id_below_90_percent": (rows // 10, False),
            "k_is_6": (sevens, False)}
