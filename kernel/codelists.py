"""Code lists and reference tables, read from the dbt seeds so Python and SQL share one copy."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from kernel.config import SEEDS_DIR


def seed_path(name: str) -> Path:
    """The CSV file of seed ``name`` (searched in every seed folder)."""
    matches = sorted(SEEDS_DIR.rglob(f"{name}.csv"))
    if len(matches) != 1:
        raise LookupError(f"expected one seed named {name!r} under {SEEDS_DIR}, found {len(matches)}")
    return matches[0]


@cache
def read_seed(name: str) -> tuple[dict[str, str], ...]:
    """All rows of a seed as dicts of strings (codes keep their leading zeros)."""
    with seed_path(name).open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def codes(seed: str, column: str, where: str | None = None) -> frozenset[str]:
    """The values of ``column`` in ``seed``, optionally only rows whose ``where`` column is true.

    >>> sorted(codes("codelist_tjenestetype", "tjenestetype_kode", where="velferdsteknologi"))
    ['26', '27', '28', '6']
    """
    return frozenset(r[column] for r in read_seed(seed) if where is None or r[where] == "true")
