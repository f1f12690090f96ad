"""docs/quality.md stays in step with the specs and the label rules."""

from quality import docgen
from quality.labels import GOLD_MAX_AGE_DAYS, LABELS


def test_check_catalogue_in_docs_is_generated_from_the_specs():
    text = docgen.DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, "run: python -m quality.docgen"


def test_docs_state_every_label_and_the_timeliness_limit():
    text = docgen.DOC.read_text(encoding="utf-8")
    for label in LABELS:
        assert f"| {label} |" in text
    assert f"≤ {GOLD_MAX_AGE_DAYS:.0f} days" in text
