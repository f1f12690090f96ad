"""OpenDP measurements for the analysis room. No noise is drawn anywhere else.

Every release is an OpenDP 0.16 measurement applied to an aggregate computed in DuckDB after the
per-person contribution bound (see :mod:`privacy.aggregate`):

=========  ==============================================  ==========================================
statistic  input to the measurement                        measurement and sensitivity (d_in)
=========  ==============================================  ==========================================
count      vector of counts, one per public key            ``make_laplace`` (discrete) on
                                                           ``l1_distance(i64)``, d_in = k
sum        vector of clipped integer sums                  same, d_in = k · max(|lo|, |hi|)
mean       vector [centred sums…, M·counts…]               same, d_in = 2 · k · M; mean = c + sum / count
           (values centred on c = ⌊(lo+hi)/2⌋, M = max(|lo−c|, |hi−c|))
quantile   per key, the person-bounded clipped values      ``make_private_quantile`` (exponential
                                                           mechanism) with d_in = k, see below
=========  ==============================================  ==========================================

Calibration: OpenDP measurements take a float ``scale``. :func:`calibrate` picks the scale from the
measurement's own privacy map and then checks, in exact rational arithmetic, that
``Fraction(meas.map(d_in)) <= epsilon`` for the **exact** ε that is charged — nudging the scale
up if float rounding made the loss exceed it. So the ledger never records less than is spent.

Quantiles by group: one person's ≤ k rows fall into groups g with Σ d_g ≤ k. The quantile
mechanism's loss is linear in d_in (its score has sensitivity proportional to the number of
changed rows): its exact loss is c · d, which OpenDP's map bounds from above (rounding up). So
Σ_g c · d_g ≤ c · k ≤ map(k) ≤ ε. :func:`quantile_measurement` calibrates map(k) ≤ ε and checks
on the built measurement that the map is linear in d (up to float rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

#: Confidence level of ``accuracy_95``: 95 % of cells have |noise| ≤ accuracy_95.
ACCURACY_ALPHA = 0.05
#: Most candidate values a quantile may choose between (a public grid over the bounds).
MAX_QUANTILE_CANDIDATES = 1001
#: Most attempts to nudge a scale up until the exact check passes (it passes at once in practice).
_CALIBRATION_ATTEMPTS = 64


def _dp():
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@dataclass(frozen=True)
class Calibrated:
    """A measurement whose privacy loss at ``d_in`` is at most the charged ``epsilon``."""

    measurement: object
    scale: float
    d_in: int
    epsilon: Fraction
    loss: float  # meas.map(d_in), ≤ epsilon

    def __call__(self, value):
        return self.measurement(value)


def calibrate(make: Callable[[float], object], d_in: int, epsilon: Fraction) -> Calibrated:
    """Build ``make(scale)`` with the smallest scale found whose ``map(d_in) <= epsilon`` exactly.

    >>> dp = _dp()
    >>> space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")
    >>> c = calibrate(lambda s: dp.m.make_laplace(*space, scale=s), 3, Fraction(1, 3))
    >>> round(c.scale, 6), Fraction(c.loss) <= Fraction(1, 3)
    (9.0, True)
    """
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    unit = make(1.0)
    scale = float(unit.map(d_in)) / float(epsilon)
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"cannot calibrate a scale for epsilon {epsilon}")
    for _ in range(_CALIBRATION_ATTEMPTS):
        meas = make(scale)
        loss = meas.map(d_in)
        if Fraction(loss) <= epsilon:
            return Calibrated(meas, scale, d_in, epsilon, float(loss))
        scale = math.nextafter(scale, math.inf) * (1 + 1e-12)
    raise ValueError(f"could not find a scale whose privacy loss is at most {epsilon}")


def _vector_space(dp):
    return dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")


def laplace_measurement(d_in: int, epsilon: Fraction) -> Calibrated:
    """Discrete Laplace on an integer vector with L1 sensitivity ``d_in``."""
    dp = _dp()
    space = _vector_space(dp)
    return calibrate(lambda s: dp.m.make_laplace(*space, scale=s), d_in, epsilon)


def laplace_accuracy(scale: float, alpha: float = ACCURACY_ALPHA) -> float:
    """Half-width that |noise| stays within with probability 1 − alpha (per cell).

    >>> round(laplace_accuracy(3.0), 3)
    9.446
    """
    return float(_dp().discrete_laplacian_scale_to_accuracy(scale=scale, alpha=alpha))


def count_sensitivity(rows_per_person: int) -> int:
    """L1 sensitivity of a vector of counts when each person adds at most ``k`` rows.

    Each row falls in exactly one cell, so adding or removing one person changes the vector's
    L1 norm by at most k — however many groups the rows spread over.

    >>> count_sensitivity(4)
    4
    """
    _positive_int(rows_per_person, "rows_per_person")
    return rows_per_person


def sum_sensitivity(rows_per_person: int, lo: int, hi: int) -> int:
    """L1 sensitivity of clipped integer sums: k · max(|lo|, |hi|).

    >>> sum_sensitivity(4, -2, 120)
    480
    """
    _positive_int(rows_per_person, "rows_per_person")
    return rows_per_person * magnitude(lo, hi)


def magnitude(lo: int, hi: int) -> int:
    """max(|lo|, |hi|), at least 1 (so a mean's count weight is never zero)."""
    if lo > hi:
        raise ValueError(f"bounds must satisfy lo <= hi, got {lo}, {hi}")
    return max(abs(lo), abs(hi), 1)


def mean_centre(lo: int, hi: int) -> int:
    """Centre c that a mean's values are shifted by (halves the sum's sensitivity for [0, hi]).

    >>> mean_centre(0, 120)
    60
    """
    if lo > hi:
        raise ValueError(f"bounds must satisfy lo <= hi, got {lo}, {hi}")
    return (lo + hi) // 2


def mean_magnitude(lo: int, hi: int) -> int:
    """M = max(|lo − c|, |hi − c|, 1): the most one centred value moves the centred sum.

    >>> mean_magnitude(0, 120)
    60
    """
    c = mean_centre(lo, hi)
    return magnitude(lo - c, hi - c)


def mean_sensitivity(rows_per_person: int, lo: int, hi: int) -> int:
    """L1 sensitivity of [centred sums…, M·counts…]: each row moves a sum by ≤ M and a count by M.

    >>> mean_sensitivity(4, 0, 100)
    400
    """
    _positive_int(rows_per_person, "rows_per_person")
    return 2 * rows_per_person * mean_magnitude(lo, hi)


def quantile_candidates(lo: int, hi: int) -> list[int]:
    """A public grid of integer candidates over [lo, hi] (every integer when few enough).

    >>> quantile_candidates(0, 4)
    [0, 1, 2, 3, 4]
    >>> len(quantile_candidates(0, 10**6)) <= MAX_QUANTILE_CANDIDATES
    True
    """
    if lo > hi:
        raise ValueError(f"bounds must satisfy lo <= hi, got {lo}, {hi}")
    if hi - lo + 1 <= MAX_QUANTILE_CANDIDATES:
        return list(range(lo, hi + 1))
    step = (hi - lo) / (MAX_QUANTILE_CANDIDATES - 1)
    return sorted({lo + round(i * step) for i in range(MAX_QUANTILE_CANDIDATES)})


def quantile_measurement(rows_per_person: int, lo: int, hi: int, q: float, epsilon: Fraction) -> Calibrated:
    """OpenDP's exponential-mechanism quantile over a public candidate grid, for one group."""
    _positive_int(rows_per_person, "rows_per_person")
    if not 0 < q < 1:
        raise ValueError("q must be strictly between 0 and 1")
    dp = _dp()
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    candidates = quantile_candidates(lo, hi)
    # A person's ≤ k rows spread over groups with Σ d_g ≤ k. The exponential mechanism's exact
    # loss is linear, c · d; OpenDP's map rounds it up, so Σ c · d_g ≤ c · k ≤ map(k) ≤ ε.
    c = calibrate(
        lambda s: dp.m.make_private_quantile(domain, dp.symmetric_distance(), dp.max_divergence(),
                                             candidates=candidates, alpha=q, scale=s),
        rows_per_person, epsilon,
    )
    unit = c.measurement.map(1)
    for d in range(2, rows_per_person + 1):
        if abs(c.measurement.map(d) - d * unit) > 1e-9 * d * unit:
            raise ValueError("quantile privacy map is not linear in d_in; grouped release not allowed")
    return c


def _positive_int(value: int, name: str) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
