"""Label rules, spec validation, suite building and lineage: no warehouse needed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from quality import catalogue
from quality.labels import GOLD_MIN_COVERAGE, GOLD_MIN_DOCUMENTATION, SILVER_MIN_DOCUMENTATION, Outcome, grade, worst
from quality.measures import Coverage, Timeliness
from quality.specs import CATEGORIES, Check, all_specs
from quality.suites import KINDS, build_suite

ALL_PASS = [Outcome("a", "conformance", "critical", True), Outcome("b", "completeness", "critical", True),
            Outcome("c", "plausibility", "warning", True)]
DUE = dt.date(2025, 4, 1)
ON_TIME, DUE_TODAY, LATE = Timeliness("2024-12", DUE, -30), Timeliness("2024-12", DUE, 0), Timeliness("2024-12", DUE, 1)
FULL = Coverage("2024", 200, 200, ())
GOLD_EDGE = Coverage("2024", 200, round(200 * GOLD_MIN_COVERAGE), ("4601",))
BELOW_GOLD = Coverage("2024", 200, round(200 * GOLD_MIN_COVERAGE) - 1, ("4601", "5001"))


@pytest.mark.parametrize(("outcomes", "documentation", "timeliness", "coverage", "expected"), [
    (ALL_PASS, 1.0, ON_TIME, FULL, "platinum"),
    (ALL_PASS, 1.0, DUE_TODAY, FULL, "platinum"),               # boundary: due today is still on time
    (ALL_PASS, 1.0, LATE, FULL, "silver"),                      # next period overdue → not gold
    (ALL_PASS, 1.0, None, FULL, "silver"),                      # timeliness unknown → not gold
    (ALL_PASS, 1.0, ON_TIME, GOLD_EDGE, "gold"),                # 95 % covered: gold, not platinum
    (ALL_PASS, 1.0, ON_TIME, BELOW_GOLD, "silver"),             # a kommune too many missing → not gold
    (ALL_PASS, 1.0, ON_TIME, None, "silver"),                   # coverage unknown → not gold
    (ALL_PASS, 0.99, ON_TIME, FULL, "gold"),                    # not fully documented → not platinum
    (ALL_PASS, GOLD_MIN_DOCUMENTATION, ON_TIME, FULL, "gold"),
    (ALL_PASS, GOLD_MIN_DOCUMENTATION - 0.01, ON_TIME, FULL, "silver"),
    (ALL_PASS, SILVER_MIN_DOCUMENTATION, ON_TIME, FULL, "silver"),
    (ALL_PASS, SILVER_MIN_DOCUMENTATION - 0.01, ON_TIME, FULL, "bronze"),
    (ALL_PASS, None, ON_TIME, FULL, "bronze"),                  # no documentation at all
    (ALL_PASS[:2], 1.0, ON_TIME, FULL, "gold"),                 # no plausibility check → not platinum
    (ALL_PASS[:2] + [Outcome("c", "plausibility", "warning", False)], 1.0, ON_TIME, FULL, "silver"),
    (ALL_PASS[1:] + [Outcome("a", "conformance", "critical", False)], 1.0, ON_TIME, FULL, "bronze"),
    ([], 1.0, ON_TIME, FULL, "bronze"),                         # nothing checked still gets bronze
])
def test_grade(outcomes, documentation, timeliness, coverage, expected):
    label = grade(outcomes, documentation, timeliness, coverage)
    assert label.label == expected, label.reasons
    assert label.reasons  # every label says why


def test_bronze_names_the_failing_critical_check():
    label = grade([Outcome("kommunenummer_valid_on_date", "conformance", "critical", False)], 1.0, ON_TIME, FULL)
    assert label.label == "bronze"
    assert "kommunenummer_valid_on_date" in " ".join(label.reasons)


def test_reasons_say_how_late_and_which_kommune_is_missing():
    reasons = " ".join(grade(ALL_PASS, 1.0, LATE, BELOW_GOLD).reasons)
    assert "01.04.2025" in reasons and "1 dager forsinket" in reasons
    assert "4601" in reasons and "94,5 %" in reasons


@pytest.mark.parametrize("documentation", [-0.1, 1.5])
def test_grade_rejects_documentation_outside_0_1(documentation):
    with pytest.raises(ValueError, match="between 0 and 1"):
        grade(ALL_PASS, documentation, ON_TIME, FULL)


def test_worst_label():
    assert worst(["platinum", "bronze", "gold"]) == "bronze"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("category", "accuracy", "category"), ("context", "audit", "context"), ("severity", "fatal", "severity"),
    ("threshold", -1.0, "threshold"), ("threshold", 101.0, "threshold"), ("asset", "elsewhere", "asset"),
])
def test_check_rejects_bad_declarations(field, value, message):
    kwargs = {"name": "x", "kind": "not_null", "category": "completeness", "context": "verification",
              field: value}
    with pytest.raises(ValueError, match=message):
        Check(**kwargs)


def test_threshold_becomes_gx_mostly():
    assert Check("x", "not_null", "completeness", "verification", threshold=5.0).mostly == 0.95


SPECS = all_specs()


@pytest.fixture(scope="module")
def gx_context():
    from quality.runner import gx_context

    return gx_context()  # GX suites need an active (in-memory) context


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_spec_builds_a_gx_suite_per_asset(spec, gx_context):
    for asset in {c.asset for c in spec.checks}:
        suite = build_suite(spec, asset)
        names = [e.meta["check"] for e in suite.expectations]
        assert names == [c.name for c in spec.checks if c.asset == asset]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_spec_covers_all_kahn_categories_and_has_a_critical_check(spec):
    assert {c.category for c in spec.checks} == set(CATEGORIES)
    assert any(c.severity == "critical" for c in spec.checks)
    assert len({c.name for c in spec.checks}) == len(spec.checks), "check names are unique per dataset"
    assert {c.kind for c in spec.checks} <= set(KINDS)


def test_raw_specs_cover_the_required_rules():
    checks = {s.name: {c.name for c in s.checks} for s in SPECS}
    vft = checks["raw.vft_mottakere"]
    assert {"columns_and_types", "tjenestetype_in_codelist", "kommunenummer_valid_on_date", "lineage_key_unique",
            "person_id_not_null", "startdato_plausible",
            "rows_per_kommunenummer_within_band_of_previous_period"} <= vft
    spec = next(s for s in SPECS if s.name == "raw.vft_mottakere")
    assert spec.check("tjenestetype_in_codelist").args["value_set"] == [6, 26, 27, 28]
    assert {"share_values_within_0_1", "numerator_not_above_denominator"} <= checks["marts.mart_indicator_values"]
    assert "coverage_consistent_with_components" in checks["marts.mart_registry_reporting_coverage"]


def test_lineage_and_documentation_from_a_dbt_manifest():
    manifest = {
        "sources": {"source.h.raw.vft_mottakere": {"resource_type": "source", "schema": "raw", "name": "vft_mottakere",
                                                   "identifier": "vft_mottakere", "description": "One row per service.",
                                                   "columns": {"person_id": {"name": "person_id", "description": "Pseudonym."}}}},
        "nodes": {
            "model.h.stg_vft__mottakere": {"resource_type": "model", "schema": "staging", "name": "stg_vft__mottakere",
                                           "alias": "stg_vft__mottakere", "description": "", "columns": {}},
            "model.h.mart_x": {"resource_type": "model", "schema": "marts", "name": "mart_x", "alias": "mart_x",
                               "description": "d", "columns": {}},
            "test.h.not_null": {"resource_type": "test", "schema": "x", "name": "t"},
        },
        "child_map": {"source.h.raw.vft_mottakere": ["model.h.stg_vft__mottakere", "test.h.not_null"],
                      "model.h.stg_vft__mottakere": ["model.h.mart_x"], "model.h.mart_x": []},
    }
    assert catalogue.downstream("raw.vft_mottakere", manifest) == ["staging.stg_vft__mottakere", "marts.mart_x"]
    docs = catalogue.documentation("raw.vft_mottakere", ["person_id", "kommunenummer", "startdato"], manifest)
    # description + person_id described; kommunenummer and startdato (in the warehouse) are not
    assert (docs.described, docs.total, docs.source) == (2, 4, "manifest")
    assert json.dumps(manifest)  # the fixture itself is plain JSON, like dbt's


def test_documentation_falls_back_to_the_dbt_yaml(tmp_path):
    models = tmp_path / "models" / "marts"
    models.mkdir(parents=True)
    (models / "mart_a.yml").write_text(
        "version: 2\nmodels:\n  - name: mart_a\n    description: One row per thing.\n"
        "    columns:\n      - name: a\n        description: The a.\n      - name: b\n")
    docs = catalogue.documentation("marts.mart_a", ["a", "b"], None, project_dir=tmp_path)
    assert (docs.described, docs.total, docs.source) == (2, 3, "yaml")
    missing = catalogue.documentation("marts.mart_missing", ["a"], None, project_dir=tmp_path)
    assert missing.completeness == 0.0
