"""``helsedata run --demo``: the main job, end to end through the CLI, and its rerun."""

from __future__ import annotations

import duckdb
import pytest

from helsedata.cli import main
from quality.specs import all_specs

pytestmark = pytest.mark.slow

STEPS = ["demo-data", "ingest", "indicators", "build", "quality", "labels", "publish"]


def test_demo_run_loads_builds_labels_and_publishes_and_a_rerun_loads_nothing(run_cli, home):
    first = run_cli("run", "--demo", "--scale", "0.001", "--json")
    assert first.exit_code == 0, first.stderr
    summary = first.json()
    assert summary["ok"] is True
    assert list(summary["steps"]) == STEPS
    ingest = summary["steps"]["ingest"]
    assert ingest["files"] == summary["steps"]["demo-data"]["files"] == 32
    assert summary["steps"]["indicators"]["rows_loaded"] == 9  # the strategy's own figures

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        read, loaded, quarantined = con.execute(
            "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ingest.manifest").fetchone()
        labelled = con.execute("select count(distinct dataset) from quality.latest_labels").fetchone()[0]
        published = con.execute("select count(*) from public.indicator_values").fetchone()[0]
        unrated = con.execute("select count(*) from marts.mart_indicator_values "
                              "where input_quality_label = 'unrated'").fetchone()[0]
    assert (loaded, quarantined) == (ingest["rows_loaded"], ingest["rows_quarantined"])
    assert read == loaded + quarantined
    assert labelled == len(all_specs()) and published > 0  # every raw source, mart and analysis table
    # The labels step carries this run's quality labels into the marts (person-level inputs).
    assert unrated < published
    assert (home / "reports" / "indicators.html").exists() and (home / "reports" / "quality.html").exists()

    again = run_cli("run", "--demo", "--scale", "0.001")
    assert again.exit_code == 0, again.stderr
    assert "ingest" in again.stdout and "filer 0" in again.stdout  # the same extracts are not loaded twice
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select sum(rows_loaded) from ingest.manifest").fetchone()[0] == loaded
        # the reported figures file is skipped by its sha256, not refused as periods already reported
        assert con.execute("select count(*) from raw.reported_figures").fetchone()[0] == 9
        assert con.execute("select count(*) from public.indicator_values where origin = 'rapportert'").fetchone()[0] == 9


def test_run_refuses_a_scale_outside_0_to_1(run_cli):
    result = run_cli("run", "--demo", "--scale", "0")
    assert result.exit_code == 2
    assert "--scale" in result.stderr


def test_a_command_without_helsedata_home_says_where_it_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["room", "datasets", "--json"], environ={})
    assert code == 0
    assert f"HELSEDATA_HOME er ikke satt; bruker {tmp_path / 'var'}" in capsys.readouterr().err
