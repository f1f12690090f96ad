"""Which kommunenummer are valid on a given date (SSB Klass 131, 2017–today).

Extracts carry the municipality code that was valid on the row's date, so a 2019 row from
Trondheim says ``5001`` and a 2024 row ``5001`` too, while a 2019 row from Stavanger's old
neighbour Finnøy says ``1141``, a code that ended on 2020-01-01. Ingestion validates "valid on
the row's date" and the synthetic generator writes such codes; both use this module so they
agree.

The rule, version by version (a *version* is a code list valid from a 1 January):

* 2018-01-01 … 2023-12-31: the codes of the Klass version of that year, read from
  ``kommune_crosswalk_to_2024.csv`` (``source_year`` 2018–2023; its 2021 rows are the 2020
  version, valid 2020-01-01 to 2021-12-31). Years with equal lists form one version.
* from 2024-01-01: the 357 codes of ``kommuner_2024.csv`` (still valid in 2025 and 2026).
* before 2018-01-01: the 2018 list, plus the codes that ended on 2018-01-01 (``old`` side of a
  code-changing row of ``kommune_changes.csv`` dated 2018-01-01), minus the codes created that
  day (``new`` side of those rows). This is exact for 2017. For earlier dates it is an
  approximation: the changes of 2017-01-01 and before are not reversed, because the data have
  no rows before 2017.

Code ``9999`` ("Uoppgitt", unknown) is never valid here.

Intervals in :func:`kommune_validity` follow Klass: ``valid_from`` is the first valid day,
``valid_to`` the first day no longer valid (exclusive), ``None`` for "open".
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from kernel.codelists import read_seed

#: First and last ``source_year`` of the crosswalk (the Klass versions it was built from).
CROSSWALK_FIRST_YEAR = 2018
CROSSWALK_LAST_YEAR = 2023
#: The current code list starts here (the 2024 reform).
CURRENT_FROM = dt.date(2024, 1, 1)
#: The "unknown" code of Klass 131; not a kommune.
UNKNOWN_CODE = "9999"


class KommuneValidity(NamedTuple):
    """One interval during which ``kommunenummer`` was a valid code (``valid_to`` exclusive)."""

    kommunenummer: str
    valid_from: dt.date | None  # None: valid since before 2017 (start unknown here)
    valid_to: dt.date | None  # None: still valid


class Version(NamedTuple):
    """One code list and the first day it applies (None for the derived pre-2018 list)."""

    valid_from: dt.date | None
    codes: frozenset[str]


def _changes_on(day: dt.date) -> list[dict[str, str]]:
    iso = day.isoformat()
    return [r for r in read_seed("kommune_changes") if r["change_date"] == iso and r["code_changed"] == "true"]


def _pre_2018_codes(codes_2018: frozenset[str]) -> frozenset[str]:
    """2018 list + codes that ended on 2018-01-01 − codes created that day (see module doc)."""
    rows = _changes_on(dt.date(CROSSWALK_FIRST_YEAR, 1, 1))
    ended = {r["old_kommunenummer"] for r in rows}
    created = {r["new_kommunenummer"] for r in rows} - ended
    return frozenset((codes_2018 | ended) - created)


@cache
def versions() -> tuple[Version, ...]:
    """The code lists in date order; the first one (``valid_from`` None) is the pre-2018 list."""
    by_year: dict[int, set[str]] = {}
    for row in read_seed("kommune_crosswalk_to_2024"):
        if row["source_kommunenummer"] != UNKNOWN_CODE:
            by_year.setdefault(int(row["source_year"]), set()).add(row["source_kommunenummer"])
    expected = set(range(CROSSWALK_FIRST_YEAR, CROSSWALK_LAST_YEAR + 1))
    if set(by_year) != expected:
        raise ValueError(f"kommune_crosswalk_to_2024 should cover source years {sorted(expected)}, has {sorted(by_year)}")
    current = frozenset(r["kommunenummer"] for r in read_seed("kommuner_2024"))
    yearly = [(dt.date(y, 1, 1), frozenset(by_year[y])) for y in sorted(by_year)] + [(CURRENT_FROM, current)]
    merged: list[Version] = [Version(None, _pre_2018_codes(yearly[0][1]))]
    for valid_from, codes in yearly:
        if codes != merged[-1].codes:
            merged.append(Version(valid_from, codes))
    return tuple(merged)


def version_index(on: dt.date) -> int:
    """Index into :func:`versions` of the code list that applies on ``on``."""
    starts = [v.valid_from for v in versions()[1:]]
    return bisect_right(starts, on)


def valid_kommunenummer(on: dt.date) -> frozenset[str]:
    """The kommunenummer valid on ``on``.

    >>> d = dt.date
    >>> "1141" in valid_kommunenummer(d(2019, 6, 1)), "1141" in valid_kommunenummer(d(2020, 1, 1))
    (True, False)
    >>> "1601" in valid_kommunenummer(d(2017, 12, 31)), "5001" in valid_kommunenummer(d(2017, 12, 31))
    (True, False)
    >>> len(valid_kommunenummer(d(2024, 1, 1))), len(valid_kommunenummer(d(2021, 7, 1)))
    (357, 356)
    """
    return versions()[version_index(on)].codes


def kommune_validity() -> list[KommuneValidity]:
    """Every (kommunenummer, valid_from, valid_to) interval, sorted; ``valid_to`` is exclusive.

    A row dated ``d`` has a valid code when some interval has
    ``(valid_from is None or valid_from <= d) and (valid_to is None or d < valid_to)``.

    >>> [v for v in kommune_validity() if v.kommunenummer == "1507"]
    [KommuneValidity(kommunenummer='1507', valid_from=datetime.date(2020, 1, 1), valid_to=datetime.date(2024, 1, 1))]
    >>> [v for v in kommune_validity() if v.kommunenummer == "0301"]
    [KommuneValidity(kommunenummer='0301', valid_from=None, valid_to=None)]
    """
    vs = versions()
    out: list[KommuneValidity] = []
    for code in sorted(set().union(*(v.codes for v in vs))):
        out.extend(_intervals(code, vs))
    return out


def _intervals(code: str, vs: Iterable[Version]) -> list[KommuneValidity]:
    vs = list(vs)
    out: list[KommuneValidity] = []
    start: dt.date | None = None
    open_ = False
    for i, v in enumerate(vs):
        if code in v.codes and not open_:
            start, open_ = v.valid_from, True
        elif code not in v.codes and open_:
            out.append(KommuneValidity(code, start, v.valid_from))
            open_ = False
        if i == len(vs) - 1 and open_:
            out.append(KommuneValidity(code, start, None))
    return out


@cache
def fylke_by_kommunenummer() -> dict[str, str]:
    """The 2024 fylke of every kommunenummer used since 2017, where that fylke is unambiguous.

    A 2024 code has the fylke of ``kommuner_2024``; an older code the fylke of the 2024 kommuner
    the crosswalk maps it to (through the 2018 changes for codes that ended on 2018-01-01). A
    code whose successors lie in more than one fylke, and 9999, have none.

    >>> f = fylke_by_kommunenummer()
    >>> f["0301"], f["1141"], f["1601"], "9999" in f
    ('03', '11', '50', False)
    """
    current = {r["kommunenummer"]: r["fylkesnummer"] for r in read_seed("kommuner_2024")}
    targets: dict[str, set[str]] = {}
    for row in read_seed("kommune_crosswalk_to_2024"):
        if row["kommunenummer_2024"] in current:
            targets.setdefault(row["source_kommunenummer"], set()).add(current[row["kommunenummer_2024"]])
    for row in _changes_on(dt.date(CROSSWALK_FIRST_YEAR, 1, 1)):
        targets.setdefault(row["old_kommunenummer"], set()).update(targets.get(row["new_kommunenummer"], set()))
    out = {code: next(iter(fylker)) for code, fylker in targets.items() if len(fylker) == 1}
    out.update(current)
    out.pop(UNKNOWN_CODE, None)
    return out
