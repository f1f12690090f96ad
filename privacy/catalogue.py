"""The analysis room's dataset catalogue: what researchers can apply for and query.

Every dataset is generated from the kernel's contract (:mod:`kernel.sources`): each source with a
``rows_per_person`` and each analysis table (``person_aar``) becomes one dataset, with its
contribution bound, its ``room_group_by`` columns, and key domains taken from the columns' types
and code lists. Nothing is re-typed here. A dataset is a read-only SQL query with

* ``person_id`` — the privacy unit (one pseudonymised person);
* group-by columns, each with a **public key domain** taken from code lists, the kommune and
  fylke references or the public year range — never from the data. Every key of the domain
  appears in a release (zero counts too), and rows whose key is outside it are dropped before
  measurement, so a release cannot reveal that an unexpected value (a typo, an old kommune code,
  a single person's odd category) exists. The person keys ``aar, kommunenummer, fylke, kjonn,
  aldersgruppe`` are on every dataset;
* numeric columns that sums, means and quantiles may use (integers, clipped to query bounds);
* a **contribution bound** ``k``: at most ``k`` rows per person enter any one query; extra rows of
  a heavy user are dropped (an arbitrary ``k`` of them), which biases counts down for people
  above ``k`` but is what bounds the sensitivity.

A dataset whose source counts ``active_persons`` (welfare technology) has one row per person, year
and coded value in which the person's episode was active, and its count is of **distinct
persons** per cell: the marts' rule, so the room's yearly count is the published series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from kernel.codelists import codes, read_seed
from kernel.errors import UserInputError
from kernel.identifiers import dataset_identifier
from kernel.kommuner import fylke_by_kommunenummer
from kernel.sources import ANALYSIS_TABLES, SOURCES, AnalysisTable, Column, Source

#: First year a query can group by; the last is the current year plus one (:func:`public_years`).
#: Public, so a release never reveals which years exist in the data; 2015 covers the strategy
#: period (2017 baseline) with room for earlier episodes.
FIRST_PUBLIC_YEAR = 2015

#: Age groups (age reached in the row's year = year − birth year). Aligned with the indicators'
#: 67+ / 80+ denominators; rows with an age outside 0..120 belong to no group and are dropped.
AGE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("0-17", 0, 17),
    ("18-49", 18, 49),
    ("50-66", 50, 66),
    ("67-79", 67, 79),
    ("80+", 80, 120),
)

#: Legal sex as derived at ingestion.
KJONN = ("K", "M")

#: The unit a count counts, per kind of dataset.
COUNTS_ROWS, COUNTS_PERSONS = "rows", "persons"


def public_years(today: date) -> tuple[int, ...]:
    """The public year domain: :data:`FIRST_PUBLIC_YEAR` to ``today``'s year plus one.

    ``today`` is passed in (the room's clock is at its boundary), so a test can fix it.

    >>> public_years(date(2026, 11, 29))[0], public_years(date(2026, 11, 29))[-1]
    (2015, 2027)
    """
    return tuple(range(FIRST_PUBLIC_YEAR, today.year + 2))


def _age_group_sql(age: str) -> str:
    whens = " ".join(f"when {age} between {lo} and {hi} then '{label}'" for label, lo, hi in AGE_GROUPS)
    return f"case {whens} end"


def _fylke_sql(kommune: str) -> str:
    """SQL mapping any kommunenummer used since 2017 to its 2024 fylke (null when ambiguous)."""
    pairs = ", ".join(f"('{k}', '{f}')" for k, f in sorted(fylke_by_kommunenummer().items()))
    return f"(select f from (values {pairs}) as m(k, f) where m.k = {kommune})"


@dataclass(frozen=True)
class GroupColumn:
    name: str
    description: str
    domain: str  # a name :func:`domain` knows


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    table: str
    select_sql: str  # person_id, every group column (as varchar) and every numeric column
    group_by: tuple[GroupColumn, ...]
    numeric: dict[str, str]  # column → description
    rows_per_person: int
    #: What ``--count`` counts: rows, or distinct persons per cell.
    counts: str = COUNTS_ROWS
    #: SQL over ``table`` whose value changes whenever the rows do (keys the bounded extract);
    #: read on every query, so it must not scan the table.
    fingerprint_sql: str = "count(*)"

    def group_column(self, name: str) -> GroupColumn:
        for column in self.group_by:
            if column.name == name:
                return column
        raise UserInputError(
            f"datasettet {self.name!r} kan ikke grupperes etter {name!r}; "
            f"velg blant: {', '.join(c.name for c in self.group_by)}"
        )

    def numeric_column(self, name: str) -> str:
        if name not in self.numeric:
            raise UserInputError(
                f"datasettet {self.name!r} har ingen tallkolonne {name!r}; velg blant: {', '.join(self.numeric)}"
            )
        return name

    def public(self) -> dict:
        """The catalogue entry shown to researchers (the shape of ``room datasets --json``, docs/analysis-room.md, plus the DCAT ``identifier``)."""
        return {
            "name": self.name,
            "identifier": dataset_identifier("room", self.name),
            "description": self.description,
            "group_by": [c.name for c in self.group_by],
            "numeric": list(self.numeric),
            "contribution_bound": self.rows_per_person,
            "counts": self.counts,
        }


_PERSON_KEYS = (
    GroupColumn("aar", "Calendar year (public range from 2015 to next year).", "aar"),
    GroupColumn("kommunenummer", "Kommune (2024 codes; other codes are dropped when grouped by kommune).",
                "kommunenummer"),
    GroupColumn("fylke", "Fylke (2024) of the kommune.", "fylke"),
    GroupColumn("kjonn", "Legal sex, K or M.", "kjonn"),
    GroupColumn("aldersgruppe", "Age group in that year: " + ", ".join(a for a, _, _ in AGE_GROUPS) + ".",
                "aldersgruppe"),
)
_ALDER = {"alder": "Age reached in the row's year (integer)."}


def _domain_of(column: Column) -> str:
    """The domain name of a contract column: its code list, or ``boolean``."""
    if column.codelist:
        return column.codelist + (f"[{column.codelist_where}]" if column.codelist_where else "")
    if column.type == "boolean":
        return "boolean"
    raise ValueError(f"column {column.name!r} has no code list or boolean type; it cannot be a group-by key")


def _coded(columns: list[Column]) -> tuple[GroupColumn, ...]:
    return tuple(GroupColumn(c.name, c.description, _domain_of(c)) for c in columns)


def _person_keys_sql(year: str, kommune: str = "kommunenummer") -> str:
    age = f"({year} - fodselsaar)"
    return (f"cast({year} as varchar) as aar, cast({kommune} as varchar) as kommunenummer,"
            f" {_fylke_sql(kommune)} as fylke, cast(kjonn as varchar) as kjonn,"
            f" {_age_group_sql(age)} as aldersgruppe, {age} as alder")


def _from_source(source: Source) -> Dataset:
    """A dataset over ``raw.<source>``: one row per extract row, or per active person-year."""
    coded = [source.column(c) for c in source.room_group_by]
    values = ", ".join(f"cast({c.name} as varchar) as {c.name}" for c in coded)
    numeric = dict(_ALDER)
    if source.room_counts == "active_persons":
        start, end = source.period_columns
        last = f"(select max(year({start})) from {source.raw_table})"
        years = (f"unnest(range(greatest(year({start}), {FIRST_PUBLIC_YEAR}),"
                 f" least(coalesce(year({end}), {last}), {last}) + 1)) as y")
        # one row per person, year and coded value with an episode active in that year
        select = (f"select distinct person_id, {_person_keys_sql('y')}, {values}"
                  f" from (select *, {years} from {source.raw_table})")
        description = (f"{source.description} In the room: one row per person, year and "
                       f"{'/'.join(source.room_group_by)} with an episode active in the year; --count counts distinct persons.")
        counts = COUNTS_PERSONS
    else:
        year = source.period.year_sql()
        extra = ""
        if source.period_columns:
            start, end = source.period_columns
            numeric["varighet_dager"] = "Episode length in days (ended episodes only)."
            extra = f", cast({end} - {start} as bigint) as varighet_dager"
        select = f"select person_id, {_person_keys_sql(year)}, {values}{extra} from {source.raw_table}"
        description, counts = source.description, COUNTS_ROWS
    return Dataset(name=source.name, description=description, table=source.raw_table, select_sql=select,
                   group_by=_PERSON_KEYS + _coded(coded), numeric=numeric,
                   rows_per_person=source.rows_per_person, counts=counts, fingerprint_sql=_loads_fingerprint(source))


def _loads_fingerprint(source: Source) -> str:
    """The raw table's row count (DuckDB metadata) and the source's loads in ``ingest.manifest``.

    Ingestion adds rows only in a transaction that also writes the file's manifest row with its
    ``finished_at``, so every load moves the latest ``finished_at``, and every deletion moves the
    count; neither reads a row of the table. (It replaced a scan of every row's lineage, which
    cost a pass over the raw table on every query.) An ``UPDATE`` of raw rows in place is seen by
    neither, as it was not by the lineage scan: raw rows are never updated by the platform.
    """
    return (f"count(*), (select (count(*), max(finished_at)) from ingest.manifest"
            f" where source = '{source.name}' and status = 'loaded')")


def _from_analysis_table(table: AnalysisTable) -> Dataset:
    """A dataset over a dbt-built person-year table (kommune and fylke are already 2024)."""
    coded = [table.column(c) for c in table.room_group_by]
    age = "(aar - fodselsaar)"
    select = ("select person_id, cast(aar as varchar) as aar, cast(kommunenummer as varchar) as kommunenummer,"
              f" cast(fylke as varchar) as fylke, cast(kjonn as varchar) as kjonn,"
              f" {_age_group_sql(age)} as aldersgruppe, "
              + ", ".join(f"cast({c.name} as varchar) as {c.name}" for c in coded) + ", "
              + ", ".join(table.room_numeric) + f" from {table.relation}")
    return Dataset(name=table.name, description=table.description, table=table.relation, select_sql=select,
                   group_by=_PERSON_KEYS + _coded(coded),
                   numeric={c: table.column(c).description or c for c in table.room_numeric},
                   rows_per_person=table.rows_per_person,
                   # dbt rewrites the whole table per run and stamps the run's id in every row, so
                   # one row's id (and the row count, from metadata) identify the build: no scan
                   fingerprint_sql=f"count(*), (select _dbt_invocation_id from {table.relation} limit 1)")


DATASETS: dict[str, Dataset] = {
    **{s.name: _from_source(s) for s in SOURCES.values() if s.rows_per_person is not None},
    **{t.name: _from_analysis_table(t) for t in ANALYSIS_TABLES.values()},
}


def domain(name: str, today: date | None = None) -> tuple[str, ...]:
    """The public keys of one group-by domain, sorted; never read from the data.

    ``today`` is needed for the year domain only (it grows with the calendar).

    >>> domain("kjonn")
    ('K', 'M')
    >>> domain("codelist_tjenestetype.tjenestetype_kode[velferdsteknologi]")
    ('26', '27', '28', '6')
    >>> len(domain("kommunenummer")), len(domain("fylke"))
    (357, 15)
    >>> domain("aar", date(2026, 1, 1))[-1]
    '2027'
    """
    if name == "aar":
        if today is None:
            raise ValueError("the year domain depends on today's date; pass today")
        return tuple(str(y) for y in public_years(today))
    return _static_domain(name)


@cache
def _static_domain(name: str) -> tuple[str, ...]:
    if name == "kjonn":
        return KJONN
    if name == "aldersgruppe":
        return tuple(label for label, _, _ in AGE_GROUPS)
    if name == "boolean":
        return ("false", "true")
    if name == "kommunenummer":
        return tuple(sorted(r["kommunenummer"] for r in read_seed("kommuner_2024")))
    if name == "fylke":
        return tuple(sorted(r["fylkesnummer"] for r in read_seed("fylker_2024")))
    if "." not in name:
        raise ValueError(f"unknown key domain {name!r}")
    seed, _, rest = name.partition(".")
    column, _, where = rest.partition("[")
    return tuple(sorted(codes(seed, column, where=where.rstrip("]") or None)))


def get_dataset(name: str) -> Dataset:
    """A catalogue entry by name; unknown names are a user error.

    >>> get_dataset("person_aar").rows_per_person
    10
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise UserInputError(f"ukjent datasett {name!r}; velg blant: {', '.join(DATASETS)}") from None


def catalogue() -> list[dict]:
    """Every dataset as shown by ``helsedata room datasets``."""
    return [d.public() for d in DATASETS.values()]
