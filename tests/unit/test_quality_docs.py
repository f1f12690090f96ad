"""docs/quality.md stays in step with the specs and the label rules."""

from quality import docgen
from quality.labels import GOLD_MIN_COVERAGE, LABELS, format_share
from quality.measures import DELIVERIES


def test_check_catalogue_in_docs_is_generated_from_the_specs():
    text = docgen.DOC.read_text(encoding="utf-8")
    assert docgen.render(text) == text, "run: python -m quality.docgen"


def test_docs_state_every_label_and_each_sources_lag_and_the_coverage_limit():
    text = docgen.DOC.read_text(encoding="utf-8")
    for label in LABELS:
        assert f"| {label} |" in text
    for dataset, delivery in DELIVERIES.items():
        assert f"| `{dataset}` |" in text and f"| {delivery.lag_days} days | {delivery.coverage_period} |" in text
    assert f"coverage ≥ {format_share(GOLD_MIN_COVERAGE)}" in text
