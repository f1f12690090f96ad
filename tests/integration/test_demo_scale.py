"""The demo scale recorded in the warehouse (kernel.demo): what the reports and dbt read."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from helsedata.build import dbt_vars
from kernel.demo import demo_scale, record_demo_scale


def test_a_warehouse_without_a_record_is_real_data(settings):
    assert demo_scale(settings) is None
    assert json.loads(dbt_vars(settings, dt.date(2028, 3, 1))[1]) == {"run_date": "2028-03-01"}


def test_the_newest_demo_generation_counts(settings):
    record_demo_scale(settings, 0.05, seed=1)
    record_demo_scale(settings, 0.01, seed=2)
    assert demo_scale(settings) == 0.01
    assert json.loads(dbt_vars(settings, dt.date(2027, 1, 1))[1]) == {"run_date": "2027-01-01", "demo_scale": 0.01}


@pytest.mark.parametrize("scale", [0, -0.1, 1.5])
def test_a_scale_outside_0_to_1_is_refused(settings, scale):
    with pytest.raises(ValueError, match="0 < scale ≤ 1"):
        record_demo_scale(settings, scale, seed=0)
