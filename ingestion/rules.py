"""Row rules: each quarantined row gets exactly one stable, named reason.

:data:`RULES` is the list, in the order rules are checked — a row is quarantined under the first
rule it breaks. ``docs/ingestion.md`` shows the same table; ``tests/integration/test_ingest_rules.py``
checks every rule has a case and every name is documented.

Rules are Polars expressions over one batch of string columns (one per header field), so a batch
is validated without a Python call per row. Two rules (``duplicate_in_file`` and
``duplicate_in_warehouse``) need every row of the file and the warehouse; they run in DuckDB in
the load transaction (:mod:`ingestion.store`).

**What a quarantined row keeps** (``_detail`` and ``_values``), decided per value by one
expression, :func:`_in_clear`, so no rule can bypass it:

* the identity column is only ever a keyed hash;
* in a person source, any other value is kept in clear only when the row is *well formed* —
  one field per column, an identity field of exactly 11 digits, and every date, integer and
  boolean field readable — **and** the value cannot carry part of an identity number: it has no
  run of 4 or more digits, or it is a date written ``YYYY-MM-DD``, or a kommunenummer that
  exists or existed (a public code). Everything else is a keyed hash in ``_values`` and
  :data:`WITHHELD` in ``_detail``. A row that is mis-split (a stray ``;`` in a number shifts every later column) is
  therefore hashed whole, whatever the length of the pieces;
* an over-long line keeps nothing (its content is never read).

Detail sentences are built only from column names, counts, the run's dates and values that
passed :func:`_in_clear`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from ingestion import fnr_polars
from ingestion.fnr import D_NUMBER_DAY_OFFSET, H_NUMBER_MONTH_OFFSET, SYNTHETIC_MONTH_OFFSET
from ingestion.fnr_polars import with_fnr_fields
from ingestion.kommune_check import KommuneCalendar
from ingestion.orgnr_polars import orgnr_valid
from ingestion.pseudonym import PseudonymKey, PseudonymMemo
from ingestion.reader import MAX_LINE_BYTES, TOO_LONG_COLUMN, format_count
from kernel.codelists import codes
from kernel.sources import FODSELSNUMMER, MONTH_PATTERN, Column, Source, raw_columns

#: rule name → what it means. Order = checking order.
RULES: dict[str, str] = {
    "line_too_long": f"The line is longer than {MAX_LINE_BYTES:,} bytes; it is set aside unread (nothing of it is stored).",
    "field_count": "The line does not have one field per header column (includes blank lines).",
    "required_missing": "A required field is empty.",
    "fnr_format": "The identity number is not 11 digits.",
    "fnr_check_digits": "The identity number's mod-11 check digits do not match (today's rule, or from 2032 Skatteetaten's new one).",
    "fnr_birth_date": "The identity number holds no valid birth date for its kind (fødselsnummer, D-, H-, synthetic) and individual number, or one after the day of ingestion.",
    "date_invalid": "A date is not a real calendar date written YYYY-MM-DD.",
    "integer_invalid": "An integer field is not a whole number.",
    "boolean_invalid": "A boolean field is not one of true/false, 1/0, ja/nei.",
    "periode_invalid": "The period column of a monthly source (Source.period, e.g. periode) is not a month written YYYY-MM.",
    "code_not_in_list": "A coded field holds a value outside its code list (for vft_mottakere: outside the welfare-technology codes).",
    "date_in_future": "A date (or the first day of a monthly period such as periode) lies after the day of ingestion.",
    "date_before_source": "The row's event date (kontaktdato, startdato, or the first day of periode) lies before the source's first day (Source.first_day).",
    "kommunenummer_invalid": "kommunenummer was not a valid municipality code on the row's date (kernel.kommuner).",
    "rapporteringsenhet_invalid": "The reporting unit (Source.unit_column of a source whose unit may be an organisation number, e.g. rapporteringsenhet) is neither a kommunenummer valid in the period nor a valid 9-digit organisation number.",
    "period_end_before_start": "The end date is before the start date.",
    "birth_after_event": "The birth date in the identity number is after the row's event date (kontaktdato or startdato).",
    "count_negative": "A count (Source.count_columns) is negative.",
    "count_inconsistent": "A count is greater than the count it is part of (Source.count_rules, e.g. mottatt_digitalt > mottatt).",
    "duplicate_in_file": "The row repeats an earlier line of the same file exactly; the first occurrence is kept.",
    "duplicate_in_warehouse": "The row repeats a row already loaded from another file; the loaded row is kept.",
}

#: Accepted spellings of booleans (lower-cased before lookup).
BOOLEAN_VALUES = {"true": True, "false": False, "1": True, "0": False, "ja": True, "nei": False}
IDENTITY_COLUMN = FODSELSNUMMER.name
#: In a person source, a quarantined value with a run of this many digits is kept only as a keyed
#: hash (unless it is a date or a known kommunenummer): 4 digits of an identity number are the
#: shortest piece the platform treats as identifying.
IDENTIFYING_DIGITS = 4
#: A source without an identity column (registry_reporting); as defence in depth a value with this many digits
#: (an identity number in the wrong file) is hashed there too. Its 9-digit organisation numbers
#: and counts stay readable.
SCRUB_MIN_DIGITS_OTHER = 11
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
HASH_PREFIX = "keyed-hash:"
WITHHELD = "<skjult>"

RULE_COLUMN, DETAIL_COLUMN, VALUES_COLUMN = "_rule", "_detail", "_values"
#: The first day of a monthly source's period (a date), for the date and kommune rules.
PERIOD_START = "__period_start"


@dataclass
class RuleContext:
    """What the rules compare against, fixed for one ingest run."""

    today: dt.date
    key: PseudonymKey
    kommuner: KommuneCalendar = field(default_factory=KommuneCalendar)
    #: person_id of every number pseudonymised in this run, so each is hashed once.
    memo: PseudonymMemo | None = None

    def __post_init__(self) -> None:
        if self.memo is None:
            self.memo = PseudonymMemo(self.key)


@dataclass(frozen=True)
class Check:
    rule: str
    fails: pl.Expr  # true where the row breaks the rule (never null)
    detail: pl.Expr  # bokmål sentence from column names and _show() values only


def _typed(name: str) -> str:
    return f"__typed_{name}"


def _show(name: str) -> str:
    return f"__show_{name}"


def parse_value(column: Column) -> pl.Expr:
    """The typed value of a string column (null where empty or unparsable)."""
    text = pl.col(column.name)
    if column.type == "date":
        return pl.when(text.str.contains(ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    if column.type == "integer":
        return pl.when(text.str.contains(r"^-?\d{1,18}$")).then(text.cast(pl.Int64, strict=False))
    if column.type == "boolean":
        return text.str.to_lowercase().replace_strict(BOOLEAN_VALUES, default=None, return_dtype=pl.Boolean)
    return pl.when(text != "").then(text)


def _present(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name) != "")


#: Detail sentences of the identity-number rules.
FNR_DETAILS = {
    "fnr_format": "fødselsnummeret har ikke 11 sifre",
    "fnr_check_digits": "kontrollsifrene i fødselsnummeret stemmer ikke",
    "fnr_birth_date": "fødselsnummeret har ingen gyldig fødselsdato for sin type og sitt individnummer",
}
#: Detail wording per type rule: "kontaktdato <value> er ikke …".
TYPE_NOUNS = {"date_invalid": "en gyldig dato", "integer_invalid": "et heltall", "boolean_invalid": "en gyldig ja/nei-verdi"}


def _checks(source: Source, ctx: RuleContext) -> list[Check]:
    """Every batch-level rule of ``source`` in :data:`RULES` order."""
    n = len(source.columns)
    checks = [
        Check("line_too_long", pl.col(TOO_LONG_COLUMN),
              pl.lit(f"linjen er lengre enn {format_count(MAX_LINE_BYTES)} byte og er ikke lest")),
        Check("field_count", (pl.col("_field_count") != n) | pl.col("_blank"),
              pl.when(pl.col("_blank")).then(pl.lit("tom linje"))
              .otherwise(pl.format("{} felt, forventet {}", pl.col("_field_count"), pl.lit(n)))),
    ]
    required = [c.name for c in source.columns if c.required]
    first_missing = pl.coalesce([pl.when(~_present(c)).then(pl.lit(c)) for c in required])
    checks.append(Check("required_missing", first_missing.is_not_null(),
                        pl.format("påkrevd felt {} er tomt", first_missing)))
    if source.has_identity_number:
        rule = pl.col(fnr_polars.RULE)
        for name in fnr_polars.FNR_RULES:
            checks.append(Check(name, (rule == name).fill_null(False), pl.lit(FNR_DETAILS.get(name, name))))
    checks += _type_checks(source)
    if month := _month_column(source):
        checks.append(Check("periode_invalid", ~pl.col(month).str.contains(MONTH_PATTERN).fill_null(False),
                            pl.format("{} {} er ikke en måned skrevet ÅÅÅÅ-MM", pl.lit(month), pl.col(_show(month)))))
    checks += _codelist_checks(source)
    checks += _date_range_checks(source, ctx.today)
    checks += _kommune_checks(source)
    if source.period_columns:
        start, end = source.period_columns
        checks.append(Check(
            "period_end_before_start", (pl.col(_typed(end)) < pl.col(_typed(start))).fill_null(False),
            pl.format("{} {} er før {} {}", pl.lit(end), pl.col(_show(end)), pl.lit(start), pl.col(_show(start))),
        ))
    if source.has_identity_number and source.kommune_date_column:
        event = source.kommune_date_column
        checks.append(Check(
            "birth_after_event", (pl.col("__birth_date") > pl.col(_typed(event))).fill_null(False),
            pl.format("fødselsdatoen i fødselsnummeret er etter {} {}", pl.lit(event), pl.col(_show(event))),
        ))
    if source.count_columns:
        checks += _count_checks(source)
    return checks


def _month_column(source: Source) -> str | None:
    """The period column of a source reported by month (``YYYY-MM``), if it is one."""
    return source.period.column if source.period and source.period.grain == "month" else None


def _type_checks(source: Source) -> list[Check]:
    rule_for = {"date": "date_invalid", "integer": "integer_invalid", "boolean": "boolean_invalid"}
    checks = []
    for rule, noun in TYPE_NOUNS.items():
        columns = [c.name for c in source.columns if rule_for.get(c.type) == rule]
        if not columns:
            continue
        bad = pl.coalesce([pl.when(_unreadable(c)).then(pl.lit(c)) for c in columns])
        value = pl.coalesce([pl.when(pl.lit(c) == bad).then(pl.col(_show(c))) for c in columns])
        checks.append(Check(rule, bad.is_not_null(), pl.format("{} {} er ikke {}", bad, value, pl.lit(noun))))
    return checks


def _unreadable(name: str) -> pl.Expr:
    """A typed column's text is present but could not be read as its type."""
    return _present(name) & pl.col(_typed(name)).is_null()


def _codelist_checks(source: Source) -> list[Check]:
    checks = []
    for column in source.columns:
        if not column.codelist:
            continue
        seed, seed_column = column.codelist.split(".")
        allowed = sorted(codes(seed, seed_column, where=column.codelist_where))
        value = pl.col(_typed(column.name)).cast(pl.String)
        list_name = f"{seed}{' der ' + column.codelist_where if column.codelist_where else ''}"
        checks.append(Check(
            "code_not_in_list", (value.is_not_null() & ~value.is_in(allowed)).fill_null(False),
            pl.format("{} {} finnes ikke i {}", pl.lit(column.name), pl.col(_show(column.name)), pl.lit(list_name)),
        ))
    return checks


def _norwegian_date(day: dt.date) -> str:
    return f"{day:%d.%m.%Y}"


def _date_range_checks(source: Source, today: dt.date) -> list[Check]:
    """``date_in_future`` over every date, then ``date_before_source`` over the event date."""
    if month := _month_column(source):
        dates = {month: pl.col(PERIOD_START)}
        event = month
    else:
        dates = {c: pl.col(_typed(c)) for c in source.date_columns}
        event = source.kommune_date_column
    if not dates:
        return []
    late = {name: (value > pl.lit(today)).fill_null(False) for name, value in dates.items()}
    # Both coalesces test the same conditions in the same order, so they name the same column.
    bad = pl.coalesce([pl.when(late[name]).then(pl.lit(name)) for name in dates])
    value = pl.coalesce([pl.when(late[name]).then(pl.col(_show(name))) for name in dates])
    checks = [Check("date_in_future", bad.is_not_null(),
                    pl.format("{} {} er etter {}", bad, value, pl.lit(_norwegian_date(today))))]
    if event:
        checks.append(Check(
            "date_before_source", (dates[event] < pl.lit(source.first_day)).fill_null(False),
            pl.format("{} {} er før {} har data (fra {})", pl.lit(event), pl.col(_show(event)), pl.lit(source.name),
                      pl.lit(_norwegian_date(source.first_day))),
        ))
    return checks


def _kommune_checks(source: Source) -> list[Check]:
    if source.kommune_date_column:
        return [Check("kommunenummer_invalid", ~pl.col("__kommune_valid"),
                      pl.format("kommunenummer {} var ikke gyldig på {} {}", pl.col(_show("kommunenummer")),
                                pl.lit(source.kommune_date_column), pl.col(_show(source.kommune_date_column))))]
    if source.unit_may_be_orgnr and (month := _month_column(source)):
        unit = source.unit_column
        return [Check("rapporteringsenhet_invalid", ~(pl.col("__kommune_valid") | orgnr_valid(pl.col(unit))),
                      pl.format("{} {} er verken et kommunenummer gyldig i {} eller et gyldig organisasjonsnummer",
                                pl.lit(unit), pl.col(_show(unit)), pl.col(_show(month))))]
    return []


def _count_checks(source: Source) -> list[Check]:
    """``count_negative`` over :attr:`Source.count_columns`, then ``count_inconsistent`` over its rules."""
    negative = pl.coalesce([pl.when(pl.col(_typed(c)) < 0).then(pl.lit(c)) for c in source.count_columns])
    checks = [Check("count_negative", negative.is_not_null(), pl.format("{} er negativ", negative))]
    rules = source.count_rules
    if rules:
        broken = [(pl.col(_typed(r.part)) > pl.col(_typed(r.whole))).fill_null(False) for r in rules]
        part = _first_broken(broken, [pl.lit(r.part) for r in rules])
        checks.append(Check("count_inconsistent", part.is_not_null(), pl.format(
            "{} ({}) er større enn {} ({})", part, _first_broken(broken, [pl.col(_show(r.part)) for r in rules]),
            _first_broken(broken, [pl.lit(r.whole) for r in rules]),
            _first_broken(broken, [pl.col(_show(r.whole)) for r in rules]))))
    return checks


def _first_broken(broken: list[pl.Expr], values: list[pl.Expr]) -> pl.Expr:
    """The value belonging to the first broken rule: every call tests the same conditions in the
    same order, so the pieces of one detail sentence name the same rule."""
    return pl.coalesce([pl.when(b).then(v) for b, v in zip(broken, values)])


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
        frame = with_fnr_fields(frame, IDENTITY_COLUMN, ctx.today)  # also strips surrounding blanks
        frame = frame.with_columns(_birth_date())
    if month := _month_column(source):
        frame = frame.with_columns(pl.when(pl.col(month).str.contains(MONTH_PATTERN))
                                   .then((pl.col(month) + "-01").str.to_date("%Y-%m-%d", strict=False))
                                   .alias(PERIOD_START))
    frame = frame.with_columns(_kommune_valid(frame, source, ctx))
    checks = _checks(source, ctx)
    # Each rule's verdict is materialised once; the detail sentences are only built for bad rows.
    frame = frame.with_columns(c.fails.alias(f"__fails_{i}") for i, c in enumerate(checks))
    # The first broken rule as its position (integers are cheap); named only on the bad rows.
    first = pl.min_horizontal([pl.when(pl.col(f"__fails_{i}")).then(pl.lit(i, dtype=pl.Int8)) for i in range(len(checks))])
    frame = frame.with_columns(first.alias("__first_rule"))
    good = frame.filter(pl.col("__first_rule").is_null())
    bad = frame.filter(pl.col("__first_rule").is_not_null()).with_columns(
        pl.col("__first_rule").replace_strict(list(range(len(checks))), [c.rule for c in checks], return_dtype=pl.String)
        .alias(RULE_COLUMN))
    if source.has_identity_number:  # a public code may be shown in quarantine (see _in_clear)
        bad = bad.with_columns(ctx.kommuner.ever_valid(bad["kommunenummer"]).alias("__kommune_known"))
    bad = bad.with_columns(_in_clear(c, source).alias(_clear(c.name)) for c in source.columns)
    bad = bad.with_columns(
        pl.when(pl.col(_clear(c.name))).then(pl.col(c.name).fill_null("")).otherwise(pl.lit(WITHHELD)).alias(_show(c.name))
        for c in source.columns
    )
    bad = bad.with_columns(
        pl.coalesce([pl.when(pl.col(f"__fails_{i}")).then(c.detail.fill_null("")) for i, c in enumerate(checks)]).alias(DETAIL_COLUMN)
    )
    return CheckedBatch(good=_to_raw(good, source, ctx.memo, file_sha256), bad=_to_quarantine(bad, source, ctx.key))


def _kommune_valid(frame: pl.DataFrame, source: Source, ctx: RuleContext) -> pl.Series:
    if source.kommune_date_column:
        return ctx.kommuner.valid(frame["kommunenummer"], frame[_typed(source.kommune_date_column)]).alias("__kommune_valid")
    if _month_column(source):
        return ctx.kommuner.valid(frame[source.unit_column], frame[PERIOD_START]).alias("__kommune_valid")
    return pl.Series("__kommune_valid", [True] * frame.height)


def _birth_date() -> pl.Expr:
    """The birth date of a valid identity number (null otherwise): day and month from its digits
    with the D-, H- and synthetic offsets removed, the year as :mod:`ingestion.fnr_polars` derived it."""
    number, kind = pl.col(IDENTITY_COLUMN).str.strip_chars(), pl.col(fnr_polars.KIND)
    valid = pl.col(fnr_polars.RULE).is_null()
    day = number.str.slice(0, 2).cast(pl.Int32, strict=False)
    month = number.str.slice(2, 2).cast(pl.Int32, strict=False)
    day = pl.when(kind.str.ends_with("d_nummer")).then(day - D_NUMBER_DAY_OFFSET).otherwise(day)
    month = (pl.when(kind.str.starts_with("syntetisk")).then(month - SYNTHETIC_MONTH_OFFSET)
             .when(kind == "h_nummer").then(month - H_NUMBER_MONTH_OFFSET).otherwise(month))
    # Only valid numbers reach pl.date (their day and month are real); the rest are null.
    return pl.date(pl.when(valid).then(pl.col(fnr_polars.BIRTH_YEAR)), pl.when(valid).then(month),
                   pl.when(valid).then(day)).alias("__birth_date")


def _clear(name: str) -> str:
    return f"__clear_{name}"


def _well_formed(source: Source) -> pl.Expr:
    """The row was split as its header says: one field per column, an 11-digit identity field and
    every typed field readable. A stray ``;`` shifts later fields into the wrong columns, where
    a date or a code rarely reads as its column's type — so a shifted row is almost never well formed."""
    typed = [c.name for c in source.columns if c.type in ("date", "integer", "boolean")]
    return (~pl.col(TOO_LONG_COLUMN) & ~pl.col("_blank") & (pl.col("_field_count") == len(source.columns))
            & pl.col(IDENTITY_COLUMN).str.strip_chars().str.contains(r"^\d{11}$").fill_null(False)
            & ~pl.any_horizontal([_unreadable(c) for c in typed]))


def _in_clear(column: Column, source: Source) -> pl.Expr:
    """True where ``column``'s value may be kept in clear in quarantine (see the module docstring)."""
    value = pl.col(column.name)
    if not source.has_identity_number:
        return ~(value.str.count_matches(r"\d") >= SCRUB_MIN_DIGITS_OTHER).fill_null(False)
    if column.name == IDENTITY_COLUMN:
        return ~_present(column.name)
    harmless = ~value.str.contains(rf"\d{{{IDENTIFYING_DIGITS}}}") | value.str.contains(ISO_DATE)
    if column.name == "kommunenummer" and source.kommune_date_column:
        harmless = harmless | pl.col("__kommune_known")
    return (_well_formed(source) & harmless.fill_null(False)) | value.is_null()


def _to_quarantine(bad: pl.DataFrame, source: Source, key: PseudonymKey) -> pl.DataFrame:
    """``_values`` is the row as JSON (header names → text): values not kept in clear are keyed hashes;
    an over-long line is ``{}``."""
    hashed = {c.name: key.quarantine_hashes(bad.select(pl.when(~pl.col(_clear(c.name))).then(pl.col(c.name))).to_series())
              for c in source.columns}
    values = bad.select(
        pl.when(pl.col(TOO_LONG_COLUMN)).then(pl.lit("{}")).otherwise(pl.struct([
            pl.when(hashed[c.name].is_not_null()).then(pl.lit(HASH_PREFIX) + hashed[c.name]).otherwise(pl.col(c.name)).alias(c.name)
            for c in source.columns
        ]).struct.json_encode()).alias(VALUES_COLUMN)
    ).to_series() if bad.height else pl.Series(VALUES_COLUMN, [], dtype=pl.String)
    return pl.DataFrame({
        "_line_number": bad["_line_number"], RULE_COLUMN: bad[RULE_COLUMN], DETAIL_COLUMN: bad[DETAIL_COLUMN],
        VALUES_COLUMN: values,
    })


def _to_raw(good: pl.DataFrame, source: Source, memo: PseudonymMemo, file_sha256: str) -> pl.DataFrame:
    """Raw-table shape: derive birth year and sex, then replace the number by its pseudonym."""
    person: list[pl.Expr] = []
    if source.has_identity_number:
        person = [
            pl.lit(memo.pseudonyms(good[IDENTITY_COLUMN])).alias("person_id"),
            pl.col(fnr_polars.BIRTH_YEAR).cast(pl.Int64).alias("fodselsaar"),
            pl.col(fnr_polars.SEX).alias("kjonn"),
        ]
    data = [pl.col(_typed(c.name)).alias(c.name) for c in source.columns if c.name != IDENTITY_COLUMN]
    lineage = [pl.lit(file_sha256).alias("_file_sha256"), pl.col("_line_number").cast(pl.Int64)]
    frame = good.select(*person, *data, *lineage)
    # Columns set by the warehouse at commit (``_loaded_at``) are not known per batch.
    return frame.select([c.name for c in raw_columns(source) if c.name in frame.columns])
