"""What the report pages show, from small hand-made public rows (charts drawn for real)."""

from __future__ import annotations

import pytest

from dashboards.indicators import STATUSES, build_goals, build_indicators
from dashboards.registries import registry_names, worklist

DEFINITION = {"navn": "Andel rettidig innrapportering per register", "unit": "andel", "target": "0.9",
              "target_year": "2025", "target_is_illustrative": "true",
              "strategy_goal": "Mål 3: Helsedata til fornying og forbedring"}


def value(code: str, year: int, v: float) -> dict:
    return {"indicator_id": "register_rettidighet", "period": str(year), "period_type": "year",
            "geo_level": "nasjonal", "geo_code": "NO", "geo_name": "Norge", "breakdown": "register",
            "breakdown_code": code, "breakdown_name": None, "numerator": None, "denominator": None,
            "value": v, "unit": "andel", "input_quality_label": "gold", "suppressed": False}


def status(code: str, light: str) -> dict:
    return {"indicator_id": "register_rettidighet", "breakdown_code": code, "status": light, "target": 0.9,
            "suppressed": False}


@pytest.mark.parametrize("lights, word, worst", [
    ({"NPR": "green", "KRG": "yellow", "DAR": "red"}, "Rød", "Svakest av 3: Dødsårsaksregisteret"),
    ({"NPR": "green", "KRG": "yellow", "DAR": "yellow"}, "Gul", "Svakest av 3: Dødsårsaksregisteret, Kreftregisteret"),
    ({"NPR": "green", "KRG": "green"}, "Grønn", "Alle 2 er grønne"),
])
def test_a_per_registry_indicator_shows_the_worst_registry_and_names_it(lights, word, worst):
    values = [value(code, year, 0.8 + 0.05 * i) for i, code in enumerate(lights) for year in (2023, 2024)]
    [indicator] = build_indicators(values, [status(c, s) for c, s in lights.items()],
                                   {"register_rettidighet": DEFINITION}, {}, registry_names(), scale=None)
    assert indicator.light.status.word == word
    assert indicator.light.worst_text == worst
    assert [g[1].word for g in indicator.group_lights] == sorted(
        (STATUSES[s].word for s in lights.values()), key=lambda w: {"Rød": 0, "Gul": 1, "Grønn": 2}[w])
    [goal] = [g for g in build_goals([indicator]) if g.indicators]
    assert goal.code == "Mål 3" and goal.light.word == word


def test_the_worklist_puts_most_missing_deliveries_first_and_names_units():
    rows = [{"rapporteringsenhet": unit, "periode": "2024-12", "forventet": 10, "mottatt": got, "coverage": got / 10,
             "digital_share": 1.0, "on_time_share": 1.0, "below_threshold": got < 10,
             "below_coverage_threshold": got < 10} for unit, got in (("0301", 9), ("3911", 2), ("4601", 10))]
    items = worklist(rows, "2024-12")
    assert [(i.name, i.missing, i.below) for i in items] == [("Færder", 8, "dekningsgrad"),
                                                            ("Oslo", 1, "dekningsgrad")]
