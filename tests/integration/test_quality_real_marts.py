"""The quality run on marts built by the real dbt project from real ingested demo data.

Reuses the session-wide demo build of ``test_dbt_build.py`` (built once per session, shared by
xdist workers) and works on a *copy* of its warehouse, so quality writes never touch it.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from kernel.config import Settings
from kernel.errors import PipelineFailure
from quality import catalogue, gate, run_quality
from tests.integration.test_dbt_build import demo_build  # noqa: F401 - session fixture

pytestmark = pytest.mark.slow


@pytest.fixture
def built(demo_build, tmp_path):  # noqa: F811
    source, _ = demo_build
    settings = Settings(home=tmp_path / "home").ensure()
    shutil.copy(source.warehouse, settings.warehouse)
    shutil.copytree(source.dbt_target, settings.dbt_target)
    return settings


def test_real_marts_and_raw_tables_pass_every_critical_check(built):
    run = run_quality(built)
    assert {d.dataset for d in run.datasets if d.exists} == {d.dataset for d in run.datasets}
    assert not [(r.dataset, r.check, r.error) for r in run.results if r.error]
    assert run.ok, [(r.dataset, r.check, r.unexpected_percent, r.examples[:2]) for r in run.failed_critical]
    mart = run.dataset("marts.mart_indicator_values")
    assert mart.documentation > 0.5  # documented in dbt_project/models/marts
    assert mart.label.label in {"silver", "gold", "platinum"}


def test_gate_blocks_real_downstream_models_by_dbt_lineage(built):
    with duckdb.connect(str(built.warehouse)) as con:
        con.execute("update raw.vft_mottakere set tjenestetype = 1 where random() < 0.2")
    run_quality(built, datasets=["raw.vft_mottakere"], report=False)
    with pytest.raises(PipelineFailure, match="raw.vft_mottakere: den kritiske kontrollen 'tjenestetype_in_codelist'"):
        gate(built)
    manifest = catalogue.load_manifest(catalogue.manifest_path(built))
    assert manifest is not None, "helsedata build leaves dbt's manifest under HELSEDATA_HOME"
    downstream = catalogue.downstream("raw.vft_mottakere", manifest)
    assert "marts.mart_indicator_values" in downstream
    assert any(d.startswith("staging.") for d in downstream)


def test_lineage_before_any_build_is_dbt_parse_of_the_project(built):
    """No hand-kept copy of the DAG: without a manifest, the project is parsed for one."""
    built_manifest = catalogue.load_manifest(catalogue.manifest_path(built))
    for dataset in ("raw.vft_mottakere", "raw.registry_reporting", "staging.stg_quality__labels"):
        assert catalogue.downstream(dataset, None) == catalogue.downstream(dataset, built_manifest), dataset
    assert "marts.mart_indicator_status" in catalogue.downstream("raw.vft_mottakere", None)
def test_publish_refuses_a_quality_run_older_than_the_build_until_quality_runs_again(demo_build, settings,  # noqa: F811
                                                                                     run_cli):
    """load → build → quality → change raw → build → publish is refused; quality → publish passes."""
    source, _ = demo_build
    shutil.copy(source.warehouse, settings.warehouse)  # loaded and built by the real ingestion and dbt
    shutil.copytree(source.dbt_target, settings.dbt_target)
    assert run_cli("quality", "--json").exit_code == 0
    with duckdb.connect(str(settings.warehouse)) as con:  # valid codes, different numbers
        con.execute("update raw.vft_mottakere set tjenestetype = 26 where tjenestetype = 6")
    assert run_cli("build", "--json").exit_code == 0

    refused = run_cli("publish", "--json")
    assert refused.exit_code == 1, refused.stdout
    assert "martene er bygget på nytt" in refused.json()["error"]
    assert "Kjør 'helsedata quality'" in refused.json()["error"]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert not con.execute("select count(*) from information_schema.tables where table_schema = 'public' "
                               "and table_name = 'indicator_values'").fetchone()[0], "nothing published"

    assert run_cli("quality", "--json").exit_code == 0
    published = run_cli("publish", "--json")
    assert published.exit_code == 0, published.stdout + published.stderr
    assert published.json()["gate"] == "passed"
