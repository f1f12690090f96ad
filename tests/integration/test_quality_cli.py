"""`helsedata quality` end to end: exit codes, JSON, and the HTML report as a browser renders it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import duckdb
import pytest

from quality.testing import DEFECTS, build_warehouse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def broken_warehouse(settings):
    build_warehouse(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(DEFECTS["conformance/codelist"][1])
    return settings


def test_quality_exits_0_when_critical_checks_pass(settings, run_cli):
    build_warehouse(settings)
    result = run_cli("quality", "--json", "--dataset", "raw.registry_reporting")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["ok"] is True
    assert [d["dataset"] for d in body["datasets"]] == ["raw.registry_reporting"]
    assert body["datasets"][0]["label"] in {"bronze", "silver", "gold", "platinum"}
    assert (settings.reports / "quality.html").exists()


def test_quality_exits_1_and_names_the_failing_critical_check(broken_warehouse, run_cli):
    result = run_cli("quality", "--dataset", "raw.kpr_kontakter")
    assert result.exit_code == 1
    assert "raw.kpr_kontakter" in result.stdout and "kontaktform_in_codelist" in result.stdout
    assert "bronse" in result.stdout and "10\u202f%" in result.stdout  # bokmål label, Norwegian per cent
    assert "1 kritisk kontroll feilet" in result.stdout

    as_json = run_cli("quality", "--json", "--dataset", "raw.kpr_kontakter")
    assert as_json.exit_code == 1
    body = as_json.json()
    assert (body["ok"], body["status"]) == (False, 1)
    assert body["errors"] == ["raw.kpr_kontakter: kontaktform_in_codelist"]
    failed = body["datasets"][0]["failed"]
    assert failed[0]["check"] == "kontaktform_in_codelist" and failed[0]["unexpected_percent"] == 10.0


@pytest.mark.parametrize("args", [("--dataset", "raw.nope"), ("--no-such-option",)])
def test_quality_exits_2_on_bad_input(settings, run_cli, args):
    build_warehouse(settings)
    result = run_cli("quality", "--json", *args)
    assert result.exit_code == 2
    assert result.json()["ok"] is False


def test_quality_without_a_warehouse_is_a_configuration_error(settings, run_cli):
    result = run_cli("quality", "--json")
    assert result.exit_code == 2
    assert "fant ikke noe varehus" in result.json()["error"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install -y chromium)")
def test_html_report_shows_labels_and_failed_checks_in_a_browser(broken_warehouse, run_cli):
    assert run_cli("quality", "--dataset", "raw.kpr_kontakter", "--dataset", "raw.vft_mottakere").exit_code == 1
    report = broken_warehouse.reports / "quality.html"
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
             "--dump-dom", report.as_uri()],
            capture_output=True, text=True, timeout=120, check=True).stdout
    assert '<tr data-dataset="raw.kpr_kontakter">' in dom
    assert 'class="label bronze">bronse</span>' in dom          # the failing dataset's label, in bokmål
    assert 'data-dataset="raw.vft_mottakere"' in dom
    assert 'data-check="kontaktform_in_codelist"' in dom         # the failed check, with its examples
    assert "brevdue" in dom                                       # a failing row's offending value
    assert "_line_number" in dom                                  # rows are identified by lineage only
