"""The source contract: the four extract formats and the raw tables they load into.

This module is the single definition of each source: the header an extract must have, how each
column is typed, which code list it must belong to, its business key, the column that places a row
in time, its count-consistency rules, and the shape of its ``raw.*`` table. The generator
(:mod:`synthetic`), ingestion's rules, the quality specs, dbt's ``__sources.yml`` and the analysis
room's catalogue are generated from it or checked against it by a test (docs/architecture.md).
Adding a source is one declaration here plus its dbt staging model.

Person-level sources carry ``fodselsnummer`` in the extract only. In ``raw.*`` it is replaced by
``person_id`` (a keyed HMAC-SHA-256 pseudonym) plus the ``fodselsaar`` and ``kjonn`` derived
from it at ingestion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

#: A reporting month as written in extracts and ``raw.*``: ``YYYY-MM``. The one pattern; Polars
#: (ingestion) and DuckDB (quality) both take it as written.
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

#: The warehouse type of each contract type.
DUCKDB_TYPES = {"text": "VARCHAR", "date": "DATE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of: text, date, integer, boolean, timestamp
    required: bool = True
    codelist: str | None = None  # "seed.column" the value must belong to
    codelist_where: str | None = None  # boolean column of that seed that must also be true
    description: str = ""


@dataclass(frozen=True)
class Period:
    """The column that places a row in time: a date, or a month written ``YYYY-MM``."""

    column: str
    grain: Literal["day", "month"] = "day"

    def first_day_sql(self) -> str:
        """SQL for the first day of the row's period (a DATE)."""
        return self.column if self.grain == "day" else f"cast({self.column} || '-01' as date)"

    def year_sql(self) -> str:
        return f"year({self.first_day_sql()})"


@dataclass(frozen=True)
class CountRule:
    """A count-consistency rule: ``part`` never exceeds ``whole`` (both non-negative counts)."""

    part: str
    whole: str


@dataclass(frozen=True)
class Source:
    name: str
    description: str  # "One row is ..." — the grain
    columns: tuple[Column, ...]
    #: The row's event date: its kommunenummer must be valid on it, the person born by it, and it
    #: may not precede :attr:`first_day`.
    kommune_date_column: str | None = None
    #: The first day the source has data for (see :data:`FIRST_DAYS`); an earlier event date
    #: (or ``periode``) is quarantined as ``date_before_source``.
    first_day: dt.date = dt.date.min
    #: (start, end) column names where the end may not precede the start.
    period_columns: tuple[str, str] | None = None
    #: Date columns that may not lie in the future.
    date_columns: tuple[str, ...] = field(default=())
    #: The column that places a row in time (timeliness, period comparisons).
    period: Period | None = None
    #: The columns that identify one row of the extract's subject, when it has one.
    business_key: tuple[str, ...] = ()
    #: The reporting unit a row belongs to (coverage, period comparisons).
    unit_column: str = "kommunenummer"
    #: The unit may also be a 9-digit organisation number (mod-11), not only a kommunenummer.
    unit_may_be_orgnr: bool = False
    #: Non-negative count columns, and the rules between them.
    count_columns: tuple[str, ...] = ()
    count_rules: tuple[CountRule, ...] = ()
    #: Analysis room: the most rows one person contributes to a query (the contribution bound that
    #: sets a DP release's sensitivity); ``None`` when the source is not offered in the room.
    rows_per_person: int | None = None
    #: Analysis room: coded columns researchers may group by, besides the person keys.
    room_group_by: tuple[str, ...] = ()
    #: Analysis room: what one row of the room's dataset is and what a count counts. ``"rows"``:
    #: one row per extract row, counted as rows. ``"active_persons"``: each row becomes one row per
    #: year its :attr:`period_columns` are active (the marts' "gjennom året" rule) and a count is
    #: of distinct persons in each cell, so the room's count by year is the published series.
    room_counts: Literal["rows", "active_persons"] = "rows"

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def has_identity_number(self) -> bool:
        return "fodselsnummer" in self.header

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# Pseudonymised person columns that replace ``fodselsnummer`` in raw tables.
PERSON_COLUMNS = (
    Column("person_id", "text", description="Keyed HMAC-SHA-256 pseudonym of the identity number (hex)."),
    Column("fodselsaar", "integer", description="Birth year, derived from the identity number."),
    Column("kjonn", "text", description="Legal sex from the identity number's ninth digit: M or K; null (unknown) for gender-neutral numbers (issued from 2032)."),
)
#: Lineage columns every raw row carries.
LINEAGE_COLUMNS = (
    Column("_file_sha256", "text", description="sha256 of the extract file the row came from."),
    Column("_line_number", "integer", description="Line in that file (the header is line 1)."),
    # dbt source freshness reads this (loaded_at_field); ingestion sets it to the load time, UTC.
    Column("_loaded_at", "timestamp", description="When ingestion loaded the row (UTC)."),
)

#: Where each source's first day comes from. KPR (Kommunalt pasient- og brukerregister) was set up
#: in 2017 and holds contacts and registry deliveries from 1 January 2017 — the first year of the
#: extracts and of every indicator. Care-service and welfare-technology episodes go further back:
#: KPR took over IPLOS, whose episodes run from 2007, so an episode running in 2017 may have
#: started as early as 1 January 2007 (the synthetic extracts draw such running episodes up to ten
#: years back, never earlier).
KPR_FIRST_DAY = dt.date(2017, 1, 1)
IPLOS_FIRST_DAY = dt.date(2007, 1, 1)

FODSELSNUMMER = Column("fodselsnummer", "text", description="Identity number (fodselsnummer, D-, H- or synthetic number). Never stored.")
KOMMUNENUMMER = Column("kommunenummer", "text", description="Four-digit municipality code valid on the row's date.")

KPR_KONTAKTER = Source(
    name="kpr_kontakter",
    description="One row is one contact between a person and a municipal health service.",
    columns=(
        FODSELSNUMMER,
        KOMMUNENUMMER,
        Column("kontaktdato", "date", description="Date of the contact."),
        Column("tjenesteyter", "text", codelist="codelist_tjenesteyter.tjenesteyter", description="Kind of service (GP, out-of-hours...)."),
        Column("kontaktform", "text", codelist="codelist_kontaktform.kontaktform", description="How the contact took place."),
    ),
    kommune_date_column="kontaktdato",
    first_day=KPR_FIRST_DAY,
    date_columns=("kontaktdato",),
    period=Period("kontaktdato"),
    # 10 covers most people's contacts in a year (GP users average 3-4); heavier users are truncated.
    rows_per_person=10,
    room_group_by=("tjenesteyter", "kontaktform"),
)

KPR_TJENESTER = Source(
    name="kpr_tjenester",
    description="One row is one care-service episode a municipality gave a person.",
    columns=(
        FODSELSNUMMER,
        KOMMUNENUMMER,
        Column("tjenestetype", "integer", codelist="codelist_tjenestetype.tjenestetype_kode", description="Service type, Helsedirektoratet code list 9151."),
        Column("startdato", "date", description="First day of the care-service episode."),
        Column("sluttdato", "date", required=False, description="Last day of the episode; null while ongoing."),
    ),
    kommune_date_column="startdato",
    first_day=IPLOS_FIRST_DAY,
    period_columns=("startdato", "sluttdato"),
    date_columns=("startdato", "sluttdato"),
    period=Period("startdato"),
    # Five concurrent or successive care episodes per person per query.
    rows_per_person=5,
    room_group_by=("tjenestetype",),
)

VFT_MOTTAKERE = Source(
    name="vft_mottakere",
    description="One row is one welfare-technology service given to one person by a municipality.",
    columns=(
        FODSELSNUMMER,
        KOMMUNENUMMER,
        Column("tjenestetype", "integer", codelist="codelist_tjenestetype.tjenestetype_kode", codelist_where="velferdsteknologi", description="Welfare-technology code of list 9151: 6, 26, 27 or 28."),
        Column("startdato", "date", description="First day of the service."),
        Column("sluttdato", "date", required=False, description="Last day of the service; null while ongoing."),
        Column("via_vkp", "boolean", description="The service's data is sent through the national welfare-technology hub (VKP)."),
    ),
    kommune_date_column="startdato",
    first_day=IPLOS_FIRST_DAY,
    period_columns=("startdato", "sluttdato"),
    date_columns=("startdato", "sluttdato"),
    period=Period("startdato"),
    # In the room one row is a person, year and technology in which a service was active: ten
    # covers one technology for ten years or two for five; more is truncated to ten.
    rows_per_person=10,
    room_group_by=("tjenestetype", "via_vkp"),
    room_counts="active_persons",
)

REGISTRY_REPORTING = Source(
    name="registry_reporting",
    description="One row is one reporting unit's deliveries to one health registry in one month.",
    columns=(
        Column("register", "text", codelist="codelist_register.register", description="Registry code."),
        Column("rapporteringsenhet", "text", description="Reporting unit, a kommunenummer or a 9-digit organisation number (mod-11 checked)."),
        Column("periode", "text", description="Reporting month, YYYY-MM."),
        Column("forventet", "integer", description="Deliveries the registry expected from the unit in the month."),
        Column("mottatt", "integer", description="Deliveries received (may exceed forventet when a unit over-delivers)."),
        Column("mottatt_digitalt", "integer", description="Of the deliveries received, those received electronically."),
        Column("mottatt_innen_frist", "integer", description="Of the deliveries received, those received by the reporting deadline."),
    ),
    period=Period("periode", grain="month"),
    business_key=("register", "rapporteringsenhet", "periode"),
    unit_column="rapporteringsenhet",
    unit_may_be_orgnr=True,
    count_columns=("forventet", "mottatt", "mottatt_digitalt", "mottatt_innen_frist"),
    count_rules=(CountRule("mottatt_digitalt", "mottatt"), CountRule("mottatt_innen_frist", "mottatt")),
    first_day=KPR_FIRST_DAY,
)

SOURCES: dict[str, Source] = {s.name: s for s in (KPR_KONTAKTER, KPR_TJENESTER, VFT_MOTTAKERE, REGISTRY_REPORTING)}


@dataclass(frozen=True)
class AnalysisTable:
    """A person-level table that dbt builds for the analysis room from several sources.

    Not an extract: nothing is ingested into it. The room offers it like a source, with the
    person keys (``aar`` is a column here, not a date's year) plus :attr:`room_group_by` (flags and
    coded columns) and :attr:`room_numeric`.
    """

    name: str
    description: str
    relation: str  # schema.table that dbt writes
    columns: tuple[Column, ...]
    #: The most rows one person has (one per year of the dbt year spine).
    rows_per_person: int
    room_group_by: tuple[str, ...]
    room_numeric: tuple[str, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


#: Years of dbt's person-year spine (vars first_year..last_year in dbt_project.yml; a test keeps
#: them equal): the contribution bound of person-year tables.
PERSON_YEAR_SPINE = (2017, 2026)

_FLAG = "boolean"
PERSON_AAR = AnalysisTable(
    name="person_aar",
    description="One row per person and year with welfare technology, care services or KPR contacts, linked "
                "(dbt model analysis.person_aar; has_vft is the published 'mottakere gjennom året' rule).",
    relation="analysis.person_aar",
    columns=(
        Column("person_id", "text"),
        Column("aar", "integer", description="The year."),
        Column("kommunenummer", "text", description="2024 kommune of the person-year."),
        Column("fylke", "text", description="Fylke of that kommune."),
        Column("kjonn", "text", required=False),
        Column("fodselsaar", "integer", required=False),
        Column("alder", "integer", required=False, description="Age reached in the year."),
        Column("has_vft", _FLAG, description="A welfare-technology service active in the year."),
        Column("has_vft_6", _FLAG, description="Trygghetsalarm (code 6) active in the year."),
        Column("has_vft_26", _FLAG, description="Welfare technology code 26 active in the year."),
        Column("has_vft_27", _FLAG, description="Welfare technology code 27 active in the year."),
        Column("has_vft_28", _FLAG, description="Welfare technology code 28 active in the year."),
        Column("has_vft_vkp", _FLAG, description="A welfare-technology service that year went through VKP."),
        Column("n_vft_teknologier", "integer", description="Distinct welfare technologies active in the year."),
        Column("has_tjenester", _FLAG, description="A municipal care-service episode active in the year."),
        Column("n_tjenester", "integer", description="Care-service episodes active in the year."),
        Column("n_tjenestetyper", "integer", description="Distinct kinds of care service active in the year."),
        Column("n_kontakter", "integer", description="KPR contacts in the year."),
        Column("n_kontakter_digitale", "integer", description="Of those, contacts in a digital form."),
        Column("_dbt_invocation_id", "text", description="The dbt run that built the table (same in every row)."),
    ),
    rows_per_person=PERSON_YEAR_SPINE[1] - PERSON_YEAR_SPINE[0] + 1,
    room_group_by=("has_vft", "has_vft_6", "has_vft_26", "has_vft_27", "has_vft_28", "has_vft_vkp", "has_tjenester"),
    room_numeric=("alder", "n_vft_teknologier", "n_tjenester", "n_tjenestetyper", "n_kontakter", "n_kontakter_digitale"),
)

ANALYSIS_TABLES: dict[str, AnalysisTable] = {PERSON_AAR.name: PERSON_AAR}


def raw_columns(source: Source) -> tuple[Column, ...]:
    """Columns of ``raw.<source>``: the extract's, with the identity number pseudonymised."""
    data = tuple(c for c in source.columns if c.name != "fodselsnummer")
    person = PERSON_COLUMNS if source.has_identity_number else ()
    return person + data + LINEAGE_COLUMNS


def raw_table_ddl(source: Source) -> str:
    columns = ",\n  ".join(f"{c.name} {DUCKDB_TYPES[c.type]}" for c in raw_columns(source))
    return f"create table if not exists {source.raw_table} (\n  {columns}\n)"


def get_source(name: str) -> Source:
    from kernel.errors import UserInputError

    try:
        return SOURCES[name]
    except KeyError:
        raise UserInputError(f"ukjent kilde {name!r}; velg en av: {', '.join(SOURCES)}") from None
