"""Statistical disclosure control for the published tables: the rules for single counts.

The rules, and why they are what they are, are written down in ``docs/publishing.md``
(section "Disclosure rules"); this module is the only place they are implemented. In short:

* **Primary suppression.** A count of 1 to :data:`SUPPRESSION_THRESHOLD` (inclusive) is never
  published. A true zero *is* published: it says that nobody has the attribute, which discloses
  nothing about any person, and hiding zeros would make real service gaps invisible.
* **Secondary suppression** is decided jointly over every published table, in
  :mod:`privacy.linked`: no hidden count can be narrowed by an attacker who knows every
  published count exactly and every public relation between them beyond its protection
  interval (±:data:`PROTECTION_MARGIN` around the threshold, or around a larger count).
* **Rounding.** Published counts are rounded half-up to a multiple of :data:`ROUNDING_BASE`,
  but never down into the suppressed range: 6 and 7 are published as 10, so no published count
  lies in 1..threshold and a published "5" can never be read as a small count.
  Totals are rounded independently (a rounded total is not the sum of rounded children).
  Rounding is extra blur, not the protection: the suppression pattern is safe on exact counts.
* **Ratios** are computed from the *published* (rounded) counts, so they tell a reader nothing
  the counts do not, and are hidden with them (:mod:`privacy.publication`).

Policy: Helsedata publication policy, docs/publishing.md#disclosure-rules (modelled on the
OpenSAFELY output-checking rules, https://docs.opensafely.org/releasing-files/, and SSB's
symbol ":" for "not published for confidentiality", https://www.ssb.no/en/help/symbols).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "PROTECTION_MARGIN",
    "ROUNDING_BASE",
    "SUPPRESSION_THRESHOLD",
    "VALUE_DECIMALS",
    "DisclosureControlConfig",
    "Protection",
    "is_small",
    "protect_count",
    "protect_ratio",
    "protect_table",
    "round_count",
    "round_value",
    "smallest_published_count",
]

#: Counts from 1 up to and including this number are suppressed (primary suppression).
SUPPRESSION_THRESHOLD = 5
#: Published counts are rounded half-up to a multiple of this base.
ROUNDING_BASE = 5
#: Ratios, shares and rates are published with this many decimals (rounded half-up).
VALUE_DECIMALS = 1
#: A hidden count is protected when an attacker cannot exclude any value within this margin
#: around the threshold (a small count) or around the count itself (a larger one):
#: :func:`privacy.linked.protection_interval`.
PROTECTION_MARGIN = 3


@dataclass(frozen=True)
class DisclosureControlConfig:
    """How disclosure control is applied; protection is on unless written out as off.

    ``enabled=False`` publishes exact counts without suppression or rounding. It exists for
    synthetic demo data and tests only: with real data it breaks the publication policy
    (docs/publishing.md#disclosure-rules), so :func:`helsedata.publish.publish` never turns it off.
    """

    enabled: bool = True
    threshold: int = SUPPRESSION_THRESHOLD
    rounding_base: int = ROUNDING_BASE
    value_decimals: int = VALUE_DECIMALS

    def __post_init__(self) -> None:
        _check_count(self.threshold, "threshold")
        if isinstance(self.rounding_base, bool) or not isinstance(self.rounding_base, int) \
                or self.rounding_base < 1:
            raise ValueError(f"rounding_base must be a positive integer, got {self.rounding_base!r}.")
        _check_count(self.value_decimals, "value_decimals")


def _check_count(count: object, name: str = "count") -> int:
    """Return ``count`` if it is a non-negative integer, else raise ``ValueError``."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(
            f"{name} must be a non-negative integer (a count of units), got {count!r}; "
            "disclosure rules apply to counts, not to derived values."
        )
    if count < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {count}; counts cannot be negative.")
    return count


def is_small(count: int, threshold: int = SUPPRESSION_THRESHOLD) -> bool:
    """Whether ``count`` must be suppressed on its own (1 ≤ count ≤ threshold).

    A true zero is not small: it is published.

    >>> [is_small(n) for n in (0, 1, 5, 6)]
    [False, True, True, False]
    >>> is_small(-1)
    Traceback (most recent call last):
    ...
    ValueError: count must be a non-negative integer, got -1; counts cannot be negative.
    """
    _check_count(count)
    _check_count(threshold, "threshold")
    return 1 <= count <= threshold


def round_count(count: int, base: int = ROUNDING_BASE) -> int:
    """Round ``count`` half-up to a multiple of ``base``.

    >>> [round_count(n) for n in (0, 6, 7, 8, 12, 13, 100)]
    [0, 5, 5, 10, 10, 15, 100]
    >>> round_count(5, base=10)
    10
    """
    _check_count(count)
    if isinstance(base, bool) or not isinstance(base, int) or base < 1:
        raise ValueError(f"base must be a positive integer, got {base!r}.")
    return (count + base // 2) // base * base


def smallest_published_count(threshold: int = SUPPRESSION_THRESHOLD, base: int = ROUNDING_BASE) -> int:
    """The smallest non-zero count ever published: the first multiple of ``base`` above ``threshold``.

    >>> smallest_published_count(), smallest_published_count(7, 5), smallest_published_count(4, 5)
    (10, 10, 5)
    """
    _check_count(threshold, "threshold")
    return (threshold // base + 1) * base


def protect_count(
    count: int, *, threshold: int = SUPPRESSION_THRESHOLD, base: int = ROUNDING_BASE,
    suppressed: bool = False,
) -> int | None:
    """The published form of one count: ``None`` when suppressed, else rounded.

    Rounding is half-up to a multiple of ``base``, raised to :func:`smallest_published_count`
    when it would land in 1..threshold (6 and 7 become 10, not 5).

    :param suppressed: set when the cell was suppressed by :func:`protect_table` (secondary
        suppression). Publishing a cell without passing its table-level decision may allow a
        suppressed neighbour to be recovered from the totals.

    >>> [protect_count(n) for n in (0, 1, 5, 6, 7, 8, 13, 1234)]
    [0, None, None, 10, 10, 10, 15, 1235]
    >>> protect_count(1234, suppressed=True) is None
    True
    >>> protect_count(2.5)
    Traceback (most recent call last):
    ...
    ValueError: count must be a non-negative integer (a count of units), got 2.5; disclosure rules apply to counts, not to derived values.
    """
    _check_count(count)
    if suppressed or is_small(count, threshold):
        return None
    rounded = round_count(count, base)
    return rounded if rounded == 0 or rounded > threshold else smallest_published_count(threshold, base)


def round_value(value: float, decimals: int = VALUE_DECIMALS) -> float:
    """Round ``value`` half-up (away from zero) to ``decimals`` decimals.

    Python's ``round`` rounds half to even and works on binary floats; published figures use
    the half-up rule readers expect.

    >>> round_value(2.25), round_value(2.35), round_value(-0.05), round_value(12.0, 0)
    (2.3, 2.4, -0.1, 12.0)
    """
    _check_count(decimals, "decimals")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}.")
    quantum = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def protect_ratio(
    numerator: int | None, denominator: int | None, *, scale: float = 1.0,
    decimals: int = VALUE_DECIMALS, suppressed: bool = False,
    threshold: int = SUPPRESSION_THRESHOLD,
) -> float | None:
    """The published ratio ``scale * numerator / denominator``, from the unrounded counts.

    ``None`` when either count is suppressed (small, or ``suppressed``), missing, or the
    denominator is zero. The ratio is rounded to ``decimals`` decimals half-up.

    :param numerator: the exact, unrounded count. Passing an already rounded count gives a
        biased ratio; passing an unprotected count of a suppressed cell is a privacy risk unless
        ``suppressed`` is set.

    >>> protect_ratio(7, 1234, scale=1000)
    5.7
    >>> protect_ratio(3, 1234, scale=1000) is None, protect_ratio(60, 4) is None
    (True, True)
    >>> protect_ratio(0, 80, scale=100), protect_ratio(10, 0)
    (0.0, None)
    """
    if numerator is None or denominator is None or suppressed:
        return None
    _check_count(numerator, "numerator")
    _check_count(denominator, "denominator")
    if is_small(numerator, threshold) or is_small(denominator, threshold) or denominator == 0:
        return None
    return round_value(scale * numerator / denominator, decimals)


# ---------------------------------------------------------------------------------------------
# Tables: primary and secondary suppression on hierarchical, possibly multi-dimensional tables


Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class Protection:
    """The suppression decision for one table.

    ``primary`` cells hold a small count; ``secondary`` cells are hidden so that no primary cell
    can be recovered from published totals. Publish both the same way: telling them apart tells
    a reader which hidden cells are small.
    """

    primary: frozenset[Key]
    secondary: frozenset[Key]

    @property
    def suppressed(self) -> frozenset[Key]:
        return self.primary | self.secondary


def protect_table(
    cells: Mapping[Key, Sequence[int]],
    hierarchies: Sequence[Mapping[Hashable, Hashable | None]],
    *,
    threshold: int = SUPPRESSION_THRESHOLD,
    force: Iterable[Key] = (),
) -> Protection:
    """Decide which cells of one hierarchical table to suppress (primary and secondary).

    A convenience over :func:`privacy.linked.protect_linked` for a single table, where every
    cell is its own publication row.

    :param cells: cell key (one code per dimension) → its exact counts (one or more count
        columns, e.g. numerator and denominator). Totals are cells too: the national row is the
        cell whose geography code is the root of the geography hierarchy.
    :param hierarchies: per dimension, code → parent code (``None`` or absent for a root). A
        cell whose parent cell is in the table is a child in the group "parent = sum of
        children" along that dimension.
    :param force: keys to suppress whatever their counts (e.g. flagged upstream).

    >>> geo = {"0301": "03", "0302": "03", "0303": "03", "03": "0", "11": "0", "0": None}
    >>> cells = {("0301",): [3], ("0302",): [40], ("0303",): [9], ("03",): [52],
    ...          ("11",): [100], ("0",): [152]}
    >>> p = protect_table(cells, [geo])
    >>> sorted(p.primary), sorted(p.secondary)
    ([('0301',)], [('0303',)])
    """
    from privacy.linked import LinkedTables, protect_linked

    _check_count(threshold, "threshold")
    width = None
    for key, counts in cells.items():
        if len(key) != len(hierarchies):
            raise ValueError(f"cell {key!r} has {len(key)} codes but there are {len(hierarchies)} dimensions.")
        if width is None:
            width = len(counts)
        if len(counts) != width or width == 0:
            raise ValueError(f"every cell needs the same number (≥ 1) of counts; {key!r} has {len(counts)}.")
        for c in counts:
            _check_count(c, f"count of cell {key!r}")
    values = {(key, col): count for key, counts in cells.items() for col, count in enumerate(counts)}
    tables = LinkedTables(values, rows={cell: cell[0] for cell in values}, force={k for k in force if k in cells})
    groups: dict[tuple[int, Key], list[Key]] = defaultdict(list)
    for key in cells:
        for d, hierarchy in enumerate(hierarchies):
            parent = hierarchy.get(key[d])
            total = key[:d] + (parent,) + key[d + 1:]
            if parent is not None and total in cells:
                groups[(d, total)].append(key)
    for (_, total), children in groups.items():
        for col in range(width or 0):
            tables.add_sum((total, col), [(c, col) for c in children])
    return protect_linked(tables, threshold=threshold)
