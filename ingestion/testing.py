"""Small, valid extract rows and files for tests and benchmarks of ingestion.

The demo-data generator (:mod:`synthetic`) makes realistic extracts; this module makes *tiny,
exact* ones, where each test states the rows it feeds in. Identity numbers are synthetic test
numbers (month + 80) so no real person's number is ever written, even in a test.

>>> row = valid_row("kpr_kontakter", 0)
>>> row["kommunenummer"], row["tjenesteyter"]
('0301', 'fastlege')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ingestion.fnr import SYNTHETIC_MONTH_OFFSET, InvalidIdentityNumber, with_check_digits
from kernel.sources import get_source

#: A municipality code valid before and after both reforms (Oslo).
STABLE_KOMMUNE = "0301"
#: Brønnøysundregistrene's own organisation number (valid mod-11).
VALID_ORGNR = "974760673"
#: A pseudonymisation key for tests (hex): strong enough for ``key_weakness``, and public.
TEST_KEY_HEX = "9ea0ffd7b734cca365f7df9cc2269ee18435ff6f9b04b0d22264c232fde3b7e8"


def synthetic_fnr(serial: int) -> str:
    """A valid synthetic identity number, different for each ``serial`` (0 ≤ serial < 10⁶)."""
    day = dt.date(1940, 1, 1) + dt.timedelta(days=serial % 20000)
    return synthetic_fnr_born(day, serial // 20000 % 50 * 10)


def synthetic_fnr_born(day: dt.date, base: int = 0) -> str:
    """A valid synthetic identity number of a person born on ``day``.

    ``base`` picks the individual number among those used for the birth year (000–499 for the
    1900s, 500–999 for the 2000s); about 1 in 5 prefixes has no valid check digit, so the next
    few are tried.
    """
    first = base if day.year < 2000 else 500 + base % 500
    for individual in range(first, first + 10):
        first_nine = f"{day:%d}{day.month + SYNTHETIC_MONTH_OFFSET:02d}{day:%y}{individual:03d}"
        try:
            return with_check_digits(first_nine)
        except InvalidIdentityNumber:
            continue
    raise ValueError(f"no valid number for {day}")  # pragma: no cover - (0.2)**10 chance


def valid_row(source: str, serial: int) -> dict[str, str]:
    """One row that passes every rule of ``source``; ``serial`` makes it unique."""
    day = (dt.date(2024, 1, 1) + dt.timedelta(days=serial % 300)).isoformat()
    person = {"fodselsnummer": synthetic_fnr(serial), "kommunenummer": STABLE_KOMMUNE}
    if source == "kpr_kontakter":
        return {**person, "kontaktdato": day, "tjenesteyter": "fastlege", "kontaktform": ("oppmote", "video")[serial % 2]}
    if source == "kpr_tjenester":
        return {**person, "tjenestetype": "1", "startdato": day, "sluttdato": ""}
    if source == "vft_mottakere":
        return {**person, "tjenestetype": "6", "startdato": day, "sluttdato": "", "via_vkp": "true"}
    if source == "registry_reporting":
        return {"register": "KPR", "rapporteringsenhet": STABLE_KOMMUNE, "periode": f"{2020 + serial // 12 % 5}-{serial % 12 + 1:02d}",
                "forventet": str(10 + serial), "mottatt": "9", "mottatt_digitalt": "8", "mottatt_innen_frist": "7"}
    raise ValueError(f"unknown source {source!r}")


def extract_text(source: str, rows: Iterable[Mapping[str, str] | Sequence[str] | str],
                 header: Sequence[str] | None = None) -> str:
    """Extract text: the header, then one line per row (a dict, a list of fields, or a raw line)."""
    columns = list(header or get_source(source).header)
    lines = [";".join(columns)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
        elif isinstance(row, Mapping):
            lines.append(";".join(row[c] for c in columns))
        else:
            lines.append(";".join(row))
    return "\n".join(lines) + "\n"


def write_extract(path: Path, source: str, rows: Iterable[Mapping[str, str] | Sequence[str] | str], *,
                  encoding: str = "utf-8", header: Sequence[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(extract_text(source, rows, header).encode(encoding))
    return path


def write_valid_extract(path: Path, source: str, n_rows: int, start: int = 0) -> Path:
    """A file of ``n_rows`` distinct valid rows, written line by line (bounded memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = get_source(source).header
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(";".join(columns) + "\n")
        for serial in range(start, start + n_rows):
            row = valid_row(source, serial)
            f.write(";".join(row[c] for c in columns) + "\n")
    return path
