"""Attack the suppression pattern: solve for every hidden cell from what is published.

An attacker who knows the table's additive structure (kommuner sum to their fylke, fylker to the
country, technologies to "all technologies") and the published values sets up the linear system
``total = sum(children)`` with non-negative unknowns, and asks a linear-programming solver for the
smallest and largest value of each suppressed cell. With rounded publication, each published
value only bounds the true value to its rounding interval. Protection holds when every suppressed
cell's feasible interval is wider than the suppression threshold, i.e. no hidden cell can be
pinned down to a small value.

:class:`PublicationAttack` does the same for a whole publication (every linked indicator of
``public.indicator_values``, the SSB population) and judges each hidden count by the documented
protection interval (:func:`privacy.linked.is_protected`, docs/publishing.md#the-guarantee).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from privacy.disclosure import (
    PROTECTION_MARGIN,
    ROUNDING_BASE,
    SUPPRESSION_THRESHOLD,
    protect_count,
    protect_table,
    round_value,
    smallest_published_count,
)
from privacy.linked import is_protected

Key = tuple[Hashable, ...]


def attack_system(cells, hierarchies, suppressed, rounded=False):
    """The attacker's linear system: A x = 0 (every total minus its children), bounds per cell."""
    keys = sorted(cells, key=repr)
    index = {k: i for i, k in enumerate(keys)}
    equations: dict[tuple, list[int]] = {}
    for key in keys:
        for d, hierarchy in enumerate(hierarchies):
            parent = hierarchy.get(key[d])
            total = key[:d] + (parent,) + key[d + 1:]
            if parent is not None and total in index:
                equations.setdefault((d, total), []).append(index[key])
    data, row_ids, col_ids = [], [], []
    for r, ((_, total), children) in enumerate(equations.items()):
        for col, sign in [(index[total], 1)] + [(c, -1) for c in children]:
            data.append(sign)
            row_ids.append(r)
            col_ids.append(col)
    a_eq = coo_matrix((data, (row_ids, col_ids)), shape=(len(equations), len(keys))).tocsr()
    bounds = []
    for key in keys:
        value = cells[key]
        if key in suppressed:
            bounds.append((0, None))
        elif not rounded:
            bounds.append((value, value))
        else:
            bounds.append(rounding_interval(protect_count(value)))
    return keys, index, a_eq, np.zeros(len(equations)), bounds


def feasible_intervals(
    cells: Mapping[Key, int],
    hierarchies: Sequence[Mapping[Hashable, Hashable | None]],
    suppressed: set[Key] | frozenset[Key],
    *,
    rounded: bool = False,
) -> dict[Key, tuple[float, float]]:
    """Smallest and largest value of each suppressed cell consistent with the published table.

    ``rounded``: published cells are seen only as their rounded value (round half-up to
    ``ROUNDING_BASE``, each total rounded independently) and the attacker uses the rules: a true
    zero is published as 0 and a published positive value hides a count above the threshold.
    """
    keys, index, a_eq, b_eq, bounds = attack_system(cells, hierarchies, suppressed, rounded)
    intervals = {}
    for key in suppressed:
        c = np.zeros(len(keys))
        c[index[key]] = 1
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0, low.message  # the true table is always feasible
        hi = math.inf if high.status == 3 else -high.fun
        intervals[key] = (low.fun, hi)
    return intervals


def pinned_cells(cells, hierarchies, suppressed, *, width=SUPPRESSION_THRESHOLD, rounded=False):
    """Suppressed cells whose feasible interval is no wider than ``width`` (for large tables).

    Same answer as :func:`feasible_intervals`, faster: two feasible tables in which a cell
    differs by more than ``width`` already prove its interval is wider, so a handful of random
    objectives settles most cells and only the rest get their own min and max. Every table the
    solver returns is checked to satisfy the equations and bounds.
    """
    keys, index, a_eq, b_eq, bounds = attack_system(cells, hierarchies, suppressed, rounded)
    lo_b = np.array([b[0] for b in bounds], dtype=float)
    hi_b = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    hidden = np.array([index[k] for k in sorted(suppressed, key=repr)], dtype=int)
    truth = np.array([cells[k] for k in keys], dtype=float)
    low, high = truth.copy(), truth.copy()

    def take(result):
        assert result.status == 0, result.message
        x = result.x
        assert np.allclose(a_eq @ x, b_eq, atol=1e-6) and np.all(x >= lo_b - 1e-6) and np.all(x <= hi_b + 1e-6)
        np.minimum(low, x, out=low)
        np.maximum(high, x, out=high)

    rng = np.random.default_rng(1)
    for _ in range(40):
        open_ = hidden[high[hidden] - low[hidden] <= width]
        if len(open_) == 0:
            break
        c = np.zeros(len(keys))
        c[open_] = rng.normal(size=len(open_))
        result = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if result.status == 0:
            take(result)
    pinned = {}
    for i in hidden[high[hidden] - low[hidden] <= width]:
        c = np.zeros(len(keys))
        for sign in (1, -1):
            c[i] = sign
            result = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if result.status == 3:
                high[i] = math.inf
                break
            take(result)
        if high[i] - low[i] <= width:
            pinned[keys[i]] = (low[i], high[i])
    return pinned


def rounding_interval(shown: int) -> tuple[int, int]:
    """What a published (rounded) count tells an attacker who knows the rules."""
    if shown == 0:
        return (0, 0)  # zeros are published exactly; 1 and 2 would have been suppressed
    half = ROUNDING_BASE // 2
    if shown == smallest_published_count():
        return (SUPPRESSION_THRESHOLD + 1, shown + half)  # 6 and 7 are raised to 10
    return (shown - half, shown + half)


@pytest.mark.parametrize("value", range(0, 40))
def test_rounding_interval_contains_the_true_count(value):
    shown = protect_count(value)
    if shown is not None:
        lo, hi = rounding_interval(shown)
        assert lo <= value <= hi


def assert_protected(cells, hierarchies, protection, rounded):
    intervals = feasible_intervals(cells, hierarchies, protection.suppressed, rounded=rounded)
    pinned = {k: iv for k, iv in intervals.items() if not is_protected(cells[k], *iv)}
    assert not pinned, f"suppressed cells narrowed below their protection interval: {pinned}"
    for key in protection.suppressed:  # sanity: the true value lies in the interval
        lo, hi = intervals[key]
        assert lo - 1e-6 <= cells[key] <= hi + 1e-6


# ---------------------------------------------------------------------------------------------
# Tables: geography (country → fylker → kommuner) × technology (all → four technologies)


def geo_hierarchy(kommuner_per_fylke: Sequence[int]) -> dict[str, str | None]:
    h: dict[str, str | None] = {"N": None}
    for f, n in enumerate(kommuner_per_fylke):
        h[f"F{f}"] = "N"
        for k in range(n):
            h[f"F{f}K{k}"] = f"F{f}"
    return h


TECH = {"all": None, "alarm": "all", "gps": "all", "medisin": "all", "tilsyn": "all"}


def full_table(leaf_counts: Mapping[tuple[str, str], int], geo, tech) -> dict[Key, int]:
    """Interior (kommune × technology) counts plus every total, summed exactly."""

    def ancestors(code, h):
        out = [code]
        while h.get(out[-1]) is not None:
            out.append(h[out[-1]])
        return out

    cells: dict[Key, int] = {}
    for (g, t), v in leaf_counts.items():
        for ga in ancestors(g, geo):
            for ta in ancestors(t, tech):
                cells[(ga, ta)] = cells.get((ga, ta), 0) + v
    return cells


def random_table(seed: int) -> tuple[dict[Key, int], list]:
    rng = np.random.default_rng(seed)
    geo = geo_hierarchy(rng.integers(2, 6, size=rng.integers(2, 5)).tolist())
    kommuner = [c for c in geo if "K" in c]
    techs = [t for t in TECH if t != "all"]
    # skewed counts: many small cells and some zeros, as in small kommuner
    mean = rng.lognormal(mean=1.5, sigma=1.3, size=(len(kommuner), len(techs)))
    counts = rng.poisson(mean)
    leaves = {(k, t): int(counts[i, j]) for i, k in enumerate(kommuner) for j, t in enumerate(techs)}
    return full_table(leaves, geo, TECH), [geo, TECH]


@functools.cache
def protected_random_table(seed: int):
    cells, hierarchies = random_table(seed)
    return cells, hierarchies, protect_table({k: [v] for k, v in cells.items()}, hierarchies)


SEEDS = range(40)


@pytest.mark.parametrize("rounded", [False, True], ids=["exact", "rounded"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_two_dimensional_tables_cannot_be_solved(seed, rounded):
    cells, hierarchies, protection = protected_random_table(seed)
    assert_protected(cells, hierarchies, protection, rounded)


def test_random_tables_do_exercise_suppression():
    # guards the test above against silently testing nothing
    protections = [protected_random_table(s)[2] for s in SEEDS]
    assert all(p.primary for p in protections)
    assert sum(len(p.secondary) for p in protections) > 100


GEO_1D = geo_hierarchy([3, 2])


@pytest.mark.parametrize(
    "leaves",
    [
        # a single small cell in a row: its complement must be found
        {"F0K0": 1, "F0K1": 50, "F0K2": 60, "F1K0": 70, "F1K1": 80},
        # the complement is small too: a third cell is needed
        {"F0K0": 1, "F0K1": 2, "F0K2": 60, "F1K0": 70, "F1K1": 80},
        # every other kommune in the fylke is zero: the fylke total has to go
        {"F0K0": 3, "F0K1": 0, "F0K2": 0, "F1K0": 70, "F1K1": 80},
        # a whole fylke is small
        {"F0K0": 1, "F0K1": 1, "F0K2": 2, "F1K0": 70, "F1K1": 80},
        # everything small
        {"F0K0": 1, "F0K1": 1, "F0K2": 1, "F1K0": 1, "F1K1": 1},
    ],
    ids=["single", "small-complement", "zero-neighbours", "small-fylke", "all-small"],
)
@pytest.mark.parametrize("rounded", [False, True], ids=["exact", "rounded"])
def test_crafted_one_dimensional_worst_cases(leaves, rounded):
    cells = full_table({(k, "all"): v for k, v in leaves.items()}, GEO_1D, {"all": None})
    hierarchies = [GEO_1D, {"all": None}]
    protection = protect_table({k: [v] for k, v in cells.items()}, hierarchies)
    assert protection.primary
    if all(v <= SUPPRESSION_THRESHOLD for v in leaves.values()) and cells[("N", "all")] > SUPPRESSION_THRESHOLD:
        # the national total can be published, so all the rest has to be hidden
        assert ("N", "all") not in protection.suppressed
    assert_protected(cells, hierarchies, protection, rounded)


@pytest.mark.parametrize("rounded", [False, True], ids=["exact", "rounded"])
def test_crafted_two_dimensional_single_cell(rounded):
    """One small cell in a kommune × technology table with all margins published."""
    geo = geo_hierarchy([2, 2])
    leaves = {(k, t): 40 for k in geo if "K" in k for t in TECH if t != "all"}
    leaves[("F0K0", "gps")] = 2
    cells = full_table(leaves, geo, TECH)
    protection = protect_table({k: [v] for k, v in cells.items()}, [geo, TECH])
    # the classic pattern: a rectangle of four hidden cells
    assert len(protection.suppressed) >= 4
    assert_protected(cells, [geo, TECH], protection, rounded)


def test_the_attack_finds_an_unprotected_cell():
    """Without secondary suppression the solver recovers the small cell exactly."""
    cells = full_table({(k, "all"): v for k, v in
                        {"F0K0": 2, "F0K1": 50, "F0K2": 60, "F1K0": 70, "F1K1": 80}.items()},
                       GEO_1D, {"all": None})
    intervals = feasible_intervals(cells, [GEO_1D, {"all": None}], {("F0K0", "all")})
    assert intervals[("F0K0", "all")] == (2, 2)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_fast_attack_agrees_with_the_exact_one(seed):
    cells, hierarchies = random_table(seed)
    # a deliberately weak pattern (primary cells only) so that some cells are pinned
    primary = protect_table({k: [v] for k, v in cells.items()}, hierarchies).primary
    exact = {k for k, (lo, hi) in feasible_intervals(cells, hierarchies, primary).items()
             if hi - lo <= SUPPRESSION_THRESHOLD}
    assert set(pinned_cells(cells, hierarchies, primary)) == exact


# ---------------------------------------------------------------------------------------------
# The attack on a whole publication: every public.* table plus the public SSB figures.

#: What a reader knows about the indicators from their published definitions
#: (dbt_project/seeds/indicators/indicator_definitions.csv), written out here on purpose rather
#: than imported: the attacker's knowledge must not come from the code under test.
#: (subset, superset): persons counted by the first are counted by the second.
PUBLIC_NESTING = (("vft_mottakere_31des", "vft_mottakere"), ("vft_mottakere_67_per_1000", "vft_mottakere"),
                  ("vft_mottakere_80_per_1000", "vft_mottakere_67_per_1000"),
                  ("vft_mottakere_teknologi", "vft_mottakere"))
#: Every recipient has at least one technology.
PUBLIC_COVERING = (("vft_mottakere", "vft_mottakere_teknologi"),)
#: Rates whose denominator is SSB's population (table 07459, the seed population_kommune).
SSB_DENOMINATORS = {"vft_mottakere_67_per_1000": "pop_67_plus", "vft_mottakere_80_per_1000": "pop_80_plus"}


def public_interval(shown: float, threshold: int, base: int) -> tuple[float, float]:
    """What a published count tells a reader who knows the rules (zeros exact, 6–7 shown as 10)."""
    if shown == 0:
        return (0, 0)
    half = base // 2
    if shown == (threshold // base + 1) * base:
        return (threshold + 1, shown + half)
    return (shown - half, shown + half)


class PublicationAttack:
    """The attacker's linear program over one part of a publication (one family of linked
    indicators in one year), built from the published rows and public reference data only.

    Unknowns: every numerator, and every denominator that is not SSB's. Bounds: a published
    count's rounding interval; a hidden count ≥ 1 (zeros are published; a row that is missing
    is a zero), except a share's numerator, which may be 0 in a row hidden for its denominator. Equations: kommuner sum to their fylke, fylker to the country (first assuming
    nobody lives in an unknown kommune, the strongest guess, then allowing it), months to their
    year. Inequalities: a share's numerator ≤ its denominator, nested indicators, covering.
    """

    def __init__(self, rows, fylke_of, threshold, base, assume_no_unknown_kommune=True):
        self.index: dict[tuple, int] = {}
        self.bounds: list[tuple[float, float | None]] = []
        self.eq: list[dict[int, int]] = []
        self.ub: list[dict[int, int]] = []
        by_key = {}
        for r in rows:
            key = (r["indicator_id"], r["breakdown_code"], r["period"], r["geo_code"])
            by_key[key] = r
            share = r["unit"] == "andel"
            for col in ["numerator"] + (["denominator"] if share else []):
                self.index[key + (col,)] = len(self.bounds)
                # a row is published when it has units: only its numerator may be 0 if it is a share
                floor = 0 if share and col == "numerator" else 1
                self.bounds.append((floor, None) if r["suppressed"] else public_interval(r[col], threshold, base))
            if r["unit"] == "andel":
                self.ub.append({self.index[key + ("numerator",)]: 1, self.index[key + ("denominator",)]: -1})
        geo_groups, month_groups = defaultdict(list), defaultdict(list)
        for key, r in by_key.items():
            indicator, breakdown, period, code = key
            if r["geo_level"] == "kommune":
                geo_groups[(indicator, breakdown, period, fylke_of[code])].append(key)
            elif r["geo_level"] == "fylke":
                geo_groups[(indicator, breakdown, period, "NO")].append(key)
            if r["period_type"] == "month":
                month_groups[(indicator, breakdown, period[:4], code)].append(key)
        for groups in (geo_groups, month_groups):
            for total, children in groups.items():
                for col in ("numerator", "denominator"):
                    if total + (col,) not in self.index:
                        continue
                    row = {self.index[total + (col,)]: 1}
                    for child in children:
                        row[self.index[child + (col,)]] = -1
                    if groups is geo_groups and total[3] == "NO" and not assume_no_unknown_kommune:
                        self.ub.append({i: -c for i, c in row.items()})  # total ≥ sum of fylker
                    else:
                        self.eq.append(row)
        for key in by_key:
            indicator, breakdown, period, code = key
            for subset, superset in PUBLIC_NESTING:
                big = (superset, "alle", period, code, "numerator")
                if indicator == subset and big in self.index:
                    self.ub.append({self.index[key + ("numerator",)]: 1, self.index[big]: -1})
            for whole, parts in PUBLIC_COVERING:
                if indicator == whole:
                    row = {self.index[key + ("numerator",)]: 1}
                    for other in by_key:
                        if other[0] == parts and other[2:] == key[2:]:
                            row[self.index[other + ("numerator",)]] = -1
                    if len(row) > 1:
                        self.ub.append(row)
        self._matrices()

    def _matrices(self):
        def sparse(rows):
            data, r_ids, c_ids = [], [], []
            for r, row in enumerate(rows):
                for c, v in row.items():
                    data.append(v)
                    r_ids.append(r)
                    c_ids.append(c)
            return coo_matrix((data, (r_ids, c_ids)), shape=(len(rows), len(self.bounds))).tocsr()

        self.a_eq = sparse(self.eq) if self.eq else None
        self.a_ub = sparse(self.ub) if self.ub else None

    def solve(self, objective):
        return linprog(objective, A_ub=self.a_ub, b_ub=None if self.a_ub is None else np.zeros(self.a_ub.shape[0]),
                       A_eq=self.a_eq, b_eq=None if self.a_eq is None else np.zeros(self.a_eq.shape[0]),
                       bounds=self.bounds, method="highs")

    def feasible(self) -> bool:
        return self.solve(np.zeros(len(self.bounds))).status == 0

    def intervals(self, targets: Mapping[tuple, dict[int, int]], truth: Mapping[tuple, float], *, seed=1):
        """Feasible interval of each target (a linear form over the unknowns), as far as needed to
        decide :func:`privacy.linked.is_protected`: random objectives first (every solution is a
        feasible table that widens many intervals at once), then exact max/min of the rest."""
        names = list(targets)
        data, r_ids, c_ids = [], [], []
        for r, t in enumerate(names):
            for i, c in targets[t].items():
                data.append(c)
                r_ids.append(r)
                c_ids.append(i)
        forms = coo_matrix((data, (r_ids, c_ids)), shape=(len(names), len(self.bounds))).tocsr()
        value = np.array([truth[t] for t in names], dtype=float)
        low, high = value.copy(), value.copy()

        def take(x):
            v = forms @ x
            np.minimum(low, v, out=low)
            np.maximum(high, v, out=high)

        def open_():
            wide = high - low >= 2 * PROTECTION_MARGIN - 1e-6
            return np.flatnonzero(~(wide & ((value > SUPPRESSION_THRESHOLD)
                                            | (high >= SUPPRESSION_THRESHOLD + PROTECTION_MARGIN - 1e-6))))

        rng = np.random.default_rng(seed)
        stalled, sign = 0, 1
        while stalled < 4:
            pending = open_()
            if len(pending) == 0:
                break
            sign = -sign
            weights = np.zeros(len(names))
            weights[pending] = sign * rng.exponential(size=len(pending)) ** 3
            result = self.solve(forms.T @ weights)
            if result.status == 0:
                take(result.x)
            stalled = stalled + 1 if len(open_()) == len(pending) else 0
        for t in open_():
            for direction in (-1, 1):
                result = self.solve(direction * forms[t].toarray().ravel())
                if result.status == 3:
                    high[t] = math.inf
                    continue
                assert result.status == 0, result.message
                take(result.x)
        return {t: (low[i], high[i]) for i, t in enumerate(names)}

# ---------------------------------------------------------------------------------------------
# Linked indicators: the welfare-technology family, protected by privacy.publication and
# attacked as a reader would attack public.indicator_values.

VFT_FAMILY = ("vft_mottakere", "vft_mottakere_31des", "vft_mottakere_67_per_1000",
              "vft_mottakere_80_per_1000", "vft_mottakere_teknologi")


def vft_marts(counts: Mapping[tuple[str, str], Mapping[str, int]], fylke_of: Mapping[str, str],
              unknown_kommune: Mapping[tuple[str, str], int] = {}, year: str = "2024") -> list[dict]:
    """Mart rows (kommune, fylke, nasjonal) of the family from kommune counts.

    ``counts``: (indicator, breakdown_code) → kommune → count; kommuner with 0 get no row, as
    in the marts. The denominators of the rates are a made-up population (1 000 per kommune).
    """
    units = {"vft_mottakere_67_per_1000": "per 1 000", "vft_mottakere_80_per_1000": "per 1 000"}
    rows = []
    for (indicator, breakdown), per_kommune in counts.items():
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for k, n in per_kommune.items():
            for level, code in (("kommune", k), ("fylke", fylke_of[k]), ("nasjonal", "NO")):
                totals[(level, code)][0] += n
                totals[(level, code)][1] += 1000
        totals[("nasjonal", "NO")][0] += unknown_kommune.get((indicator, breakdown), 0)
        for (level, code), (n, pop) in totals.items():
            if level == "kommune" and n == 0:
                continue
            unit = units.get(indicator, "personer")
            rows.append({"indicator_id": indicator, "breakdown_code": breakdown, "breakdown": "total",
                         "period": year, "period_type": "year", "geo_level": level, "geo_code": code,
                         "numerator": float(n), "denominator": None if unit == "personer" else float(pop),
                         "value": float(n) if unit == "personer" else 1000 * n / pop, "unit": unit,
                         "suppressed": False})
    return rows


def random_vft_marts(seed: int):
    rng = np.random.default_rng(seed)
    fylke_of = {f"{f:02d}{k:02d}": f"{f:02d}" for f in range(1, rng.integers(3, 5))
                for k in range(rng.integers(2, 6))}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for k in fylke_of:
        v = int(rng.poisson(rng.lognormal(1.8, 1.2)))
        a67 = int(rng.binomial(v, 0.75))
        only_other = int(rng.binomial(v, 0.1))  # without an alarm, so with another technology
        counts[("vft_mottakere", "alle")][k] = v
        counts[("vft_mottakere_31des", "alle")][k] = int(rng.binomial(v, 0.85))
        counts[("vft_mottakere_67_per_1000", "alle")][k] = a67
        counts[("vft_mottakere_80_per_1000", "alle")][k] = int(rng.binomial(a67, 0.5))
        counts[("vft_mottakere_teknologi", "6")][k] = v - only_other
        counts[("vft_mottakere_teknologi", "26")][k] = only_other + int(rng.binomial(v - only_other, 0.05))
    rest = int(rng.integers(0, 3))
    unknown = {("vft_mottakere", "alle"): rest, ("vft_mottakere_teknologi", "6"): rest}
    return vft_marts(counts, fylke_of, unknown), fylke_of


def attack_published(marts: list[dict], public: list[dict], fylke_of) -> list[tuple]:
    """Hidden counts of ``public`` the attacker narrows below their protection interval."""
    attack = PublicationAttack(public, {**fylke_of, "NO": None}, SUPPRESSION_THRESHOLD, ROUNDING_BASE)
    if not attack.feasible():
        attack = PublicationAttack(public, {**fylke_of, "NO": None}, SUPPRESSION_THRESHOLD, ROUNDING_BASE,
                                   assume_no_unknown_kommune=False)
    assert attack.feasible()
    truth = {(r["indicator_id"], r["breakdown_code"], r["period"], r["geo_code"]): r["numerator"] for r in marts}
    targets = {key + ("numerator",): {attack.index[key + ("numerator",)]: 1}
               for key in truth if key + ("numerator",) in attack.index
               and next(r for r in public if (r["indicator_id"], r["breakdown_code"], r["period"],
                                              r["geo_code"]) == key)["suppressed"]}
    values = {t: truth[t[:4]] for t in targets}
    intervals = attack.intervals(targets, values)
    return [(t, values[t], iv) for t, iv in intervals.items() if not is_protected(values[t], *iv)]


def _protect(marts, fylke_of):
    from helsedata.publish import indicator_definitions
    from privacy.publication import protect_indicator_values

    public, primary, _ = protect_indicator_values(marts, indicator_definitions(), fylke_of)
    return public, primary


@pytest.mark.parametrize("seed", range(12))
def test_random_linked_indicator_families_cannot_be_narrowed(seed):
    marts, fylke_of = random_vft_marts(seed)
    public, primary = _protect(marts, fylke_of)
    assert primary
    assert not attack_published(marts, public, fylke_of)


def test_every_kommune_is_one_is_not_recoverable():
    """The attack of issue 9: technology 26, one recipient in every kommune that has any; the
    national total is published, and "hidden means at least 1" pinned every kommune to 1."""
    fylke_of = {f"{f:02d}{k:02d}": f"{f:02d}" for f in range(1, 4) for k in range(4)}
    counts = {("vft_mottakere", "alle"): {k: 40 + i for i, k in enumerate(fylke_of)},
              ("vft_mottakere_teknologi", "6"): {k: 40 + i for i, k in enumerate(fylke_of)},
              ("vft_mottakere_teknologi", "26"): {k: 1 for k in fylke_of}}
    marts = vft_marts(counts, fylke_of)
    # hiding only the small cells leaves every kommune (and every fylke) pinned
    naive = [dict(r, suppressed=1 <= r["numerator"] <= SUPPRESSION_THRESHOLD,
                  numerator=None if 1 <= r["numerator"] <= SUPPRESSION_THRESHOLD else protect_count(int(r["numerator"])))
             for r in marts]
    assert len(attack_published(marts, naive, fylke_of)) >= 12
    public, _ = _protect(marts, fylke_of)
    assert not attack_published(marts, public, fylke_of)


def test_published_rates_are_computed_from_the_published_counts():
    """So a rate and the SSB denominator give a reader nothing beyond the rounded count."""
    marts, fylke_of = random_vft_marts(3)
    public, _ = _protect(marts, fylke_of)
    rates = [r for r in public if r["unit"] == "per 1 000" and not r["suppressed"]]
    assert rates
    for r in rates:
        assert r["value"] == round_value(1000 * r["numerator"] / r["denominator"], 1), r


@pytest.mark.parametrize("seed", range(4))
def test_the_same_marts_in_any_row_order_give_the_same_publication(seed):
    """The database may return a mart in any order; the hidden cells must not depend on it, or two
    publications of the same data would each reveal what the other hides."""
    marts, fylke_of = random_vft_marts(seed)
    shuffled = [marts[i] for i in np.random.default_rng(seed).permutation(len(marts))]
    (first, _), (second, _) = _protect(marts, fylke_of), _protect(shuffled, fylke_of)

    def hidden(public):
        return sorted((r["indicator_id"], r["breakdown_code"], r["period"], r["geo_code"])
                      for r in public if r["suppressed"])
    assert hidden(first) == hidden(second)


#: Prints the publications of :func:`random_vft_marts` for seeds 0–5, as JSON (run in a subprocess).
_PUBLISH_RANDOM_MARTS = """
import json
from tests.unit.test_disclosure_attack import _protect, random_vft_marts
print(json.dumps([_protect(*random_vft_marts(seed))[0] for seed in range(6)], sort_keys=True, default=str))
"""


def test_the_same_marts_give_the_same_publication_in_any_process():
    """A set of strings iterates in the order of a hash seeded afresh in every process
    (``PYTHONHASHSEED``); were any choice of a cell to hide made in that order, the CLI and the
    Airflow task would publish different cells from the same marts (docs/publishing.md#determinism)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]

    def publications(hash_seed: int) -> str:
        env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(repo)}
        done = subprocess.run([sys.executable, "-c", _PUBLISH_RANDOM_MARTS], env=env, cwd=repo,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    first = publications(1)
    assert '"suppressed": true' in first
    assert publications(2) == first
