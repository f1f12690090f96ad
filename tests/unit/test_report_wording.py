"""Everything the report pages say comes in bokmål: indicator texts, label reasons, check descriptions."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from kernel.codelists import read_seed
from quality.labels import Outcome, grade
from quality.measures import Coverage, Timeliness
from quality.report import to_bokmal
from quality.specs import CATEGORIES, all_specs
from tests.bokmal import english_words


def test_every_indicator_has_bokmal_texts():
    texts = {r["indicator_id"]: r for r in read_seed("indicator_texts_nb")}
    for definition in read_seed("indicator_definitions"):
        text = texts.get(definition["indicator_id"])
        assert text is not None and text["beskrivelse"], f"no bokmål text for {definition['indicator_id']}"
        for column in ("teller", "nevner", "beskrivelse", "maal_merknad", "kommentar"):
            assert english_words(text[column]) == [], (definition["indicator_id"], column)


@pytest.mark.parametrize("description", sorted({c.description for s in all_specs() for c in s.checks}))
def test_every_check_description_has_a_bokmal_wording(description):
    assert english_words(to_bokmal(description)) == [], description


def _outcomes(failing_critical: bool, failing_warning: bool, categories: int) -> list[Outcome]:
    kinds = CATEGORIES[:categories]
    out = [Outcome(f"c_{k}", k, "critical", not failing_critical) for k in kinds]
    return out + [Outcome("w", kinds[0], "warning", not failing_warning)] if kinds else out


TIMELINESS = (None, Timeliness("2024-12", dt.date(2025, 4, 1), -30), Timeliness("2024-12", dt.date(2025, 4, 1), 600))
COVERAGE = (None, Coverage("2024", 10, 10, ()), Coverage("2024", 10, 9, ("4601",)))


@pytest.mark.parametrize("failing_critical, failing_warning, categories, documentation, timeliness, coverage",
                         list(itertools.product((False, True), (False, True), (0, 2, 3), (None, 0.3, 0.9, 1.0),
                                                TIMELINESS, COVERAGE)))
def test_every_label_reason_has_a_bokmal_wording(failing_critical, failing_warning, categories, documentation,
                                                 timeliness, coverage):
    label = grade(_outcomes(failing_critical, failing_warning, categories), documentation, timeliness, coverage)
    for reason in label.reasons:
        assert english_words(to_bokmal(reason).replace("c_", "")) == [], reason
