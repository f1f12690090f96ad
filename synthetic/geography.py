"""Kommune lineages: which code a synthetic person's kommune had at each date.

Persons live in a 2024 kommune. For earlier dates the extract must carry the code valid then
(:mod:`kernel.kommuner`). Each person gets one *lineage*: a chain of codes, one per code-list
version, that SSB's change table links (e.g. ``1141 Finnøy`` (≤2019) → ``1103 Stavanger``), so
a person's old code stays the same year after year and old codes appear in old years.

Where a 2024 kommune has several predecessors, persons are split between them in fixed
shares, because the reference data have no population before 2024: each predecessor counts 1,
or 3 when it has the successor's name (usually the largest town). Known split: the 2024 Haram
(1580) is the old 1534 Haram and the 2024 Ålesund (1508) the other four old kommuner
(``opisthokonta/kommuneendringer``, ``data-raw/skilsmissekommuner.R``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from kernel.codelists import read_seed
from kernel.kommuner import versions

#: Weight of a predecessor that has its successor's name (see module docstring).
SAME_NAME_WEIGHT = 3.0
#: Pre-2020 codes allowed in the lineage of a 2024 code, where the change table alone is ambiguous.
PREDECESSOR_OVERRIDES: dict[str, frozenset[str]] = {
    "1580": frozenset({"1534"}),
    "1508": frozenset({"1504", "1523", "1529", "1546"}),
}
EPOCH = dt.date(1970, 1, 1)


def day_number(d: dt.date) -> int:
    """Days since 1970-01-01 (the integer form of a ``datetime64[D]``)."""
    return (d - EPOCH).days


@dataclass(frozen=True)
class Geography:
    """Lineages of all 2024 kommuner, as arrays the generator can index by person."""

    kommuner: tuple[str, ...]  # the 357 codes of 2024, index = kommune id
    codes: np.ndarray  # every code of every version (str), index = code id
    lineage_codes: np.ndarray  # (n_lineages, n_versions) code ids
    lineage_kommune: np.ndarray  # (n_lineages,) kommune id of the lineage's 2024 code
    lineage_weight: np.ndarray  # (n_lineages,) share within its kommune (sums to 1 per kommune)
    version_starts: np.ndarray  # day numbers where versions 1.. begin

    @property
    def code_series(self) -> pl.Series:
        """The codes as a Polars series, to ``gather`` code ids into strings fast."""
        return pl.Series("kommunenummer", self.codes.tolist(), dtype=pl.String)

    def code_ids(self, lineage: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Code id valid on ``day`` for persons of ``lineage`` (vectorised)."""
        version = np.searchsorted(self.version_starts, day, side="right")
        return self.lineage_codes[lineage, version]

    def pick_lineages(self, kommune: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One lineage per person of ``kommune`` (ids), drawn with the lineage weights."""
        out = np.empty(kommune.shape, dtype=np.int32)
        order = np.argsort(kommune, kind="stable")
        ks, first = np.unique(kommune[order], return_index=True)
        for k, persons in zip(ks, np.split(order, first[1:]), strict=True):
            options = np.flatnonzero(self.lineage_kommune == k)
            p = self.lineage_weight[options]
            out[persons] = options[0] if options.size == 1 else rng.choice(options, size=persons.size, p=p)
        return out


def _base_name(name: str) -> str:
    return name.split(" - ")[0].strip().casefold()


def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for r in read_seed("kommune_changes"):
        names[r["old_kommunenummer"]] = r["old_kommunenavn"]
        names[r["new_kommunenummer"]] = r["new_kommunenavn"]
    for r in read_seed("kommune_crosswalk_to_2024"):
        names[r["source_kommunenummer"]] = r["source_kommunenavn"]
    for r in read_seed("kommuner_2024"):
        names[r["kommunenummer"]] = r["kommunenavn"]
    return {code: _base_name(n) for code, n in names.items()}


def _successors(codes: frozenset[str], next_codes: frozenset[str], on: dt.date) -> dict[str, set[str]]:
    """Where each code of one version goes in the next (changes dated ``on``)."""
    iso = on.isoformat()
    moves: dict[str, set[str]] = {}
    for r in read_seed("kommune_changes"):
        if r["change_date"] == iso and r["code_changed"] == "true" and r["old_kommunenummer"] in codes:
            moves.setdefault(r["old_kommunenummer"], set()).add(r["new_kommunenummer"])
    out = {c: moves.get(c, {c}) for c in codes}
    for c, targets in out.items():
        if not targets <= next_codes:
            raise ValueError(f"kommune {c} moves to {sorted(targets - next_codes)} on {on}, not in that version")
    return out


@cache
def geography() -> Geography:
    """Build every lineage backwards from the 2024 codes through the versions."""
    vs = versions()
    names = _names()
    steps = [_successors(vs[i].codes, vs[i + 1].codes, vs[i + 1].valid_from) for i in range(len(vs) - 1)]
    kommuner = tuple(sorted(vs[-1].codes))
    forbidden = set().union(*PREDECESSOR_OVERRIDES.values())
    lineages: list[tuple[tuple[str, ...], int, float]] = []
    for k_id, code in enumerate(kommuner):
        chains: list[tuple[tuple[str, ...], float]] = [((code,), 1.0)]
        for step in reversed(steps):
            extended = []
            for chain, weight in chains:
                later = chain[0]
                preds = sorted(c for c, targets in step.items() if later in targets)
                for p in preds:
                    w = SAME_NAME_WEIGHT if names.get(p) == names.get(later) else 1.0
                    extended.append(((p, *chain), weight * w))
            chains = extended
        allowed = PREDECESSOR_OVERRIDES.get(code)
        if allowed is not None:
            chains = [(c, w) for c, w in chains if not (set(c) & (forbidden - allowed))]
        if not chains:
            raise ValueError(f"no lineage for kommune {code}")
        total = sum(w for _, w in chains)
        lineages.extend((c, k_id, w / total) for c, w in chains)
    all_codes = sorted(set().union(*(v.codes for v in vs)))
    code_id = {c: i for i, c in enumerate(all_codes)}
    return Geography(
        kommuner=kommuner,
        codes=np.array(all_codes),
        lineage_codes=np.array([[code_id[c] for c in chain] for chain, _, _ in lineages], dtype=np.int32),
        lineage_kommune=np.array([k for _, k, _ in lineages], dtype=np.int32),
        lineage_weight=np.array([w for _, _, w in lineages]),
        version_starts=np.array([day_number(v.valid_from) for v in vs[1:]], dtype=np.int64),
    )
