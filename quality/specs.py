"""What is checked: one spec per dataset, as data.

A :class:`Check` says *what* must hold, in the vocabulary of the Kahn framework that OHDSI's Data
Quality Dashboard uses (category: conformance, completeness, plausibility; context: verification
— against the dataset's own rules — or validation — against outside knowledge such as code lists,
the kommune calendar or the previous period), how bad a failure is (``critical`` blocks
publication, ``warning`` only lowers the label) and how many rows may violate it (``threshold``, in
percent of rows, as DQD does; GX's ``mostly = 1 - threshold/100``).

Raw datasets are derived from :mod:`kernel.sources` alone (columns, types, required columns, code
lists, business key, period, reporting unit and count rules are declared there once), so a new
source gets its spec without a line here. Marts are declared here as literal data, only with the
checks GX owns (dbt's tests own the rest; see the marts section). Nothing else in the package names
a column: :func:`quality.suites.build_suite` turns any spec into a GX suite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kernel import codelists
from kernel.sources import DUCKDB_TYPES, MONTH_PATTERN, SOURCES, Period, Source, raw_columns

CATEGORIES = ("conformance", "completeness", "plausibility")
CONTEXTS = ("verification", "validation")
SEVERITIES = ("critical", "warning")

#: Earliest plausible date or birth year in any dataset.
EARLIEST_PLAUSIBLE_DATE = dt.date(1900, 1, 1)
#: A kommune's row count in the latest period must lie within this factor of the previous period.
ROW_COUNT_BAND = (0.5, 2.0)
#: Groups with fewer rows than this in the previous period are not compared (small numbers are noise).
ROW_COUNT_BAND_MIN_PREVIOUS = 20
#: Share of kommuner (percent) allowed outside :data:`ROW_COUNT_BAND` before the check fails.
ROW_COUNT_BAND_THRESHOLD = 10.0
#: Absolute tolerance for recomputed ratios (coverage = mottatt / forventet).
RATIO_TOLERANCE = 1e-9

#: Assets a check can run on: the dataset's rows, its column catalogue, or its period comparison.
ASSETS = ("rows", "schema", "periods")


@dataclass(frozen=True)
class Check:
    """One expectation on one dataset, with its Kahn classification and threshold.

    ``kind`` is one of :data:`quality.suites.KINDS`; ``args`` are that kind's arguments.
    """

    name: str
    kind: str
    category: str
    context: str
    severity: str = "critical"
    threshold: float = 0.0  # percent of rows allowed to violate
    args: dict[str, Any] = field(default_factory=dict)
    asset: str = "rows"
    description: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"check {self.name}: category must be one of {CATEGORIES}, not {self.category!r}")
        if self.context not in CONTEXTS:
            raise ValueError(f"check {self.name}: context must be one of {CONTEXTS}, not {self.context!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.name}: severity must be one of {SEVERITIES}, not {self.severity!r}")
        if not 0.0 <= self.threshold <= 100.0:
            raise ValueError(f"check {self.name}: threshold is a percentage of rows, 0 to 100; got {self.threshold}")
        if self.asset not in ASSETS:
            raise ValueError(f"check {self.name}: asset must be one of {ASSETS}, not {self.asset!r}")

    @property
    def mostly(self) -> float:
        """GX's ``mostly``: the share of rows that must pass."""
        return round(1.0 - self.threshold / 100.0, 10)


@dataclass(frozen=True)
class PeriodComparison:
    """Per-group row counts of the latest period against the previous one (a query asset).

    Kommunenummer are mapped to 2024 codes first (``kommune_crosswalk_to_2024``), so a reform
    between the two periods is not mistaken for a kommune that stopped reporting.
    """

    group: str  # column, e.g. kommunenummer
    period: str  # SQL expression giving the period of a row, e.g. year(kontaktdato)
    year: str  # SQL expression giving the row's year, for the crosswalk


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the table, schema-qualified: raw.vft_mottakere, marts.mart_indicator_values
    description: str
    checks: tuple[Check, ...]
    #: (column, DuckDB type) of the table; exact for raw tables, required subset for marts.
    columns: tuple[tuple[str, str], ...] = ()
    exact_columns: bool = True
    periods: PeriodComparison | None = None
    #: Columns that identify a row in failing-row examples (never identity numbers).
    example_columns: tuple[str, ...] = ()
    #: Column holding the newest data date (timeliness), if any.
    data_date: str | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


# --------------------------------------------------------------------------- raw datasets

def period_comparison(source: Source) -> PeriodComparison | None:
    """Row counts per reporting unit, latest period against the previous: by month for a monthly
    source, by year for one dated by day."""
    if source.period is None:
        return None
    period = source.period
    by = period.column if period.grain == "month" else period.year_sql()
    return PeriodComparison(source.unit_column, by, period.year_sql())


def _codelist_values(column_type: str, seed_column: str, where: str | None) -> list:
    seed, column = seed_column.split(".")
    values = codelists.codes(seed, column, where=where)
    return sorted(int(v) for v in values) if column_type == "integer" else sorted(values)


def raw_spec(source: Source, today: dt.date | None = None) -> DatasetSpec:
    """The spec of ``raw.<source>``, derived from the source's declaration."""
    today = today or dt.date.today()
    columns = raw_columns(source)
    names = {c.name for c in columns}
    checks: list[Check] = [
        Check("columns_and_types", "schema_equals", "conformance", "verification",
              description="The table has exactly the declared columns with the declared types.", asset="schema"),
        Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1},
              description="The table has rows."),
        Check("lineage_key_unique", "unique", "conformance", "verification",
              args={"columns": ["_file_sha256", "_line_number"]},
              description="Each extract line is loaded once."),
    ]
    for c in columns:
        if c.required:
            checks.append(Check(f"{c.name}_not_null", "not_null", "completeness", "verification",
                                args={"column": c.name}, description=f"{c.name} is always filled."))
        if c.codelist:
            checks.append(Check(f"{c.name}_in_codelist", "in_set", "conformance", "validation",
                                args={"column": c.name,
                                      "value_set": _codelist_values(c.type, c.codelist, c.codelist_where)},
                                description=f"{c.name} belongs to code list {c.codelist}"
                                            + (f" where {c.codelist_where}" if c.codelist_where else "") + "."))
    if "person_id" in names:
        checks += [
            Check("person_id_is_pseudonym", "rows", "conformance", "verification",
                  args={"where": "not regexp_full_match(person_id, '[0-9a-f]{64}')", "columns": ["person_id"]},
                  description="person_id is a 64-hex-character HMAC-SHA-256 pseudonym."),
            Check("kjonn_in_set", "in_set", "conformance", "verification",
                  args={"column": "kjonn", "value_set": ["K", "M"]}, description="kjonn is M or K."),
            Check("fodselsaar_plausible", "between", "plausibility", "verification",
                  args={"column": "fodselsaar", "min_value": EARLIEST_PLAUSIBLE_DATE.year, "max_value": today.year},
                  description=f"Birth year between {EARLIEST_PLAUSIBLE_DATE.year} and this year."),
        ]
    if source.kommune_date_column:
        checks.append(Check(
            "kommunenummer_valid_on_date", "rows", "conformance", "validation",
            args={"where": f"not {kommune_valid_sql('kommunenummer', source.kommune_date_column)}",
                  "columns": ["kommunenummer", source.kommune_date_column]},
            description=f"kommunenummer was a valid code (SSB Klass 131) on {source.kommune_date_column}."))
    for column in source.date_columns:
        checks.append(Check(f"{column}_plausible", "between", "plausibility", "verification",
                            args={"column": column, "min_value": EARLIEST_PLAUSIBLE_DATE, "max_value": today},
                            description=f"{column} is not in the future and not before {EARLIEST_PLAUSIBLE_DATE}."))
    if source.period_columns:
        start, end = source.period_columns
        checks.append(Check(f"{end}_not_before_{start}", "a_ge_b", "plausibility", "verification",
                            args={"column_a": end, "column_b": start},
                            description=f"{end} is on or after {start} (when filled)."))
    if key := source.business_key:
        checks.append(Check("business_key_unique", "unique", "conformance", "verification", severity="warning",
                            args={"columns": list(key)}, description=f"One row per {', '.join(key)}."))
    checks += _count_checks(source)
    if source.period and source.period.grain == "month":
        checks += _month_checks(source.period.column, today)
    checks += _count_rule_checks(source)
    if source.unit_may_be_orgnr and source.period:
        checks.append(_unit_check(source, source.period))
    periods = period_comparison(source)
    if periods:
        low, high = ROW_COUNT_BAND
        checks.append(Check(
            f"rows_per_{periods.group}_within_band_of_previous_period", "between", "plausibility", "validation",
            severity="warning", threshold=ROW_COUNT_BAND_THRESHOLD, asset="periods",
            args={"column": "ratio", "min_value": low, "max_value": high},
            description=f"Each {periods.group}'s row count in the latest period is {low}–{high} times "
                        f"the previous period's (at most {ROW_COUNT_BAND_THRESHOLD:g} % of {periods.group}s outside; "
                        f"groups under {ROW_COUNT_BAND_MIN_PREVIOUS} rows before are not compared)."))
    return DatasetSpec(
        name=source.raw_table, description=source.description, checks=tuple(checks),
        columns=tuple((c.name, DUCKDB_TYPES[c.type]) for c in columns), exact_columns=True,
        periods=periods,
        example_columns=tuple(n for n in ("_file_sha256", "_line_number") if n in names),
        data_date=source.period.column if source.period else None,
    )


def _count_checks(source: Source) -> list[Check]:
    return [Check(f"{c}_not_negative", "between", "plausibility", "verification",
                  args={"column": c, "min_value": 0}, description=f"{c} is not negative.")
            for c in source.count_columns]


def _month_checks(column: str, today: dt.date) -> list[Check]:
    """A monthly period column holds a month (:data:`kernel.sources.MONTH_PATTERN`) in a plausible range."""
    return [
        Check(f"{column}_is_month", "rows", "conformance", "verification",
              args={"where": f"not regexp_matches({column}, '{MONTH_PATTERN}')", "columns": [column]},
              description=f"{column} is a month, YYYY-MM."),
        Check(f"{column}_plausible", "rows", "plausibility", "verification",
              args={"where": f"{column} < '{EARLIEST_PLAUSIBLE_DATE:%Y-%m}' or {column} > '{today:%Y-%m}'",
                    "columns": [column]},
              description=f"{column} is not in the future and not before {EARLIEST_PLAUSIBLE_DATE.year}."),
    ]


def _count_rule_checks(source: Source) -> list[Check]:
    return [Check(f"{r.part}_within_{r.whole}", "a_ge_b", "plausibility", "verification",
                  args={"column_a": r.whole, "column_b": r.part}, description=f"{r.part} ≤ {r.whole}.")
            for r in source.count_rules]


def _unit_check(source: Source, period: Period) -> Check:
    """A unit that may be an organisation number: a kommunenummer valid in the period, or 9 digits
    (the mod-11 check digit is ingestion's rule)."""
    unit = source.unit_column
    return Check(
        f"{unit}_valid", "rows", "conformance", "validation",
        args={"where": f"not (regexp_full_match({unit}, '[0-9]{{9}}') or "
                       + kommune_valid_sql(unit, period.first_day_sql()) + ")",
              "columns": list(source.business_key or (unit, period.column))},
        description=f"{unit} is a kommunenummer valid in the period or a 9-digit organisation number.")


def kommune_valid_sql(column: str, date_sql: str) -> str:
    """SQL: ``column`` was a valid kommunenummer on the date ``date_sql``.

    The validity intervals come from :func:`kernel.kommuner.kommune_validity` (SSB Klass 131),
    the same rule ingestion and the generator use, inlined as a ``values`` list so the check runs
    in DuckDB on a read-only warehouse.
    """
    from kernel.kommuner import kommune_validity

    def day(d: dt.date | None) -> str:
        return "null" if d is None else f"date '{d:%Y-%m-%d}'"

    values = ", ".join(f"('{v.kommunenummer}', {day(v.valid_from)}, {day(v.valid_to)})" for v in kommune_validity())
    return (f"exists (select 1 from (values {values}) as valid_kommune(k, valid_from, valid_to) "
            f"where valid_kommune.k = {column} "
            f"and (valid_kommune.valid_from is null or {date_sql} >= valid_kommune.valid_from) "
            f"and (valid_kommune.valid_to is null or {date_sql} < valid_kommune.valid_to))")


def kommune_crosswalk_values() -> str:
    """SQL ``values`` rows (year, old code, 2024 code) for codes that changed by 2024 (one target only)."""
    rows = [r for r in codelists.read_seed("kommune_crosswalk_to_2024")
            if r["n_targets"] == "1" and r["source_kommunenummer"] != r["kommunenummer_2024"]]
    return ", ".join(f"({r['source_year']}, '{r['source_kommunenummer']}', '{r['kommunenummer_2024']}')"
                     for r in rows)


# --------------------------------------------------------------------------- marts
#
# One owner per invariant (docs/quality.md, "Who checks the marts"). dbt owns what the model
# promises by construction and checks on every build: the grain (unique_combination), not-null
# columns, column types (enforced contract), references to seeds and models (relationships) and
# singular tests across models. GX owns the checks of the values in a mart's own rows: allowed
# values written as a list, ranges, identities between columns, row count and the share of
# missing values. tests/integration/test_dbt_project_rules.py fails when an invariant is declared
# in both places.

INDICATOR_STATUSES = ["green", "yellow", "red", "no_target", "no_data"]
#: Units of mart_indicator_values whose value is a share in [0, 1].
SHARE_UNITS = ["andel"]

MART_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="marts.mart_indicator_values",
        description="One row per indicator, period, geography and breakdown.",
        columns=(("indicator_id", "VARCHAR"), ("period", "VARCHAR"), ("geo_level", "VARCHAR"),
                 ("geo_code", "VARCHAR"), ("numerator", "DOUBLE"), ("denominator", "DOUBLE"),
                 ("value", "DOUBLE"), ("unit", "VARCHAR"), ("input_quality_label", "VARCHAR"),
                 ("suppressed", "BOOLEAN")),
        exact_columns=False,
        example_columns=("indicator_id", "period", "geo_level", "geo_code"),
        checks=(
            Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1}),
            Check("value_not_null", "not_null", "completeness", "verification", severity="warning", threshold=5.0,
                  args={"column": "value"}, description="At most 5 % of values are missing."),
            Check("period_type_in_set", "in_set", "conformance", "verification",
                  args={"column": "period_type", "value_set": ["year", "month"]}),
            Check("geo_level_in_set", "in_set", "conformance", "verification",
                  args={"column": "geo_level", "value_set": ["nasjonal", "fylke", "kommune"]}),
            Check("breakdown_in_set", "in_set", "conformance", "verification",
                  args={"column": "breakdown", "value_set": ["total", "tjenestetype", "register"]}),
            Check("not_suppressed", "rows", "conformance", "verification",
                  args={"where": "suppressed", "columns": ["indicator_id", "period", "geo_code", "suppressed"]},
                  description="Nothing is suppressed in the mart; disclosure control happens at publication."),
            Check("share_values_within_0_1", "rows", "plausibility", "verification",
                  args={"where": f"unit in ({', '.join(repr(u) for u in SHARE_UNITS)}) and (value < 0 or value > 1)",
                        "columns": ["indicator_id", "period", "geo_code", "value"]},
                  description="Indicators measured as a share have values in [0, 1]."),
            Check("numerator_not_above_denominator", "rows", "plausibility", "verification",
                  args={"where": "numerator > denominator",
                        "columns": ["indicator_id", "period", "geo_code", "numerator", "denominator"]},
                  description="Where both are known, numerator ≤ denominator."),
            Check("counts_not_negative", "rows", "plausibility", "verification",
                  args={"where": "numerator < 0 or denominator < 0 or value < 0",
                        "columns": ["indicator_id", "period", "geo_code", "numerator", "denominator", "value"]},
                  description="Counts, shares, rates and medians are not negative."),
        ),
    ),
    DatasetSpec(
        name="marts.mart_indicator_status",
        description="One row per indicator (and breakdown): latest value against the target.",
        columns=(("indicator_id", "VARCHAR"), ("latest_value", "DOUBLE"), ("target", "DOUBLE"),
                 ("status", "VARCHAR")),
        exact_columns=False,
        example_columns=("indicator_id", "breakdown_code"),
        checks=(
            Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1}),
            Check("status_in_set", "in_set", "conformance", "verification",
                  args={"column": "status", "value_set": INDICATOR_STATUSES}),
            Check("target_has_year", "rows", "completeness", "verification",
                  args={"where": "target is not null and target_year is null",
                        "columns": ["indicator_id", "target", "target_year"]},
                  description="A target says which year it is for."),
            Check("status_consistent_with_value", "rows", "plausibility", "verification",
                  args={"where": "(status = 'no_data') <> (latest_value is null and target is not null)",
                        "columns": ["indicator_id", "status", "latest_value", "target"]},
                  description="'no_data' exactly when a target is set and there is no value."),
        ),
    ),
    DatasetSpec(
        name="marts.mart_registry_reporting_coverage",
        description="One row per registry, reporting unit and month.",
        columns=(("register", "VARCHAR"), ("rapporteringsenhet", "VARCHAR"), ("periode", "VARCHAR"),
                 ("forventet", "BIGINT"), ("mottatt", "BIGINT"), ("mottatt_digitalt", "BIGINT"),
                 ("mottatt_innen_frist", "BIGINT"), ("coverage", "DOUBLE"), ("digital_share", "DOUBLE"),
                 ("on_time_share", "DOUBLE")),
        exact_columns=False,
        example_columns=("register", "rapporteringsenhet", "periode"),
        data_date="periode",
        checks=(
            Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1}),
            Check("rolling_window_1_to_12_months", "between", "conformance", "verification",
                  args={"column": "months_in_rolling_window", "min_value": 1, "max_value": 12},
                  description="The rolling coverage covers 1 to 12 months."),
            *(Check(f"{share}_within_0_1", "between", "plausibility", "verification",
                    args={"column": share, "min_value": 0, "max_value": 1})
              for share in ("coverage", "digital_share", "on_time_share", "coverage_rolling_12m")),
            Check("coverage_consistent_with_components", "rows", "plausibility", "verification",
                  args={"where": "forventet > 0 and (coverage is null or abs(coverage - least(mottatt, forventet)"
                                 f" / forventet) > {RATIO_TOLERANCE})",
                        "columns": ["register", "rapporteringsenhet", "periode", "forventet", "mottatt", "coverage"]},
                  description="coverage = min(mottatt, forventet) / forventet (received, capped at expected)."),
            *(Check(f"{part}_within_mottatt", "a_ge_b", "plausibility", "verification",
                    args={"column_a": "mottatt", "column_b": part})
              for part in ("mottatt_digitalt", "mottatt_innen_frist")),
        ),
    ),
)


#: The analysis room's linked tables (dbt owns their grain and not-null columns, as for marts).
ANALYSIS_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        name="analysis.person_aar",
        description="One row per pseudonymised person and year (the analysis room's linked dataset).",
        columns=(("person_id", "VARCHAR"), ("aar", "INTEGER"), ("kjonn", "VARCHAR"), ("has_vft", "BOOLEAN"),
                 ("n_vft_teknologier", "BIGINT"), ("n_tjenester", "BIGINT"), ("n_kontakter", "BIGINT"),
                 ("n_kontakter_digitale", "BIGINT")),
        exact_columns=False,
        example_columns=("aar",),
        checks=(
            Check("not_empty", "row_count_at_least", "completeness", "verification", args={"min_value": 1}),
            Check("kjonn_in_set", "in_set", "conformance", "verification",
                  args={"column": "kjonn", "value_set": ["K", "M"]}, description="kjonn is M or K."),
            Check("vft_technologies_0_to_4", "between", "plausibility", "verification",
                  args={"column": "n_vft_teknologier", "min_value": 0, "max_value": 4},
                  description="A person has 0 to 4 of the four welfare technologies in a year."),
            *(Check(f"{count}_not_negative", "between", "plausibility", "verification",
                    args={"column": count, "min_value": 0})
              for count in ("n_tjenester", "n_kontakter", "n_kontakter_digitale")),
            Check("digital_contacts_within_contacts", "a_ge_b", "plausibility", "verification",
                  args={"column_a": "n_kontakter", "column_b": "n_kontakter_digitale"},
                  description="Digital contacts are among the contacts."),
        ),
    ),
)


def all_specs(today: dt.date | None = None) -> tuple[DatasetSpec, ...]:
    """Every dataset the quality run checks: all raw sources, the marts, the analysis tables."""
    return tuple(raw_spec(s, today) for s in SOURCES.values()) + MART_SPECS + ANALYSIS_SPECS


def spec_by_name(name: str, today: dt.date | None = None) -> DatasetSpec:
    from kernel.errors import UserInputError

    specs = {s.name: s for s in all_specs(today)}
    try:
        return specs[name]
    except KeyError:
        raise UserInputError(f"ukjent datasett {name!r}; velg en av: {', '.join(specs)}") from None
