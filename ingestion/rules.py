"""Row rules: each quarantined row gets exactly one stable, named reason.

:data:`RULES` is the list, in the order rules are checked — a row is quarantined under the first
rule it breaks. ``docs/ingestion.md`` shows the same table; ``tests/unit/test_ingest_rules.py``
checks every rule has a case and every name is documented.

Rules are Polars expressions over one batch of string columns (one per header field), so a batch
is validated without a Python call per row. Two rules (``duplicate_in_file`` and
``duplicate_in_warehouse``) need every row of the file and the warehouse; they run in DuckDB in
the load transaction (:mod:`ingestion.store`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from kernel.codelists import codes
from ingestion import fnr_polars
from ingestion.fnr_polars import FNR_RULE_DETAILS, with_fnr_fields
from ingestion.kommune_check import KommuneCalendar
from ingestion.orgnr_polars import orgnr_valid
from ingestion.pseudonym import PseudonymKey
from kernel.sources import Column, Source, raw_columns

#: rule name → what it means. Order = checking order.
RULES: dict[str, str] = {
    "field_count": "The line does not have one field per header column (includes blank lines).",
    "required_missing": "A required field is empty.",
    "fnr_format": "The identity number is not 11 digits.",
    "fnr_check_digits": "The identity number's mod-11 check digits do not match (today's rule, or from 2032 Skatteetaten's new one).",
    "fnr_birth_date": "The identity number holds no valid birth date for its kind (fødselsnummer, D-, H-, synthetic) and individual number, or one after the day of ingestion.",
    "date_invalid": "A date is not a real calendar date written YYYY-MM-DD.",
    "integer_invalid": "An integer field is not a whole number.",
    "boolean_invalid": "A boolean field is not one of true/false, 1/0, ja/nei.",
    "periode_invalid": "periode is not a month written YYYY-MM.",
    "code_not_in_list": "A coded field holds a value outside its code list (for vft_mottakere: outside the welfare-technology codes).",
    "date_in_future": "A date (or the first day of periode) lies after the day of ingestion.",
    "kommunenummer_invalid": "kommunenummer was not a valid municipality code on the row's date (kernel.kommuner).",
    "rapporteringsenhet_invalid": "rapporteringsenhet is neither a kommunenummer valid in the period nor a valid 9-digit organisation number.",
    "period_end_before_start": "The end date is before the start date.",
    "count_negative": "A delivery count is negative.",
    "count_inconsistent": "mottatt_digitalt or mottatt_innen_frist is greater than mottatt.",
    "duplicate_in_file": "The row repeats an earlier line of the same file exactly; the first occurrence is kept.",
    "duplicate_in_warehouse": "The row repeats a row already loaded from another file; the loaded row is kept.",
}

#: Accepted spellings of booleans (lower-cased before lookup).
BOOLEAN_VALUES = {"true": True, "false": False, "1": True, "0": False, "ja": True, "nei": False}
COUNT_COLUMNS = ("forventet", "mottatt", "mottatt_digitalt", "mottatt_innen_frist")
#: Quarantined values with this many digits or more are stored as keyed hashes, wherever they
#: stand: a shifted row can put an identity number in any column. Person sources have no
#: legitimate value this long; registry_reporting's 9-digit organisation numbers stay readable.
SCRUB_MIN_DIGITS_PERSON = 9
SCRUB_MIN_DIGITS_OTHER = 11
HASH_PREFIX = "keyed-hash:"
WITHHELD = "<withheld>"

RULE_COLUMN, DETAIL_COLUMN, VALUES_COLUMN = "_rule", "_detail", "_values"


@dataclass
class RuleContext:
    """What the rules compare against, fixed for one ingest run."""

    today: dt.date
    key: PseudonymKey
    kommuner: KommuneCalendar = field(default_factory=KommuneCalendar)


@dataclass(frozen=True)
class Check:
    rule: str
    fails: pl.Expr  # true where the row breaks the rule (never null)
    detail: pl.Expr  # readable sentence; must not contain identity numbers


def _typed(name: str) -> str:
    return f"__typed_{name}"


def _show(name: str) -> str:
    return f"__show_{name}"


def parse_value(column: Column) -> pl.Expr:
    """The typed value of a string column (null where empty or unparsable)."""
    text = pl.col(column.name)
    if column.type == "date":
        return pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(text.str.to_date("%Y-%m-%d", strict=False))
    if column.type == "integer":
        return pl.when(text.str.contains(r"^-?\d{1,18}$")).then(text.cast(pl.Int64, strict=False))
    if column.type == "boolean":
        return text.str.to_lowercase().replace_strict(BOOLEAN_VALUES, default=None, return_dtype=pl.Boolean)
    return pl.when(text != "").then(text)


def _present(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


def _checks(source: Source, ctx: RuleContext) -> list[Check]:
    """Every batch-level rule of ``source`` in :data:`RULES` order."""
    n = len(source.columns)
    checks = [Check(
        "field_count",
        (pl.col("_field_count") != n) | pl.col("_blank"),
        pl.when(pl.col("_blank")).then(pl.lit("blank line"))
        .otherwise(pl.format("{} fields, expected {}", pl.col("_field_count"), pl.lit(n))),
    )]
    required = [c.name for c in source.columns if c.required]
    first_missing = pl.coalesce([pl.when(~_present(c)).then(pl.lit(c)) for c in required])
    checks.append(Check("required_missing", first_missing.is_not_null(),
                        pl.format("required field {} is empty", first_missing)))
    if source.has_identity_number:
        rule = pl.col(fnr_polars.RULE)
        for name in fnr_polars.FNR_RULES:
            checks.append(Check(name, (rule == name).fill_null(False), pl.lit(FNR_RULE_DETAILS[name])))
    checks += _type_checks(source)
    if source.name == "registry_reporting":
        periode = pl.col("periode")
        checks.append(Check("periode_invalid", ~periode.str.contains(r"^\d{4}-(0[1-9]|1[0-2])$").fill_null(False),
                            pl.format("periode {} is not YYYY-MM", pl.col(_show("periode")))))
    checks += _codelist_checks(source)
    checks += _future_checks(source, ctx.today)
    checks += _kommune_checks(source)
    if source.period_columns:
        start, end = source.period_columns
        checks.append(Check(
            "period_end_before_start", (pl.col(_typed(end)) < pl.col(_typed(start))).fill_null(False),
            pl.format("{} {} is before {} {}", pl.lit(end), pl.col(_typed(end)), pl.lit(start), pl.col(_typed(start))),
        ))
    if source.name == "registry_reporting":
        checks += _count_checks()
    return checks


def _type_checks(source: Source) -> list[Check]:
    rule_for = {"date": "date_invalid", "integer": "integer_invalid", "boolean": "boolean_invalid"}
    checks = []
    for rule in ("date_invalid", "integer_invalid", "boolean_invalid"):
        columns = [c.name for c in source.columns if rule_for.get(c.type) == rule]
        if not columns:
            continue
        bad = pl.coalesce([pl.when(_present(c) & pl.col(_typed(c)).is_null()).then(pl.lit(c)) for c in columns])
        value = pl.coalesce([pl.when(pl.lit(c) == bad).then(pl.col(_show(c))) for c in columns])
        checks.append(Check(rule, bad.is_not_null(), pl.format("{} {} is not a valid {}", bad, value,
                                                               pl.lit(rule.removesuffix("_invalid")))))
    return checks


def _codelist_checks(source: Source) -> list[Check]:
    checks = []
    for column in source.columns:
        if not column.codelist:
            continue
        seed, seed_column = column.codelist.split(".")
        allowed = sorted(codes(seed, seed_column, where=column.codelist_where))
        value = pl.col(_typed(column.name)).cast(pl.String)
        list_name = f"{seed}{' where ' + column.codelist_where if column.codelist_where else ''}"
        checks.append(Check(
            "code_not_in_list", (value.is_not_null() & ~value.is_in(allowed)).fill_null(False),
            pl.format("{} {} is not in {}", pl.lit(column.name), pl.col(_show(column.name)), pl.lit(list_name)),
        ))
    return checks


def _future_checks(source: Source, today: dt.date) -> list[Check]:
    dates = {c: pl.col(_typed(c)) for c in source.date_columns}
    if source.name == "registry_reporting":
        dates = {"periode": pl.col("__periode_start")}
    if not dates:
        return []
    late = {name: (value > pl.lit(today)).fill_null(False) for name, value in dates.items()}
    # Both coalesces test the same conditions in the same order, so they name the same column.
    bad = pl.coalesce([pl.when(late[name]).then(pl.lit(name)) for name in dates])
    value = pl.coalesce([pl.when(late[name]).then(dates[name].cast(pl.String)) for name in dates])
    return [Check("date_in_future", bad.is_not_null(), pl.format("{} {} is after {}", bad, value, pl.lit(today.isoformat())))]


def _kommune_checks(source: Source) -> list[Check]:
    if source.kommune_date_column:
        return [Check("kommunenummer_invalid", ~pl.col("__kommune_valid"),
                      pl.format("kommunenummer {} was not valid on {}", pl.col(_show("kommunenummer")),
                                pl.col(_typed(source.kommune_date_column))))]
    if source.name == "registry_reporting":
        return [Check("rapporteringsenhet_invalid", ~(pl.col("__kommune_valid") | orgnr_valid(pl.col("rapporteringsenhet"))),
                      pl.format("rapporteringsenhet {} is neither a kommunenummer valid in {} nor a valid organisation number",
                                pl.col(_show("rapporteringsenhet")), pl.col("periode")))]
    return []


def _count_checks() -> list[Check]:
    negative = pl.coalesce([pl.when(pl.col(_typed(c)) < 0).then(pl.lit(c)) for c in COUNT_COLUMNS])
    mottatt = pl.col(_typed("mottatt"))
    over = pl.coalesce([pl.when(pl.col(_typed(c)) > mottatt).then(pl.lit(c))
                        for c in ("mottatt_digitalt", "mottatt_innen_frist")])
    over_value = pl.when(over == "mottatt_digitalt").then(pl.col(_typed("mottatt_digitalt"))).otherwise(pl.col(_typed("mottatt_innen_frist")))
    return [
        Check("count_negative", negative.is_not_null(), pl.format("{} is negative", negative)),
        Check("count_inconsistent", over.is_not_null(),
              pl.format("{} ({}) is greater than mottatt ({})", over, over_value, mottatt)),
    ]


@dataclass(frozen=True)
class CheckedBatch:
    """One batch split into rows to load (raw column shape) and rows to quarantine."""

    good: pl.DataFrame  # raw columns + lineage (except _loaded_at)
    bad: pl.DataFrame  # _line_number, _rule, _detail, _values (JSON)


def check_batch(fields: pl.DataFrame, source: Source, ctx: RuleContext, file_sha256: str) -> CheckedBatch:
    """Apply every batch-level rule; pseudonymise the good rows and scrub the bad ones.

    ``fields`` is :func:`ingestion.reader.split_fields` output: one string column per header
    field, ``_field_count``, ``_blank`` and ``_line_number``.
    """
    frame = fields.with_columns(parse_value(c).alias(_typed(c.name)) for c in source.columns)
    if source.has_identity_number:
        frame = with_fnr_fields(frame, "fodselsnummer", ctx.today)  # also strips surrounding blanks
    if source.name == "registry_reporting":
        frame = frame.with_columns(pl.when(pl.col("periode").str.contains(r"^\d{4}-(0[1-9]|1[0-2])$"))
                                   .then((pl.col("periode") + "-01").str.to_date("%Y-%m-%d", strict=False))
                                   .alias("__periode_start"))
    frame = frame.with_columns(_kommune_valid(frame, source, ctx))
    checks = _checks(source, ctx)
    # Each rule's verdict is materialised once; the detail sentences are only built for bad rows.
    frame = frame.with_columns(c.fails.alias(f"__fails_{i}") for i, c in enumerate(checks))
    frame = frame.with_columns(
        pl.coalesce([pl.when(pl.col(f"__fails_{i}")).then(pl.lit(c.rule)) for i, c in enumerate(checks)]).alias(RULE_COLUMN)
    )
    good = frame.filter(pl.col(RULE_COLUMN).is_null())
    bad = frame.filter(pl.col(RULE_COLUMN).is_not_null()).with_columns(_scrubbed_display(source))
    bad = bad.with_columns(
        pl.coalesce([pl.when(pl.col(f"__fails_{i}")).then(c.detail.fill_null("")) for i, c in enumerate(checks)]).alias(DETAIL_COLUMN)
    )
    return CheckedBatch(good=_to_raw(good, source, ctx.key, file_sha256), bad=_to_quarantine(bad, source, ctx.key))


def _kommune_valid(frame: pl.DataFrame, source: Source, ctx: RuleContext) -> pl.Series:
    if source.kommune_date_column:
        return ctx.kommuner.valid(frame["kommunenummer"], frame[_typed(source.kommune_date_column)]).alias("__kommune_valid")
    if source.name == "registry_reporting":
        return ctx.kommuner.valid(frame["rapporteringsenhet"], frame["__periode_start"]).alias("__kommune_valid")
    return pl.Series("__kommune_valid", [True] * frame.height)


def _scrub_min_digits(source: Source) -> int:
    return SCRUB_MIN_DIGITS_PERSON if source.has_identity_number else SCRUB_MIN_DIGITS_OTHER


def _needs_hash(name: str, source: Source) -> pl.Expr:
    if name == "fodselsnummer":
        return _present(name)
    return (pl.col(name).str.count_matches(r"\d") >= _scrub_min_digits(source)).fill_null(False)


def _scrubbed_display(source: Source) -> list[pl.Expr]:
    """Values safe to put in a detail sentence: anything that could be an identity number is withheld."""
    return [pl.when(_needs_hash(c.name, source)).then(pl.lit(WITHHELD)).otherwise(pl.col(c.name).fill_null(""))
            .alias(_show(c.name)) for c in source.columns]


def _to_quarantine(bad: pl.DataFrame, source: Source, key: PseudonymKey) -> pl.DataFrame:
    """``_values`` is the row as JSON (header names → text) with risky values as keyed hashes."""
    hashed = {}
    for c in source.columns:
        risky = bad.select(pl.when(_needs_hash(c.name, source)).then(pl.col(c.name))).to_series()
        hashed[c.name] = key.quarantine_hashes(risky)
    values = bad.select(
        pl.struct([
            pl.when(hashed[c.name].is_not_null()).then(pl.lit(HASH_PREFIX) + hashed[c.name]).otherwise(pl.col(c.name)).alias(c.name)
            for c in source.columns
        ]).struct.json_encode().alias(VALUES_COLUMN)
    ).to_series() if bad.height else pl.Series(VALUES_COLUMN, [], dtype=pl.String)
    return pl.DataFrame({
        "_line_number": bad["_line_number"], RULE_COLUMN: bad[RULE_COLUMN], DETAIL_COLUMN: bad[DETAIL_COLUMN],
        VALUES_COLUMN: values,
    })


def _to_raw(good: pl.DataFrame, source: Source, key: PseudonymKey, file_sha256: str) -> pl.DataFrame:
    """Raw-table shape: derive birth year and sex, then replace the number by its pseudonym."""
    person: list[pl.Expr] = []
    if source.has_identity_number:
        person = [
            pl.lit(key.pseudonyms(good["fodselsnummer"])).alias("person_id"),
            pl.col(fnr_polars.BIRTH_YEAR).cast(pl.Int64).alias("fodselsaar"),
            pl.col(fnr_polars.SEX).alias("kjonn"),
        ]
    data = [pl.col(_typed(c.name)).alias(c.name) for c in source.columns if c.name != "fodselsnummer"]
    lineage = [pl.lit(file_sha256).alias("_file_sha256"), pl.col("_line_number").cast(pl.Int64)]
    frame = good.select(*person, *data, *lineage)
    # Columns set by the warehouse at commit (``_loaded_at``) are not known per batch.
    return frame.select([c.name for c in raw_columns(source) if c.name in frame.columns])
