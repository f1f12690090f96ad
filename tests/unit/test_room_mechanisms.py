"""OpenDP measurements: calibration never spends more than charged, sensitivities, equivalence
with OpenDP's own Polars path, and empirical accuracy (privacy/mechanisms.py)."""

import warnings
from fractions import Fraction

import numpy as np
import pytest

from privacy import mechanisms as mech
from privacy.budget import parse_epsilon


@pytest.mark.parametrize("epsilon", ["1/3", "0.1", "1e-3", "7/9", "3", "1/12345"])
@pytest.mark.parametrize("d_in", [1, 4, 480])
def test_calibrated_loss_never_exceeds_the_exact_charge(epsilon, d_in):
    eps = parse_epsilon(epsilon)
    c = mech.laplace_measurement(d_in, eps)
    assert Fraction(c.measurement.map(d_in)) <= eps
    # and the scale is tight (within a millionth of the ideal d_in / ε)
    assert c.scale == pytest.approx(d_in / float(eps), rel=1e-6)


@pytest.mark.parametrize(("k", "lo", "hi", "count", "sum_", "mean"),
                         [(1, 0, 1, 1, 1, 2), (4, 0, 120, 4, 480, 480), (10, -5, 3, 10, 50, 80), (4, 7, 7, 4, 28, 8)])
def test_sensitivities(k, lo, hi, count, sum_, mean):
    assert mech.count_sensitivity(k) == count
    assert mech.sum_sensitivity(k, lo, hi) == sum_
    assert mech.mean_sensitivity(k, lo, hi) == mean


@pytest.mark.parametrize(("k", "lo", "hi"), [(0, 0, 1), (2, 5, 1), (-1, 0, 1)])
def test_bad_sensitivity_inputs_raise(k, lo, hi):
    with pytest.raises(ValueError):
        mech.sum_sensitivity(k, lo, hi)


def polars_scale(k: int, epsilon: float, agg) -> float:
    """Noise scale OpenDP's Polars path picks for a grouped query with public keys."""
    import opendp.prelude as dp
    import polars as pl

    dp.enable_features("contrib")
    lf = pl.LazyFrame({"g": ["a", "b"], "x": [1, 2]}, schema={"g": pl.String, "x": pl.Int64})
    context = dp.Context.compositor(
        data=lf, privacy_unit=dp.unit_of(contributions=k), privacy_loss=dp.loss_of(epsilon=epsilon),
        split_evenly_over=1, margins=[dp.polars.Margin(by=["g"], max_length=10**7)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = context.query().group_by("g").agg(agg).with_keys(pl.DataFrame({"g": ["a", "b", "c"]})).summarize()
    return float(summary["scale"][0])


@pytest.mark.parametrize(("k", "epsilon"), [(1, 1.0), (4, 0.25), (10, 0.5)])
def test_count_matches_opendp_polars_path(k, epsilon):
    import opendp.prelude as dp

    ours = mech.laplace_measurement(mech.count_sensitivity(k), Fraction(epsilon))
    assert ours.scale == pytest.approx(polars_scale(k, epsilon, dp.len(signed=True)), rel=1e-9)


def test_count_matches_opendp_polars_identifier_truncation():
    """OpenDP's person-level truncation (identifier + truncate_per_group(k)) picks scale k/ε too."""
    import opendp.prelude as dp
    import polars as pl

    dp.enable_features("contrib")
    lf = pl.LazyFrame({"pid": ["a", "a", "b"], "g": ["x", "y", "x"]})
    context = dp.Context.compositor(
        data=lf, privacy_unit=dp.unit_of(contributions=1, identifier=pl.col("pid")),
        privacy_loss=dp.loss_of(epsilon=0.5), split_evenly_over=1,
    )
    query = (context.query().truncate_per_group(10).group_by("g").agg(dp.len(signed=True))
             .with_keys(pl.DataFrame({"g": ["x", "y"]})))
    ours = mech.laplace_measurement(mech.count_sensitivity(10), Fraction(1, 2))
    assert ours.scale == pytest.approx(float(query.summarize()["scale"][0]), rel=1e-9)


@pytest.mark.parametrize(("k", "lo", "hi"), [(4, 0, 120), (5, 0, 3650)])
def test_sum_matches_opendp_polars_path(k, lo, hi):
    import polars as pl

    ours = mech.laplace_measurement(mech.sum_sensitivity(k, lo, hi), Fraction(1, 2))
    theirs = polars_scale(k, 0.5, pl.col("x").fill_null(0).dp.sum((lo, hi)))
    assert ours.scale == pytest.approx(theirs, rel=1e-9)


def test_stated_accuracy_holds_for_about_95_percent_of_cells():
    c = mech.laplace_measurement(4, Fraction(1, 2))
    accuracy = mech.laplace_accuracy(c.scale)
    truth = [1000] * 1000
    errors = np.concatenate([np.asarray(c(truth)) - 1000 for _ in range(10)])
    within = float(np.mean(np.abs(errors) <= accuracy))
    assert 0.935 <= within <= 0.97, within


def test_quantile_loss_is_linear_and_within_the_charge():
    eps = Fraction(1, 3)
    c = mech.quantile_measurement(4, 0, 120, 0.5, eps)
    assert Fraction(c.measurement.map(4)) <= eps
    assert c.measurement.map(2) == pytest.approx(2 * c.measurement.map(1))


def test_quantile_finds_the_median_with_enough_data():
    c = mech.quantile_measurement(1, 0, 100, 0.5, Fraction(1))
    values = list(range(0, 101)) * 20
    assert all(abs(c(values) - 50) <= 5 for _ in range(20))
