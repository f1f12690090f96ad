"""The analysis room's dataset catalogue: what researchers can apply for and query.

A dataset is a read-only SQL view over one ``raw.*`` table, with

* ``person_id`` — the privacy unit (one pseudonymised person);
* group-by columns, each with a **public key domain** taken from code lists, the kommune
  reference or a range declared here — never from the data. Every key of the domain appears in
  a release (zero counts too), and rows whose key is outside it are dropped before measurement,
  so a release cannot reveal that an unexpected value (a typo, an old kommune code, a single
  person's odd category) exists;
* numeric columns that sums, means and quantiles may use (integers, clipped to query bounds);
* a **contribution bound** ``k``: at most ``k`` rows per person enter any one query; extra rows of
  a heavy user are dropped (an arbitrary ``k`` of them), which biases counts down for people
  above ``k`` but is what bounds the sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from kernel.codelists import codes
from kernel.errors import UserInputError
from kernel.identifiers import dataset_identifier

#: Years a query can group by. Public and fixed, so a release never reveals which years exist
#: in the data; covers the strategy period (2017 baseline) to the current year plus one.
PUBLIC_YEARS = tuple(range(2015, 2027))

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

#: Rows per person per query (contribution bounds), one documented choice per dataset.
#: Welfare technology: one person has at most one service of each of the four technologies.
VFT_ROWS_PER_PERSON = 4
#: Municipal contacts: 10 covers most people's contacts in a year (GP users average ~3-4);
#: heavy users above 10 are truncated to 10 in a count.
KONTAKTER_ROWS_PER_PERSON = 10
#: Care-service episodes: 5 concurrent or successive episodes per person per query.
TJENESTER_ROWS_PER_PERSON = 5


def _age_group_sql(age: str) -> str:
    whens = " ".join(f"when {age} between {lo} and {hi} then '{label}'" for label, lo, hi in AGE_GROUPS)
    return f"case {whens} end"


@dataclass(frozen=True)
class GroupColumn:
    name: str
    description: str
    domain: str  # key of DOMAINS


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    table: str
    select_sql: str  # person_id, every group column (as varchar) and every numeric column
    group_by: tuple[GroupColumn, ...]
    numeric: dict[str, str]  # column → description
    rows_per_person: int

    def group_column(self, name: str) -> GroupColumn:
        for column in self.group_by:
            if column.name == name:
                return column
        raise UserInputError(
            f"dataset {self.name!r} cannot be grouped by {name!r}; "
            f"choose from: {', '.join(c.name for c in self.group_by)}"
        )

    def numeric_column(self, name: str) -> str:
        if name not in self.numeric:
            raise UserInputError(
                f"dataset {self.name!r} has no numeric column {name!r}; choose from: {', '.join(self.numeric)}"
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
        }


def _common(date_col: str) -> str:
    age = f"(year({date_col}) - fodselsaar)"
    return (
        "person_id,"
        f" cast(year({date_col}) as varchar) as aar,"
        " cast(kommunenummer as varchar) as kommunenummer,"
        " cast(kjonn as varchar) as kjonn,"
        f" {_age_group_sql(age)} as aldersgruppe,"
        f" {age} as alder"
    )


_AAR = GroupColumn("aar", "Calendar year of the row's date (public range).", "aar")
_KOMMUNE = GroupColumn("kommunenummer", "Kommune (2024 codes; other codes are dropped).", "kommunenummer")
_KJONN = GroupColumn("kjonn", "Legal sex, K or M.", "kjonn")
_ALDER = GroupColumn("aldersgruppe", "Age group in that year: " + ", ".join(a for a, _, _ in AGE_GROUPS) + ".", "aldersgruppe")
_ALDER_NUM = {"alder": "Age reached in the row's year (integer)."}

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="vft_mottakere",
            description="Welfare-technology services: one row per service per person (year = start year).",
            table="raw.vft_mottakere",
            select_sql=f"select {_common('startdato')}, cast(tjenestetype as varchar) as tjenestetype,"
            " cast(via_vkp as varchar) as via_vkp from raw.vft_mottakere",
            group_by=(_AAR, _KOMMUNE, _KJONN, _ALDER,
                      GroupColumn("tjenestetype", "Welfare-technology code (list 9151: 6, 26, 27, 28).", "vft_tjenestetype"),
                      GroupColumn("via_vkp", "Sent through the welfare-technology hub: true or false.", "boolean")),
            numeric=_ALDER_NUM,
            rows_per_person=VFT_ROWS_PER_PERSON,
        ),
        Dataset(
            name="kpr_kontakter",
            description="Contacts with municipal health services: one row per contact (year = contact year).",
            table="raw.kpr_kontakter",
            select_sql=f"select {_common('kontaktdato')}, cast(tjenesteyter as varchar) as tjenesteyter,"
            " cast(kontaktform as varchar) as kontaktform from raw.kpr_kontakter",
            group_by=(_AAR, _KOMMUNE, _KJONN, _ALDER,
                      GroupColumn("tjenesteyter", "Kind of service (platform code list).", "tjenesteyter"),
                      GroupColumn("kontaktform", "How the contact took place (platform code list).", "kontaktform")),
            numeric=_ALDER_NUM,
            rows_per_person=KONTAKTER_ROWS_PER_PERSON,
        ),
        Dataset(
            name="kpr_tjenester",
            description="Municipal care-service episodes: one row per episode (year = start year).",
            table="raw.kpr_tjenester",
            select_sql=f"select {_common('startdato')}, cast(tjenestetype as varchar) as tjenestetype,"
            " cast(sluttdato - startdato as bigint) as varighet_dager from raw.kpr_tjenester",
            group_by=(_AAR, _KOMMUNE, _KJONN, _ALDER,
                      GroupColumn("tjenestetype", "Service type (list 9151).", "tjenestetype")),
            numeric={**_ALDER_NUM, "varighet_dager": "Episode length in days (ended episodes only)."},
            rows_per_person=TJENESTER_ROWS_PER_PERSON,
        ),
    )
}


@cache
def domain(name: str) -> tuple[str, ...]:
    """The public keys of one group-by domain, sorted; never read from the data.

    >>> domain("kjonn")
    ('K', 'M')
    >>> domain("vft_tjenestetype")
    ('26', '27', '28', '6')
    >>> len(domain("kommunenummer"))
    357
    """
    if name == "aar":
        return tuple(str(y) for y in PUBLIC_YEARS)
    if name == "kjonn":
        return KJONN
    if name == "aldersgruppe":
        return tuple(label for label, _, _ in AGE_GROUPS)
    if name == "boolean":
        return ("false", "true")
    sources = {
        "kommunenummer": ("kommuner_2024", "kommunenummer", None),
        "tjenestetype": ("codelist_tjenestetype", "tjenestetype_kode", None),
        "vft_tjenestetype": ("codelist_tjenestetype", "tjenestetype_kode", "velferdsteknologi"),
        "tjenesteyter": ("codelist_tjenesteyter", "tjenesteyter", None),
        "kontaktform": ("codelist_kontaktform", "kontaktform", None),
    }
    if name not in sources:
        raise ValueError(f"unknown key domain {name!r}")
    seed, column, where = sources[name]
    return tuple(sorted(codes(seed, column, where=where)))


def get_dataset(name: str) -> Dataset:
    """A catalogue entry by name; unknown names are a user error.

    >>> get_dataset("vft_mottakere").rows_per_person
    4
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise UserInputError(f"unknown dataset {name!r}; choose from: {', '.join(DATASETS)}") from None


def catalogue() -> list[dict]:
    """Every dataset as shown by ``helsedata room datasets``."""
    return [d.public() for d in DATASETS.values()]
