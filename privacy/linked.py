"""Secondary suppression decided jointly over linked tables, proven by the attacker's linear program.

Every published table is a set of *cells* (one count each) tied together by public facts: a
total is the sum of its children (kommuner → fylke → nasjonal, months → year), and one count is
at most another (31 December within the year, 80+ within 67+ within all, a technology within
all). :class:`LinkedTables` holds the cells, which publication *row* shows each of them (a row
is shown or hidden as a whole: a share's numerator and denominator go together) and those
relations. :func:`protect_linked` decides which rows to hide so that no hidden cell can be
narrowed by an attacker beyond its *protection interval* (:func:`is_protected`), and
proves it by solving the attacker's problem: the smallest and the largest value of every hidden
cell subject to every relation, every other cell known exactly, and "a hidden published count is
at least 1, since zeros are published" (scipy's HiGHS linear-programming solver).

The attacker assumed here is stronger than the publication allows: published counts are
rounded, but the program treats them as known exactly. So the decision also holds for every
weaker attacker, including one who knows only the rounding intervals (docs/publishing.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kernel.errors import PipelineFailure
from privacy.disclosure import (
    PROTECTION_MARGIN,
    SUPPRESSION_THRESHOLD,
    Protection,
    is_small,
)

Key = Hashable


@dataclass(frozen=True)
class Sum:
    """``total = sum(children)``: a published total and the cells it adds up."""

    total: Key
    children: tuple[Key, ...]


@dataclass(frozen=True)
class AtMost:
    """``sum(left) <= sum(right)``: e.g. recipients on 31 December ≤ recipients during the year."""

    left: tuple[Key, ...]
    right: tuple[Key, ...]


@dataclass
class LinkedTables:
    """Cells of every published table and the public facts that link them.

    :param values: cell → its exact count. Cells without a row are never published but can be
        computed by a reader (what the national total holds beyond its fylker); they are hidden
        and protected when they are small, and otherwise treated as known.
    :param rows: published cell → the publication row that shows it. A cell may belong to a row
        without being shown itself (a share's complement, denominator − numerator): list it in
        ``unpublished``.
    :param unpublished: cells of a row that the row does not show but makes computable.
    :param relations: the public facts (:class:`Sum`, :class:`AtMost`).
    :param force: rows to hide whatever their counts (flagged upstream).
    """

    values: dict[Key, int]
    rows: dict[Key, Hashable]
    relations: list[Sum | AtMost] = field(default_factory=list)
    unpublished: set[Key] = field(default_factory=set)
    force: set[Hashable] = field(default_factory=set)

    def add_sum(self, total: Key, children: Sequence[Key]) -> None:
        """Add ``total = sum(children)``, or, where the counts do not add up exactly (distinct
        persons counted in two kommuner), the facts that do hold: each child ≤ total ≤ sum."""
        children = tuple(children)
        if self.values[total] == sum(self.values[c] for c in children):
            self.relations.append(Sum(total, children))
            return
        self.relations.append(AtMost((total,), children))
        self.relations.extend(AtMost((c,), (total,)) for c in children)

    def add_at_most(self, left: Sequence[Key], right: Sequence[Key]) -> None:
        self.relations.append(AtMost(tuple(left), tuple(right)))


def is_protected(value: int, low: float, high: float, threshold: int = SUPPRESSION_THRESHOLD,
                 margin: int = PROTECTION_MARGIN) -> bool:
    """Whether an attacker's feasible interval ``[low, high]`` protects a hidden count ``value``.

    The *protection interval*: the feasible interval is at least ``2 × margin`` wide (a hidden
    count is never known more precisely than ±``margin``), and for a small count (1..threshold)
    it reaches at least ``threshold + margin``, so a hidden 1–5 cannot be told from 8. The lower
    end may be the count itself: zeros are published, so a hidden count is known to be ≥ 1, and
    a total of three hidden kommuner ≥ 3.

    >>> is_protected(1, 1, 8), is_protected(3, 3, 9), is_protected(3, 1, 7), is_protected(3, 3, 8)
    (True, True, False, False)
    >>> is_protected(40, 35, 41), is_protected(40, 36, 41)
    (True, False)
    """
    tolerance = 1e-6
    wide = high - low >= 2 * margin - tolerance
    return wide and (value > threshold or high >= threshold + margin - tolerance)


def protect_linked(tables: LinkedTables, *, threshold: int = SUPPRESSION_THRESHOLD,
                   margin: int = PROTECTION_MARGIN) -> Protection:
    """Rows to hide: primary (a small count, or forced) and secondary (to protect the others).

    1. Primary: every row with a cell (shown or computable from it) of 1..``threshold``.
    2. Group rule (fast, heuristic): in every :class:`Sum` with a hidden member, at least two
       members are hidden and there is room for the smallest hidden child to reach
       ``threshold + margin`` while the others are at least 1; otherwise the smallest non-zero
       shown child's row is hidden (the total's only when no child is left). Repeated until
       nothing changes.
    3. Audit (the proof): for each connected part of the tables, the attacker's linear program
       finds each hidden cell's feasible interval; a cell it does not protect (:func:`is_protected`)
       gets a neighbour hidden (:meth:`_State._widen`). Steps 2–3 repeat until every hidden cell
       is protected; if nothing is left to hide, :class:`PipelineFailure` stops publication.
    """
    cells_of: dict[Hashable, list[Key]] = defaultdict(list)
    for cell, row in tables.rows.items():
        cells_of[row].append(cell)
    if tables.force - set(cells_of):
        raise ValueError(f"forced rows without a cell: {sorted(map(repr, tables.force - set(cells_of)))[:3]}")
    primary = {row for row, cells in cells_of.items()
               if any(is_small(tables.values[c], threshold) for c in cells)} | set(tables.force)
    latent = {c for c in tables.values if c not in tables.rows and is_small(tables.values[c], threshold)}
    state = _State(tables, set(primary), latent, threshold, margin)
    for component in _components(tables):
        state.protect(component)
    return Protection(frozenset(primary), frozenset(state.hidden_rows - primary))


def _members(relation: Sum | AtMost) -> tuple[Key, ...]:
    if isinstance(relation, Sum):
        return (relation.total, *relation.children)
    return (*relation.left, *relation.right)


def _components(tables: LinkedTables) -> list[list[Sum | AtMost]]:
    """Relations grouped into independent parts (no cell in common): each is solved on its own.

    The relations are taken in a canonical order (sorted by their text), not in the order the
    rows were read: the greedy secondary suppression then hides the same cells whatever order the
    database returns the mart in, so two publications of the same data never differ.
    """
    parent: dict[Key, Key] = {}
    relations = sorted(tables.relations, key=repr)

    def find(x: Key) -> Key:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # a row's cells go together, so they are linked as well
    row_anchor: dict[Hashable, Key] = {}
    for cell, row in tables.rows.items():
        parent[find(cell)] = find(row_anchor.setdefault(row, cell))
    for relation in relations:
        members = _members(relation)
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    parts: dict[Key, list[Sum | AtMost]] = defaultdict(list)
    for relation in relations:
        parts[find(_members(relation)[0])].append(relation)
    return sorted(parts.values(), key=lambda part: repr(part[0]))


#: Seed of the audit's random objectives, and how many solves without progress end phase 1.
_AUDIT_SEED = 20261129
_AUDIT_STALL = 4


@dataclass
class _State:
    tables: LinkedTables
    hidden_rows: set[Hashable]
    latent: set[Key]  # unpublished cells without a row that are hidden (small)
    threshold: int
    margin: int
    safe: set[Key] = field(default_factory=set)

    def hidden(self, cell: Key) -> bool:
        row = self.tables.rows.get(cell)
        return cell in self.latent if row is None else row in self.hidden_rows

    def floor(self, cell: Key) -> int:
        published = cell in self.tables.rows and cell not in self.tables.unpublished
        return min(1, self.tables.values[cell]) if published else 0

    def needs_protection(self, cell: Key) -> bool:
        published = cell in self.tables.rows and cell not in self.tables.unpublished
        return published or is_small(self.tables.values[cell], self.threshold)

    def protect(self, relations: list[Sum | AtMost]) -> None:
        sums = [r for r in relations if isinstance(r, Sum)]
        near: dict[Key, set[Key]] = defaultdict(set)  # cell → the cells sharing a relation with it
        totals: dict[Key, set[Key]] = defaultdict(set)  # cell → the totals it is a child of
        caps: dict[Key, set[Key]] = defaultdict(set)  # cell → the cells it is at most (one each)
        for relation in relations:
            members = set(_members(relation))
            for cell in members:
                near[cell] |= members
            if isinstance(relation, AtMost) and len(relation.left) == len(relation.right) == 1:
                caps[relation.left[0]].add(relation.right[0])
        for group in sums:
            for child in group.children:
                totals[child].add(group.total)
        while True:
            self._group_rule(sums)
            weak = self._audit(relations)
            if not weak:
                return
            before = len(self.hidden_rows)
            for cell, high in weak.items():
                if not self._hide_binding_cap(cell, high, caps):
                    self._widen(cell, near, totals)
            if len(self.hidden_rows) == before:
                raise PipelineFailure(
                    f"utleveringskontrollen kan ikke beskytte skjulte celler {sorted(map(repr, weak))[:3]}: "
                    "alle nabocellene er skjult allerede; publiseringen er stoppet.")

    def _shown_candidates(self, cells: Iterable[Key]) -> list[Key]:
        return [c for c in cells if c in self.tables.rows and c not in self.tables.unpublished
                and not self.hidden(c) and self.tables.values[c] > 0]

    def _hide(self, cell: Key) -> None:
        self.hidden_rows.add(self.tables.rows[cell])

    def _smallest(self, cells: Iterable[Key]) -> Key:
        return min(cells, key=lambda c: (self.tables.values[c], repr(c)))

    def _group_rule(self, sums: list[Sum]) -> None:
        """In every sum with a hidden member: two or more hidden members, and room for the
        smallest hidden child to reach ``threshold + margin`` while the others are at least 1."""
        need = self.threshold + self.margin
        changed = True
        while changed:
            changed = False
            for group in sums:
                while True:
                    hidden_children = [c for c in group.children if self.hidden(c)]
                    n_hidden = len(hidden_children) + self.hidden(group.total)
                    if n_hidden == 0:
                        break
                    room = sum(self.tables.values[c] for c in hidden_children) - (len(hidden_children) - 1)
                    if n_hidden >= 2 and room >= need:
                        break
                    candidates = self._shown_candidates(group.children)
                    if candidates:
                        self._hide(self._smallest(candidates))
                    elif self._shown_candidates([group.total]):
                        self._hide(group.total)
                    else:
                        break  # every child with units is hidden; the audit decides the rest
                    changed = True

    def _hide_binding_cap(self, cell: Key, high: float, caps: Mapping[Key, set[Key]]) -> bool:
        """Hide the shown cap that holds ``cell`` down, if there is one; True when it did.

        A cap is a shown cell that ``cell`` is at most, directly or through hidden caps (80+
        ≤ 67+ ≤ all recipients in a kommune). When the attacker's largest value of ``cell``
        (``high``) is a cap's value, that cap is why the interval is too narrow, and only
        hiding it (or a cap between) widens it; hiding a total elsewhere, as :meth:`_widen`
        would, leaves the cell as narrow as before and spreads suppression up to the fylker.
        """
        seen, frontier, binding = {cell}, [cell], []
        while frontier:
            above = {c for f in frontier for c in caps.get(f, ())} - seen
            seen |= above
            binding += [c for c in self._shown_candidates(above) if self.tables.values[c] <= high + 1e-6]
            frontier = [c for c in above if self.hidden(c)]
        if not binding:
            return False
        self._hide(self._smallest(binding))
        return True

    def _widen(self, cell: Key, near: Mapping[Key, set[Key]], totals: Mapping[Key, set[Key]]) -> None:
        """Hide a shown cell sharing a relation with ``cell`` (or, if there is none, with a hidden
        neighbour of it, and so on): a child before a total above it (the national figure
        stays), then the smallest of at least ``threshold + margin``, else the smallest non-zero."""
        frontier, seen = {cell}, {cell}
        while frontier:
            ring = set().union(*(near[c] for c in frontier)) - seen
            candidates = self._shown_candidates(ring)
            if candidates:
                above = set().union(*(totals[c] for c in frontier))
                candidates = [c for c in candidates if c not in above] or candidates
                roomy = [c for c in candidates if self.tables.values[c] >= self.threshold + self.margin]
                self._hide(self._smallest(roomy or candidates))
                return
            seen |= ring
            frontier = {c for c in ring if self.hidden(c)}

    def _audit(self, relations: list[Sum | AtMost]) -> dict[Key, float]:
        """Hidden cells whose feasible interval the attacker's program shows to be too narrow,
        with the largest value the attacker found for each."""
        import numpy as np

        values = self.tables.values
        hidden = sorted({c for r in relations for c in _members(r) if self.hidden(c)}, key=repr)
        if not hidden:
            return []
        index = {c: i for i, c in enumerate(hidden)}
        program = _Program(len(hidden), [self.floor(c) for c in hidden])
        for relation in relations:
            terms = ([(relation.total, 1)] + [(c, -1) for c in relation.children] if isinstance(relation, Sum)
                     else [(c, 1) for c in relation.left] + [(c, -1) for c in relation.right])
            if any(c in index for c, _ in terms):
                constant = sum(sign * values[c] for c, sign in terms if c not in index)
                program.add_row([(index[c], sign) for c, sign in terms if c in index], -constant,
                                equality=isinstance(relation, Sum))
        program.finish()
        check = [i for i, c in enumerate(hidden) if self.needs_protection(c) and c not in self.safe]
        truth = np.array([values[c] for c in hidden], dtype=float)
        low, high = truth.copy(), truth.copy()

        def solve(objective: dict[int, float]) -> bool:
            """Optimise; widen the known ranges by the solution. False when unbounded."""
            x = program.solve(objective)
            if x is None:
                return False
            np.minimum(low, x, out=low)
            np.maximum(high, x, out=high)
            return True

        check_at = np.array(check, dtype=int)
        tolerance = 1e-6

        def open_cells() -> list[int]:  # is_protected, on every checked cell at once
            lo, hi, value = low[check_at], high[check_at], truth[check_at]
            wide = hi - lo >= 2 * self.margin - tolerance
            protected = wide & ((value > self.threshold) | (hi >= self.threshold + self.margin - tolerance))
            return check_at[~protected].tolist()

        # Phase 1: random objectives, alternately pushing the open cells up and down with heavy-
        # tailed weights, so in every independent part of the table the heaviest cell reaches its
        # extreme; every solution is a feasible table that widens the known range of many cells
        # at once. Seeded, so the same tables always get the same decision.
        rng = np.random.default_rng(_AUDIT_SEED)
        stalled, direction = 0, 1
        while stalled < _AUDIT_STALL:
            pending = open_cells()
            if not pending:
                break
            direction = -direction  # maximise first, then minimise, …
            weights = rng.exponential(size=len(pending)) ** 3
            solve(dict(zip(pending, direction * weights)))
            stalled = stalled + 1 if len(open_cells()) == len(pending) else 0
        # Phase 2: the exact maximum and minimum of every cell still open.
        weak: dict[Key, float] = {}
        for i in open_cells():
            for sign in (-1.0, 1.0):  # maximise, then minimise
                if not solve({i: sign}):
                    high[i] = np.inf
                if is_protected(truth[i], low[i], high[i], self.threshold, self.margin):
                    break
            else:
                weak[hidden[i]] = float(high[i])
        self.safe |= {hidden[i] for i in check} - set(weak)
        return weak


class _Program:
    """The attacker's linear program on one part of the tables, kept in one HiGHS instance.

    Only the objective changes between solves, so every solve starts from the previous optimal
    basis (a warm start): a few simplex iterations instead of a solve from scratch.
    """

    def __init__(self, n: int, lower: Sequence[float]) -> None:
        import highspy
        import numpy as np

        self._np = np
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("presolve", "off")  # presolve would discard the warm start
        self._highs.setOptionValue("simplex_strategy", 4)  # primal: a new objective keeps the basis feasible
        self._inf = highspy.kHighsInf
        self._status = highspy.HighsModelStatus
        self._n = n
        self._highs.addCols(n, np.zeros(n), np.array(lower, dtype=float), np.full(n, self._inf),
                            0, np.array([], dtype=np.int32), np.array([], dtype=np.int32), np.array([]))
        self._rows: list[tuple[list[tuple[int, int]], float, bool]] = []
        self._cost: dict[int, float] = {}

    def add_row(self, terms: list[tuple[int, int]], rhs: float, *, equality: bool) -> None:
        """``sum(coefficient × x) = rhs`` (or ``≤ rhs``)."""
        self._rows.append((terms, rhs, equality))

    def finish(self) -> None:
        np = self._np
        starts, indices, data = [], [], []
        for terms, _, _ in self._rows:
            starts.append(len(indices))
            for col, coefficient in terms:
                indices.append(col)
                data.append(coefficient)
        rhs = np.array([r[1] for r in self._rows], dtype=float)
        lower = np.array([r[1] if r[2] else -self._inf for r in self._rows], dtype=float)
        self._highs.addRows(len(self._rows), lower, rhs, len(indices), np.array(starts, dtype=np.int32),
                            np.array(indices, dtype=np.int32), np.array(data, dtype=float))

    def solve(self, objective: Mapping[int, float]):
        """The optimal solution for ``objective`` (minimised), or None when it is unbounded."""
        np = self._np
        cost = {i: 0.0 for i in self._cost} | dict(objective)
        self._cost = {i: c for i, c in cost.items() if c}
        cols = np.array(list(cost), dtype=np.int32)
        self._highs.changeColsCost(len(cols), cols, np.array(list(cost.values()), dtype=float))
        self._highs.run()
        status = self._highs.getModelStatus()
        if status in (self._status.kUnbounded, self._status.kUnboundedOrInfeasible):
            return None
        if status != self._status.kOptimal:
            raise RuntimeError(f"disclosure audit could not solve the attacker's program: "
                               f"{self._highs.modelStatusToString(status)}")
        return np.array(self._highs.getSolution().col_value)
