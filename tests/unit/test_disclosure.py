"""The disclosure rules, one value at a time and on small tables (privacy/disclosure.py)."""

from __future__ import annotations

import pytest

from privacy.disclosure import (
    PROTECTION_MARGIN,
    ROUNDING_BASE,
    SUPPRESSION_THRESHOLD,
    VALUE_DECIMALS,
    DisclosureControlConfig,
    is_small,
    protect_count,
    protect_ratio,
    protect_table,
    round_count,
    round_value,
    smallest_published_count,
)
from privacy.publication import SHARE_DECIMALS, protect_status


def test_policy_constants_are_the_documented_ones():
    # docs/publishing.md states these numbers; change both together.
    assert (SUPPRESSION_THRESHOLD, ROUNDING_BASE, VALUE_DECIMALS, PROTECTION_MARGIN) == (5, 5, 1, 3)
    assert SHARE_DECIMALS == 3


@pytest.mark.parametrize(
    "count, published",
    [(0, 0), (1, None), (2, None), (5, None), (6, 10), (7, 10), (8, 10), (10, 10), (12, 10),
     (13, 15), (95718, 95720), (133731, 133730)],
)
def test_protect_count_boundaries(count, published):
    assert protect_count(count) == published


@pytest.mark.parametrize("bad", [-1, 7.1, 6.0, "6", None, True])
def test_protect_count_rejects_what_is_not_a_count(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        protect_count(bad)


@pytest.mark.parametrize("bad", [-1, 2.5, True])
@pytest.mark.parametrize("fn", [is_small, round_count])
def test_single_value_functions_reject_bad_input(fn, bad):
    with pytest.raises(ValueError):
        fn(bad)


@pytest.mark.parametrize("base", [0, -5, 2.5])
def test_round_count_rejects_bad_base(base):
    with pytest.raises(ValueError, match="base"):
        round_count(10, base)


@pytest.mark.parametrize("count, base, rounded", [(2, 5, 0), (3, 5, 5), (5, 10, 10), (4, 10, 0),
                                                  (15, 10, 20), (7, 1, 7)])
def test_round_count_is_half_up(count, base, rounded):
    assert round_count(count, base) == rounded


@pytest.mark.parametrize("threshold, base, expected", [(5, 5, 10), (7, 5, 10), (4, 5, 5), (9, 10, 10), (0, 5, 5)])
def test_no_published_count_falls_in_the_suppressed_range(threshold, base, expected):
    assert smallest_published_count(threshold, base) == expected
    published = [protect_count(n, threshold=threshold, base=base) for n in range(0, 60)]
    assert not any(p is not None and 1 <= p <= threshold for p in published)
    assert min(p for p in published if p) == expected


def test_secondary_flag_suppresses_a_large_count():
    assert protect_count(1000, suppressed=True) is None


@pytest.mark.parametrize(
    "numerator, denominator, scale, expected",
    [(7, 1234, 1000, 5.7), (6, 6, 100, 100.0), (5, 1000, 1, None), (60, 5, 1, None),
     (0, 10, 100, 0.0), (10, 0, 1, None), (None, 10, 1, None), (1, 8, 1, None),
     (6, 8, 100, 75.0), (1, 3, 1, None)],
)
def test_protect_ratio(numerator, denominator, scale, expected):
    assert protect_ratio(numerator, denominator, scale=scale) == expected


def test_ratio_uses_unrounded_counts():
    # 8/13 = 0.615…; from rounded counts (10/15) it would be 0.667.
    assert protect_ratio(8, 13, decimals=3) == 0.615


def test_ratio_of_a_secondarily_suppressed_cell_is_suppressed():
    assert protect_ratio(800, 1000, suppressed=True) is None


@pytest.mark.parametrize("bad", [(-1, 10), (3.5, 10), (10, -2)])
def test_protect_ratio_rejects_bad_counts(bad):
    with pytest.raises(ValueError):
        protect_ratio(*bad)


@pytest.mark.parametrize("value, decimals, expected", [(0.05, 1, 0.1), (0.15, 1, 0.2), (2.675, 2, 2.68),
                                                        (-1.25, 1, -1.3), (3, 0, 3.0)])
def test_round_value_is_half_up(value, decimals, expected):
    assert round_value(value, decimals) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1.0"])
def test_round_value_rejects_non_numbers(bad):
    with pytest.raises(ValueError):
        round_value(bad)


def test_config_is_on_by_default_and_checks_its_numbers():
    assert DisclosureControlConfig().enabled is True
    with pytest.raises(ValueError):
        DisclosureControlConfig(threshold=-1)
    with pytest.raises(ValueError):
        DisclosureControlConfig(rounding_base=0)


# ---------------------------------------------------------------------------------------------
# Tables

GEO = {"K1": "F1", "K2": "F1", "K3": "F1", "K4": "F2", "K5": "F2", "F1": "N", "F2": "N", "N": None}


def table(**counts: int) -> dict:
    kommuner = {k: v for k, v in counts.items() if k.startswith("K")}
    cells = {(k,): [v] for k, v in kommuner.items()}
    for fylke in ("F1", "F2"):
        cells[(fylke,)] = [sum(v for k, v in kommuner.items() if GEO[k] == fylke)]
    cells[("N",)] = [cells[("F1",)][0] + cells[("F2",)][0]]
    return cells


def test_no_small_cells_means_nothing_suppressed():
    p = protect_table(table(K1=10, K2=20, K3=30, K4=40, K5=50), [GEO])
    assert p.suppressed == frozenset()


def test_single_small_kommune_takes_the_next_smallest_with_it():
    p = protect_table(table(K1=3, K2=40, K3=9, K4=40, K5=50), [GEO])
    assert p.primary == {("K1",)}
    assert p.secondary == {("K3",)}


def test_two_small_kommuner_that_sum_to_at_most_the_threshold_need_a_third():
    p = protect_table(table(K1=2, K2=3, K3=90, K4=40, K5=50), [GEO])
    assert p.primary == {("K1",), ("K2",)}
    assert p.secondary == {("K3",)}


def test_zeros_are_published_and_never_chosen_as_complement():
    # K2 and K3 are zero: hiding them adds no uncertainty, so the fylke total must go,
    # and then another fylke with it.
    p = protect_table(table(K1=4, K2=0, K3=0, K4=40, K5=50), [GEO])
    assert ("K2",) not in p.suppressed and ("K3",) not in p.suppressed
    assert {("F1",), ("F2",)} <= p.suppressed
    assert ("N",) not in p.suppressed


def test_small_total_hides_the_hierarchy_below_it():
    p = protect_table(table(K1=1, K2=1, K3=1, K4=400, K5=500), [GEO])
    assert ("F1",) in p.primary
    assert ("F2",) in p.secondary  # F1 alone in the national group
    assert p.suppressed & {("K4",), ("K5",)}  # F2 must not be recoverable from its kommuner


def test_forced_cells_are_treated_as_primary():
    p = protect_table(table(K1=10, K2=20, K3=30, K4=40, K5=50), [GEO], force=[("K2",)])
    assert p.primary == {("K2",)} and p.secondary == {("K1",)}


def test_any_small_count_column_makes_the_cell_primary():
    cells = {("K1",): [2, 100], ("K2",): [50, 3], ("K3",): [50, 100], ("F1",): [102, 203]}
    p = protect_table(cells, [{"K1": "F1", "K2": "F1", "K3": "F1"}])
    assert p.primary == {("K1",), ("K2",)}


@pytest.mark.parametrize(
    "cells, message",
    [({("K1",): [-1]}, "non-negative"), ({("K1",): [1.5]}, "non-negative"),
     ({("K1", "x"): [1]}, "dimensions"), ({("K1",): [1], ("K2",): [1, 2]}, "same number")],
)
def test_protect_table_rejects_bad_tables(cells, message):
    with pytest.raises(ValueError, match=message):
        protect_table(cells, [GEO])


def _national(period, value, suppressed=False):
    return {"indicator_id": "vft_mottakere", "breakdown_code": "alle", "period": period,
            "geo_level": "nasjonal", "value": value, "suppressed": suppressed}


def test_status_is_derived_from_the_published_values_only():
    """The mart's trend, projection and gap come from exact national counts and would give them
    back (gap × target = |latest − target|); published, they come from the rounded values."""
    mart = {"indicator_id": "vft_mottakere", "breakdown_code": "alle", "latest_year": 2024,
            "latest_value": 668.0, "first_year": 2017, "first_value": 478.0, "trend_per_year": 190 / 7,
            "projected_value": 668 + 2 * 190 / 7, "target": 750.0, "target_year": 2026,
            "relative_gap": 82 / 750, "status": "red", "status_reason": "Behind target and trend"}
    out = protect_status([mart], [_national("2024", 670.0), _national("2017", 480.0)])[0]
    assert (out["latest_value"], out["first_value"]) == (670.0, 480.0)
    assert out["trend_per_year"] == pytest.approx(190 / 7)
    assert out["projected_value"] == pytest.approx(670 + 2 * 190 / 7)
    assert out["relative_gap"] == pytest.approx(80 / 750)
    assert out["status"] == "red" and out["suppressed"] is False


def test_status_of_a_suppressed_value_is_withheld():
    mart = {"indicator_id": "vft_mottakere", "breakdown_code": "alle", "latest_year": 2024,
            "latest_value": 3.0, "first_year": 2017, "first_value": 40.0, "trend_per_year": -1.0,
            "projected_value": 1.0, "target": 50.0, "target_year": 2026, "relative_gap": 0.9,
            "status": "red", "status_reason": "Behind target and trend"}
    out = protect_status([mart], [_national("2024", None, True), _national("2017", 40.0)])[0]
    assert out["latest_value"] is None and out["suppressed"]
    assert all(out[c] is None for c in ("trend_per_year", "projected_value", "relative_gap", "status"))


def test_a_small_count_held_down_by_a_shown_cap_hides_the_cap_not_a_sibling():
    """80+ in kommune A is 3 and at most A's 7 recipients of all ages: while 7 is shown, an
    attacker knows 80+ in A is 1–7, too narrow for a small count (needs 8). Hiding A's 7 is the
    only fix; hiding another kommune's 80+ (the old widening) changed nothing and suppressed
    more, and at demo scale spread up to every fylke rate."""
    from privacy.linked import LinkedTables, protect_linked

    counts = {"all": {"A": 7, "B": 50, "C": 60}, "80": {"A": 3, "B": 30, "C": 40}}
    tables = LinkedTables(values={}, rows={})
    for group, kommuner in counts.items():
        for kommune, value in {**kommuner, "F": sum(kommuner.values())}.items():
            tables.values[(group, kommune)] = value
            tables.rows[(group, kommune)] = (group, kommune)
        tables.add_sum((group, "F"), [(group, k) for k in kommuner])
    for kommune in ("A", "B", "C", "F"):
        tables.add_at_most([("80", kommune)], [("all", kommune)])
    p = protect_linked(tables)
    assert p.primary == {("80", "A")}
    assert p.secondary == {("all", "A"), ("all", "B"), ("80", "B")}  # the cap, and one more of each sum
