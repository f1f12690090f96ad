"""The demo scale recorded in the warehouse (kernel.demo): what the reports and dbt read."""

from __future__ import annotations

import pytest

from helsedata.build import _demo_vars
from kernel.demo import demo_scale, record_demo_scale


def test_a_warehouse_without_a_record_is_real_data(settings):
    assert demo_scale(settings) is None
    assert _demo_vars(settings) == []


def test_the_newest_demo_generation_counts(settings):
    record_demo_scale(settings, 0.05, seed=1)
    record_demo_scale(settings, 0.01, seed=2)
    assert demo_scale(settings) == 0.01
    assert _demo_vars(settings) == ["--vars", '{"demo_scale": 0.01}']


@pytest.mark.parametrize("scale", [0, -0.1, 1.5])
def test_a_scale_outside_0_to_1_is_refused(settings, scale):
    with pytest.raises(ValueError, match="0 < scale ≤ 1"):
        record_demo_scale(settings, scale, seed=0)
