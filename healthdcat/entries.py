"""What the catalogue says about each dataset: fixed descriptions plus facts read from the warehouse.

:func:`collect` returns one :class:`Entry` per dataset one can apply for or read:

* every raw source (``raw.*``, NON_PUBLIC: pseudonymised rows, reached only by application);
* every analysis-room dataset (NON_PUBLIC: differentially private queries under a permit);
* every published table that exists (``public.*``, PUBLIC: after disclosure control).

Counts are rounded by :func:`safe_count` before they leave the warehouse, so the catalogue
discloses nothing a small cell would: fewer than :data:`MIN_DISCLOSED` is not stated at all,
larger counts are given to two significant digits and never finer than the nearest hundred.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import duckdb

from kernel.identifiers import DatasetKind, dataset_identifier

#: Counts below this are left out of the catalogue.
MIN_DISCLOSED = 100


@dataclass(frozen=True)
class Text:
    nb: str
    en: str


@dataclass(frozen=True)
class CodingSystem:
    iri: str
    label: str


@dataclass(frozen=True)
class QualityLabel:
    """The newest quality label of the dataset the entry is built on (quality.latest_labels)."""

    label: str
    run_id: str
    computed_at: dt.datetime
    reasons: tuple[str, ...]
    changes: tuple[str, ...]
    access: str | None


@dataclass(frozen=True)
class Entry:
    kind: DatasetKind
    name: str  # the table or room dataset name
    table: str  # the warehouse table the facts come from
    title: Text
    description: Text
    keywords: tuple[Text, ...]
    provenance: Text
    population: Text
    coding_systems: tuple[CodingSystem, ...]
    records: int | None = None
    individuals: int | None = None
    temporal: tuple[dt.date, dt.date] | None = None
    typical_age: tuple[int, int] | None = None
    retained_since: dt.date | None = None
    quality: QualityLabel | None = None
    distributions: tuple[Text, ...] = field(default=())

    @property
    def identifier(self) -> str:
        return dataset_identifier(self.kind, self.name)

    @property
    def public(self) -> bool:
        return self.kind == "public"


def safe_count(n: int | None) -> int | None:
    """A count as the catalogue may state it: None under 100, else 2 significant digits (≥ 100s).

    >>> [safe_count(n) for n in (None, 0, 99, 100, 149, 150, 1_234, 16_648, 162_212_345)]
    [None, None, None, 100, 100, 200, 1200, 17000, 160000000]
    """
    if n is None or n < MIN_DISCLOSED:
        return None
    step = max(100, 10 ** (len(str(n)) - 2))
    return (n + step // 2) // step * step


KOMMUNE = CodingSystem("https://www.ssb.no/klass/klassifikasjoner/131", "SSB Standard for kommuneinndeling (KLASS 131)")
TJENESTETYPE = CodingSystem("urn:helsedata:codelist:codelist_tjenestetype",
                            "Helsedirektoratets kodeverk 9151 for kommunale helse- og omsorgstjenester")
TJENESTEYTER = CodingSystem("urn:helsedata:codelist:codelist_tjenesteyter", "Plattformens kodeliste for tjenesteyter")
KONTAKTFORM = CodingSystem("urn:helsedata:codelist:codelist_kontaktform", "Plattformens kodeliste for kontaktform")
REGISTER = CodingSystem("urn:helsedata:codelist:codelist_register", "Plattformens kodeliste for helseregistre")
INDIKATOR = CodingSystem("urn:helsedata:codelist:indicator_definitions", "Plattformens indikatordefinisjoner")

_PERSONS = Text("Personer i Norge som har fått tjenesten, registrert av kommunene.",
                "Persons in Norway who received the service, as recorded by the municipalities.")
_LOAD = Text("Månedlige uttrekk fra kilden, validert og pseudonymisert ved innlasting (helsedata ingest): "
             "fødselsnummer erstattet av et nøkkelbasert pseudonym, fødselsår og kjønn avledet.",
             "Monthly extracts from the source, validated and pseudonymised at load (helsedata ingest): "
             "the identity number replaced by a keyed pseudonym, birth year and sex derived.")


@dataclass(frozen=True)
class _Source:
    title: Text
    description: Text
    keywords: tuple[Text, ...]
    population: Text
    coding_systems: tuple[CodingSystem, ...]
    date_sql: str  # the row's own date, for temporal coverage
    age_sql: str | None  # age in the row's year, for the typical age range


#: Fixed descriptions of each raw source (what the warehouse cannot tell).
SOURCES: dict[str, _Source] = {
    "kpr_kontakter": _Source(
        Text("KPR: kontakter med kommunale helsetjenester", "KPR: contacts with municipal health services"),
        Text("Én rad per kontakt mellom en person og en kommunal helsetjeneste (fastlege, legevakt m.m.), "
             "fra Kommunalt pasient- og brukerregister.",
             "One row per contact between a person and a municipal health service (GP, out-of-hours care "
             "and others), from the Norwegian Registry for Primary Health Care."),
        (Text("primærhelsetjeneste", "primary care"), Text("KPR", "KPR"), Text("konsultasjon", "consultation")),
        _PERSONS, (KOMMUNE, TJENESTEYTER, KONTAKTFORM), "kontaktdato", "year(kontaktdato) - fodselsaar"),
    "kpr_tjenester": _Source(
        Text("KPR: kommunale helse- og omsorgstjenester", "KPR: municipal health and care services"),
        Text("Én rad per tjenesteperiode en kommune har gitt en person (hjemmetjenester, sykehjem m.m.).",
             "One row per care-service episode a municipality gave a person (home care, nursing homes "
             "and others)."),
        (Text("omsorgstjenester", "care services"), Text("KPR", "KPR"), Text("pleie", "nursing")),
        _PERSONS, (KOMMUNE, TJENESTETYPE), "startdato", "year(startdato) - fodselsaar"),
    "vft_mottakere": _Source(
        Text("Mottakere av velferdsteknologi", "Recipients of welfare technology"),
        Text("Én rad per velferdsteknologisk tjeneste (trygghetsalarm, elektronisk medisineringsstøtte, "
             "lokaliseringsteknologi, digitalt tilsyn) gitt til én person av en kommune.",
             "One row per welfare-technology service (safety alarm, medication support, location "
             "technology, digital supervision) given to one person by a municipality."),
        (Text("velferdsteknologi", "welfare technology"), Text("trygghetsalarm", "safety alarm"),
         Text("eldre", "older people")),
        _PERSONS, (KOMMUNE, TJENESTETYPE), "startdato", "year(startdato) - fodselsaar"),
    "registry_reporting": _Source(
        Text("Rapportering til helseregistre", "Reporting to health registries"),
        Text("Én rad per rapporteringsenhet (kommune eller virksomhet), register og måned: forventede og "
             "mottatte leveranser. Inneholder ingen personopplysninger.",
             "One row per reporting unit (kommune or organisation), registry and month: deliveries expected "
             "and received. Holds no personal data."),
        (Text("helseregistre", "health registries"), Text("dekningsgrad", "coverage"),
         Text("rapportering", "reporting")),
        Text("Alle kommuner og virksomheter som skal rapportere til registrene.",
             "Every kommune and organisation obliged to report to the registries."),
        (KOMMUNE, REGISTER), "cast(strptime(periode, '%Y-%m') as date)", None),
}

#: Fixed descriptions of the published tables.
PUBLISHED: dict[str, tuple[Text, Text, tuple[CodingSystem, ...]]] = {
    "public.indicator_values": (
        Text("Indikatorer for helse og omsorg i kommunene", "Indicators of municipal health and care"),
        Text("Indikatorverdier per år og kommune, fylke og land, etter avsløringskontroll: antall på 1–5 "
             "personer er prikket (med sekundærprikking), andre antall avrundet til nærmeste 5.",
             "Indicator values per year for kommuner, fylker and the nation after disclosure control: counts "
             "of 1–5 persons are suppressed (with secondary suppression), others rounded to the nearest 5."),
        (KOMMUNE, INDIKATOR)),
    "public.indicator_status": (
        Text("Status for indikatorene mot målene", "Status of the indicators against their targets"),
        Text("Trend og trafikklys per indikator på nasjonale årsverdier, etter avsløringskontroll.",
             "Trend and traffic light per indicator on national annual values, after disclosure control."),
        (INDIKATOR,)),
    "public.registry_reporting_coverage": (
        Text("Dekningsgrad i rapporteringen til helseregistre", "Coverage of reporting to health registries"),
        Text("Andel forventede leveranser mottatt per register, rapporteringsenhet og måned.",
             "Share of expected deliveries received per registry, reporting unit and month."),
        (KOMMUNE, REGISTER)),
}


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, name]).fetchone()[0] > 0


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, QualityLabel]:
    if not _table_exists(con, "quality.labels"):
        return {}
    from quality.store import latest_labels

    out = {}
    for dataset, row in latest_labels(con).items():
        out[dataset] = QualityLabel(row["label"], row["run_id"], row["computed_at"],
                                    tuple(json.loads(row["reasons"] or "[]")),
                                    tuple(json.loads(row.get("changes") or "[]")), row.get("access"))
    return out


def _first_load(con: duckdb.DuckDBPyConnection, source: str) -> dt.date | None:
    if not _table_exists(con, "ingest.manifest"):
        return None
    first = con.execute("select min(finished_at) from ingest.manifest where source = ? and status = 'loaded'",
                        [source]).fetchone()[0]
    return None if first is None else first.date()


def _raw_facts(con: duckdb.DuckDBPyConnection, name: str, source: _Source) -> dict:
    table = f"raw.{name}"
    persons = "count(distinct person_id)" if source.age_sql else "null"
    records, individuals, start, end = con.execute(
        f"select count(*), {persons}, min({source.date_sql}), max({source.date_sql}) from {table}").fetchone()
    age = None
    if source.age_sql and records:
        low, high = con.execute(f"select quantile_disc({source.age_sql}, 0.05), quantile_disc({source.age_sql}, 0.95) "
                                f"from {table}").fetchone()
        if low is not None:
            age = (max(0, int(low) // 5 * 5), int(high + 4) // 5 * 5)
    return {"records": safe_count(records), "individuals": safe_count(individuals),
            "temporal": (start, end) if start else None, "typical_age": age,
            "retained_since": _first_load(con, name)}


#: Room datasets that are not a raw source: linked analysis tables built by dbt.
LINKED: dict[str, _Source] = {
    "person_aar": _Source(
        Text("Analyserommet: personår med velferdsteknologi, tjenester og kontakter",
             "Analysis room: person-years with welfare technology, services and contacts"),
        Text("Én rad per pseudonymisert person og år som kobler velferdsteknologi, kommunale pleie- og "
             "omsorgstjenester og KPR-kontakter, med de offentlige nøklene år, kommune, fylke, kjønn og "
             "aldersgruppe.",
             "One row per pseudonymised person and year linking welfare technology, municipal care services "
             "and KPR contacts, with the public keys year, kommune, fylke, sex and age group."),
        (Text("velferdsteknologi", "welfare technology"), Text("KPR", "KPR"), Text("kobling", "linkage")),
        _PERSONS, (KOMMUNE, TJENESTETYPE), "make_date(aar, 1, 1)", None),
}

_APPLY = Text("Søknad om datatilgang til Helsedataservice", "Data access application to Helsedataservice")
_ROOM = Text("Analyserommet: spørringer med differensielt personvern under en datatilgangstillatelse",
             "The analysis room: differentially private queries under a data permit")


def collect(con: duckdb.DuckDBPyConnection) -> list[Entry]:
    """Every catalogue entry, with facts from the warehouse behind ``con`` (read-only is enough)."""
    from privacy.catalogue import DATASETS

    labels = _labels(con)
    entries = []
    for name, source in SOURCES.items():
        table = f"raw.{name}"
        facts = _raw_facts(con, name, source) if _table_exists(con, table) else {}
        common = dict(keywords=source.keywords, population=source.population,
                      coding_systems=source.coding_systems, quality=labels.get(table), **facts)
        entries.append(Entry("raw", name, table, source.title, source.description, provenance=_LOAD,
                             distributions=(_APPLY,), **common))
        room = DATASETS.get(name)
        if room is not None:
            entries.append(Entry(
                "room", name, table,
                Text(f"Analyserommet: {source.title.nb}", f"Analysis room: {source.title.en}"),
                Text(f"{source.description.nb} Spørres i analyserommet gruppert på "
                     f"{', '.join(c.name for c in room.group_by)}; høyst {room.rows_per_person} rader per "
                     "person per spørring.", f"{room.description} Grouped by "
                     f"{', '.join(c.name for c in room.group_by)}; at most {room.rows_per_person} rows per "
                     "person per query."),
                provenance=Text(f"Visning over {table} i analyserommet (privacy.catalogue); hvert svar lages "
                                "av OpenDP med støy etter personvernbudsjettet i tillatelsen.",
                                f"A view over {table} in the analysis room (privacy.catalogue); every answer "
                                "is made by OpenDP with noise, charged to the permit's privacy budget."),
                distributions=(_APPLY, _ROOM), **common))
    for name, room in DATASETS.items():
        if name in SOURCES or name not in LINKED or not _table_exists(con, room.table):
            continue
        source = LINKED[name]
        records, individuals, start, end = con.execute(
            f"select count(*), count(distinct person_id), min(aar), max(aar) from {room.table}").fetchone()
        entries.append(Entry(
            "room", name, room.table, source.title, source.description, keywords=source.keywords,
            provenance=Text(f"Bygget av dbt fra de pseudonymiserte rådataene ({room.table}); hvert svar lages av "
                            "OpenDP med støy etter personvernbudsjettet i tillatelsen.",
                            f"Built by dbt from the pseudonymised raw data ({room.table}); every answer is made "
                            "by OpenDP with noise, charged to the permit's privacy budget."),
            population=source.population, coding_systems=source.coding_systems,
            records=safe_count(records), individuals=safe_count(individuals),
            temporal=(dt.date(start, 1, 1), dt.date(end, 12, 31)) if start else None,
            quality=labels.get(room.table), distributions=(_APPLY, _ROOM)))
    for table, (title, description, coding) in PUBLISHED.items():
        if not _table_exists(con, table):
            continue
        records = con.execute(f"select count(*) from {table}").fetchone()[0]
        temporal = None
        if table == "public.indicator_values":
            start, end = con.execute("select min(period_start), max(period_start) from public.indicator_values"
                                     ).fetchone()
            temporal = (start, dt.date(end.year, 12, 31)) if start else None
        mart = "marts.mart_" + table.removeprefix("public.")
        entries.append(Entry(
            "public", table, table, title, description,
            keywords=(Text("indikatorer", "indicators"), Text("kommunehelse", "municipal health"),
                      Text("offentlig statistikk", "official statistics")),
            provenance=Text(f"Bygget av dbt fra råkildene ({mart}), kvalitetskontrollert og publisert med "
                            "avsløringskontroll (helsedata publish).",
                            f"Built by dbt from the raw sources ({mart}), quality-checked and published with "
                            "disclosure control (helsedata publish)."),
            population=Text("Aggregater for alle kommuner, fylker og landet.",
                            "Aggregates for every kommune, fylke and the nation."),
            coding_systems=coding, records=safe_count(records), temporal=temporal,
            quality=labels.get(mart),
            distributions=(Text(f"Tabellen {table} og indikatorrapporten", f"The table {table} and the "
                                "indicator report"),)))
    return entries
