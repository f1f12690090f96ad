"""helsedata.build without running dbt: arguments, results, failure messages, environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from helsedata import build as build_module
from helsedata.build import BuildFailure, BuildResult, NodeOutcome, _environment, _failure_message, dbt_args
from kernel.config import DBT_PROJECT_DIR, Settings
from kernel.errors import PipelineFailure


def node(name: str, status: str, message: str | None = None, resource_type: str = "test") -> NodeOutcome:
    return NodeOutcome(unique_id=f"{resource_type}.helsedata.{name}", name=name,
                       resource_type=resource_type, status=status, message=message, seconds=0.1)


def test_dbt_args_point_dbt_at_the_project_and_keep_its_files_under_home():
    settings = Settings(home=Path("/srv/helsedata"))
    args = dbt_args(settings, ["build"], select=["marts", "+mart_indicator_status"])
    assert args[0] == "build"
    assert args[args.index("--project-dir") + 1] == str(DBT_PROJECT_DIR)
    assert args[args.index("--profiles-dir") + 1] == str(DBT_PROJECT_DIR)
    assert args[args.index("--target-path") + 1] == "/srv/helsedata/dbt/target"
    assert args[args.index("--log-path") + 1] == "/srv/helsedata/dbt/logs"
    assert args[-3:] == ["--select", "marts", "+mart_indicator_status"]
    assert "--select" not in dbt_args(settings, ["build"])


def test_result_counts_failures_and_json():
    result = BuildResult(ok=False, seconds=1.234, target_path=Path("/t"), nodes=(
        node("stg_a", "success", resource_type="model"),
        node("not_null_a", "pass"),
        node("expr_b", "fail", "Got 3 results, configured to fail if != 0"),
        node("mart_c", "error", "Runtime Error\n  Binder Error", resource_type="model"),
        node("test_after_c", "skipped"),
    ))
    assert result.counts == {"error": 1, "fail": 1, "pass": 1, "skipped": 1, "success": 1}
    assert [n.name for n in result.failed] == ["expr_b", "mart_c"]
    body = result.to_json()
    assert body["ok"] is False and body["seconds"] == 1.23 and body["nodes"] == 5
    assert [f["name"] for f in body["failed"]] == ["expr_b", "mart_c"]


def test_failure_message_names_each_failed_node_and_why_on_one_line():
    failed = (node("expr_b", "fail", "Got 3 results"), node("mart_c", "error", "Runtime Error\nBinder Error", "model"))
    message = _failure_message("dbt build", failed, total=40)
    assert message.splitlines() == [
        "dbt build feilet: 2 av 40 noder feilet",
        "  - test expr_b: Got 3 results",
        "  - model mart_c: Runtime Error Binder Error",
    ]


def test_build_failure_is_a_pipeline_failure_exiting_1():
    error = BuildFailure("dbt build failed", None)
    assert isinstance(error, PipelineFailure) and error.exit_code == 1 and error.result is None


def test_environment_sets_home_for_profiles_and_restores_it(monkeypatch):
    monkeypatch.setenv("HELSEDATA_HOME", "/elsewhere")
    with _environment(Settings(home=Path("/srv/h"))):
        assert os.environ["HELSEDATA_HOME"] == "/srv/h"
        assert os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "false"
    assert os.environ["HELSEDATA_HOME"] == "/elsewhere"


def test_a_missing_room_export_stops_the_build_before_dbt_runs(settings, monkeypatch):
    """The room's export is a step of the build: when its module vanishes, the build fails."""
    monkeypatch.setitem(sys.modules, "privacy.room", None)  # as if privacy/room.py were deleted
    with pytest.raises(ImportError, match="privacy.room"):
        build_module.prepare_warehouse(settings)


def test_prepare_warehouse_exports_the_room_applications(settings):
    build_module.prepare_warehouse(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.room_applications").fetchone() == (0,)


def test_profiles_default_to_the_warehouse_under_helsedata_home_and_document_other_engines():
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["helsedata"]
    assert "'duckdb'" in profiles["target"]
    assert profiles["outputs"]["duckdb"]["path"] == "{{ env_var('HELSEDATA_HOME', 'var') }}/warehouse.duckdb"
    assert profiles["outputs"]["trino"]["type"] == "trino"
    assert profiles["outputs"]["spark"]["type"] == "spark"


@pytest.mark.parametrize("layer, materialized", [("staging", "view"), ("intermediate", "table"), ("marts", "table"),
                                                  ("analysis", "table")])
def test_materialisation_and_schema_are_set_per_folder(layer, materialized):
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    config = project["models"]["helsedata"][layer]
    assert config["+materialized"] == materialized and config["+schema"] == layer


def test_every_model_has_a_yaml_file_next_to_it_stating_its_grain():
    for sql in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        properties = sql.with_suffix(".yml")
        assert properties.exists(), f"{sql.name} has no {properties.name}"
        model = next(m for m in yaml.safe_load(properties.read_text())["models"] if m["name"] == sql.stem)
        assert "one row per" in " ".join(model["description"].split()).lower(), sql.stem


def test_every_indicator_formula_has_a_unit_test():
    """Each indicator model (int_indicators__*) and the marts carry dbt unit tests."""
    models_dir = DBT_PROJECT_DIR / "models"
    tested = set()
    for properties in models_dir.rglob("*.yml"):
        for unit_test in (yaml.safe_load(properties.read_text()) or {}).get("unit_tests", []):
            tested.add(unit_test["model"])
    indicator_models = {p.stem for p in models_dir.rglob("int_indicators__*.sql")}
    assert indicator_models and indicator_models <= tested
    assert {"mart_indicator_values", "mart_indicator_status", "mart_registry_reporting_coverage"} <= tested


def test_progress_bar_follows_dbt_node_events():
    from types import SimpleNamespace as NS

    from helsedata.build import _Progress

    def event(name, **data):
        return NS(info=NS(name=name), data=NS(**data))

    info = NS(node_name="stg_kpr__kontakter")
    with _Progress(enabled=True) as bar:
        bar(event("LogStartLine", total=3, index=1, description="x", node_info=info))
        bar(event("NodeStart", node_info=info))
        bar(event("NodeFinished", node_info=info))
        bar(event("MainReportStats"))
        task = bar.bar.tasks[0]
        assert (task.total, task.completed) == (3, 1)
    with _Progress(enabled=False) as quiet:
        quiet(event("NodeFinished", node_info=info))  # no bar, no error
