"""The four extract formats (docs/ingestion.md) and the raw tables they load into.

This module is the single definition of each source: the header an extract must have, how each
column is typed, which code list it must belong to, and the shape of its ``raw.*`` table. The
generator (:mod:`synthetic`), ingestion, dbt sources and the quality specs all read it from here.

Person-level sources carry ``fodselsnummer`` in the extract only. In ``raw.*`` it is replaced by
``person_id`` (a keyed HMAC-SHA-256 pseudonym) plus the ``fodselsaar`` and ``kjonn`` derived
from it at ingestion.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of: text, date, integer, boolean, timestamp
    required: bool = True
    codelist: str | None = None  # "seed.column" the value must belong to
    codelist_where: str | None = None  # boolean column of that seed that must also be true
    description: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    description: str  # "One row is ..." — the grain
    columns: tuple[Column, ...]
    #: The date a row's kommunenummer must be valid on.
    kommune_date_column: str | None = None
    #: (start, end) column names where the end may not precede the start.
    period_columns: tuple[str, str] | None = None
    #: Date columns that may not lie in the future.
    date_columns: tuple[str, ...] = field(default=())

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
    Column("kjonn", "text", description="Legal sex from the identity number's ninth digit: M or K."),
)
#: Lineage columns every raw row carries.
LINEAGE_COLUMNS = (
    Column("_file_sha256", "text", description="sha256 of the extract file the row came from."),
    Column("_line_number", "integer", description="Line in that file (the header is line 1)."),
    # dbt source freshness reads this (loaded_at_field); ingestion sets it to the load time, UTC.
    Column("_loaded_at", "timestamp", description="When ingestion loaded the row (UTC)."),
)

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
    date_columns=("kontaktdato",),
)

KPR_TJENESTER = Source(
    name="kpr_tjenester",
    description="One row is one care-service episode a municipality gave a person.",
    columns=(
        FODSELSNUMMER,
        KOMMUNENUMMER,
        Column("tjenestetype", "integer", codelist="codelist_tjenestetype.tjenestetype_kode", description="Service type, Helsedirektoratet code list 9151."),
        Column("startdato", "date", description="First day of the episode."),
        Column("sluttdato", "date", required=False, description="Last day; empty while ongoing."),
    ),
    kommune_date_column="startdato",
    period_columns=("startdato", "sluttdato"),
    date_columns=("startdato", "sluttdato"),
)

VFT_MOTTAKERE = Source(
    name="vft_mottakere",
    description="One row is one welfare-technology service given to one person by a municipality.",
    columns=(
        FODSELSNUMMER,
        KOMMUNENUMMER,
        Column("tjenestetype", "integer", codelist="codelist_tjenestetype.tjenestetype_kode", codelist_where="velferdsteknologi", description="Welfare-technology code of list 9151: 6, 26, 27 or 28."),
        Column("startdato", "date"),
        Column("sluttdato", "date", required=False),
        Column("via_vkp", "boolean", description="Sent through the national welfare-technology hub (VKP)."),
    ),
    kommune_date_column="startdato",
    period_columns=("startdato", "sluttdato"),
    date_columns=("startdato", "sluttdato"),
)

REGISTRY_REPORTING = Source(
    name="registry_reporting",
    description="One row is one reporting unit's deliveries to one health registry in one month.",
    columns=(
        Column("register", "text", codelist="codelist_register.register", description="Registry code."),
        Column("rapporteringsenhet", "text", description="Kommunenummer, or a 9-digit organisation number (mod-11 checked)."),
        Column("periode", "text", description="Reporting month, YYYY-MM."),
        Column("forventet", "integer", description="Deliveries expected."),
        Column("mottatt", "integer", description="Deliveries received."),
        Column("mottatt_digitalt", "integer", description="Of those received, received electronically."),
        Column("mottatt_innen_frist", "integer", description="Of those received, received by the deadline."),
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (KPR_KONTAKTER, KPR_TJENESTER, VFT_MOTTAKERE, REGISTRY_REPORTING)}

_DUCKDB_TYPES = {"text": "VARCHAR", "date": "DATE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP"}


def raw_columns(source: Source) -> tuple[Column, ...]:
    """Columns of ``raw.<source>``: the extract's, with the identity number pseudonymised."""
    data = tuple(c for c in source.columns if c.name != "fodselsnummer")
    person = PERSON_COLUMNS if source.has_identity_number else ()
    return person + data + LINEAGE_COLUMNS


def raw_table_ddl(source: Source) -> str:
    columns = ",\n  ".join(f"{c.name} {_DUCKDB_TYPES[c.type]}" for c in raw_columns(source))
    return f"create table if not exists {source.raw_table} (\n  {columns}\n)"


def get_source(name: str) -> Source:
    from helsedata.errors import UserInputError

    try:
        return SOURCES[name]
    except KeyError:
        raise UserInputError(f"Unknown source {name!r}; choose one of: {', '.join(SOURCES)}") from None
