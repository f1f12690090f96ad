"""End to end: synthetic extracts → ingestion → ``dbt build`` → the indicator marts.

A session fixture generates demo data at a small scale (``SCALE``), ingests it with the real
ingestion, runs :func:`helsedata.build.build` (seeds, models and data tests), every dbt unit test
(:func:`helsedata.build.unit_test`, which the production build leaves out) and ``dbt docs
generate`` once. Under pytest-xdist the first worker builds and the others reuse the
warehouse (a lock file in the shared base temp folder), because a dbt build is the expensive part.

The generator is calibrated so that welfare-technology recipients at scale ``s`` are
``s ×`` the published national series; the marts must reproduce it (docs/indicators.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from kernel.codelists import read_seed
from kernel.config import Settings

pytestmark = pytest.mark.slow

SCALE = 0.003
SEED = 7
#: Published national totals the generator is calibrated to (delmål 1B).
VFT_2017, VFT_2024 = 95_718, 133_731


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_demo_warehouse(settings: Settings) -> dict:
    import ingestion
    import synthetic
    from helsedata.build import build, generate_docs, unit_test
    from kernel.sources import SOURCES

    files = synthetic.generate(settings.home / "extracts", SCALE, SEED, progress=False)
    for source in SOURCES:
        results = ingestion.ingest_files(settings, source, files[source], demo=True, progress=False)
        assert all(r.status == "loaded" for r in results), [r.error for r in results]
    result = build(settings, progress=False)
    unit_tests = unit_test(settings)  # raises BuildFailure naming a failed unit test
    docs_index = generate_docs(settings)
    return {"build": result.to_json(), "docs_index": str(docs_index),
            "build_unit_tests": sum(1 for n in result.nodes if n.resource_type == "unit_test"),
            "unit_tests": unit_tests.to_json()}


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> tuple[Settings, dict]:
    """A warehouse with demo data, built by dbt; shared by all xdist workers of the session."""
    # under xdist every worker's basetemp sits in the run's own folder; without xdist the parent
    # is pytest's folder for every run, where an earlier run's build would be reused
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    settings = Settings(home=shared / "dbt-demo-home")
    summary_file = shared / "dbt-demo-build.json"
    with _exclusive(shared / "dbt-demo-build.lock"):
        if not summary_file.exists():
            settings.ensure()
            summary_file.write_text(json.dumps(_build_demo_warehouse(settings)))
    return settings, json.loads(summary_file.read_text())


def _query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _national(settings: Settings, indicator_id: str) -> dict[str, float]:
    rows = _query(settings, f"""
        select period, value from marts.mart_indicator_values
        where indicator_id = '{indicator_id}' and geo_level = 'nasjonal'
          and period_type = 'year' and breakdown_code = 'alle'
    """)
    return {period: value for period, value in rows}


def test_dbt_build_passes_with_models_and_data_tests(demo_build):
    _, summary = demo_build
    build = summary["build"]
    assert build["ok"] and build["failed"] == []
    assert build["counts"].get("pass", 0) > 50        # data tests
    assert build["counts"].get("success", 0) >= 30    # seeds and models


def test_unit_tests_run_in_ci_not_in_the_production_build(demo_build):
    """dbt's practice: the production build excludes unit tests; the suite runs every one of them."""
    _, summary = demo_build
    assert summary["build_unit_tests"] == 0
    unit_tests = summary["unit_tests"]
    assert unit_tests["ok"] and unit_tests["failed"] == []
    assert unit_tests["nodes"] == unit_tests["counts"]["pass"] >= 13


def test_handwritten_script_builds_the_same_person_aar(demo_build, tmp_path):
    """bench/handwritten_marts.sql, the benchmark's baseline, builds the room's person_aar as dbt does."""
    import shutil

    settings, _ = demo_build
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse, warehouse)
    script = Path(__file__).resolve().parents[2] / "bench" / "handwritten_marts.sql"
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(script.read_text(encoding="utf-8"))
        dbt = "select * exclude (_dbt_invocation_id) from analysis.person_aar"
        rows = con.execute(f"select count(*) from ({dbt})").fetchone()[0]
        assert rows > 1000
        assert con.execute(f"select count(*) from ({dbt} except all select * from bench.person_aar)").fetchone() == (0,)
        assert con.execute(f"select count(*) from (select * from bench.person_aar except all {dbt})").fetchone() == (0,)
    finally:
        con.close()


def test_national_welfare_technology_series_matches_calibration(demo_build):
    settings, _ = demo_build
    series = _national(settings, "vft_mottakere")
    # within 1 % of scale x the published figure (plus one person for rounding at small scale)
    assert series["2017"] == pytest.approx(SCALE * VFT_2017, rel=0.01, abs=1)
    assert series["2024"] == pytest.approx(SCALE * VFT_2024, rel=0.01, abs=1)


def test_every_published_year_of_the_series_is_reproduced(demo_build):
    settings, _ = demo_build
    series = _national(settings, "vft_mottakere")
    published: dict[str, int] = {}
    for r in read_seed("kpr_nasjonale_tall"):  # the first report's figure where two disagree
        if r["tjenestetype"] == "Unike brukere av velferdsteknologi" and r["measure"] == "mottakere":
            published.setdefault(r["year"], int(r["value"]))
    assert {"2017", "2019", "2020", "2022"} <= set(published)
    for year, value in published.items():
        assert series[year] == pytest.approx(SCALE * value, rel=0.03, abs=2), year


def test_every_indicator_with_data_has_values_at_its_geo_levels(demo_build):
    settings, _ = demo_build
    present = set(_query(settings, "select distinct indicator_id, geo_level from marts.mart_indicator_values"))
    for definition in read_seed("indicator_definitions"):
        if definition["source"] in ("room_applications", "reported_figures"):
            continue  # the analysis room has no applications and no figures are imported in this test
        for level in definition["geo_levels"].split(";"):
            assert (definition["indicator_id"], level) in present, definition["indicator_id"]


def test_values_are_unsuppressed_and_unrated_before_the_quality_run(demo_build):
    settings, _ = demo_build
    rows = _query(settings, "select distinct suppressed, input_quality_label from marts.mart_indicator_values")
    assert rows == [(False, "unrated")]


def test_status_covers_every_indicator_and_room_indicators_wait_for_data(demo_build):
    settings, _ = demo_build
    status = dict(_query(settings, """
        select indicator_id, status from marts.mart_indicator_status where breakdown_code = 'alle'
    """))
    totals = {d["indicator_id"] for d in read_seed("indicator_definitions") if d["breakdown"] == "total"}
    assert totals <= set(status)
    assert status["datatilgang_behandlingstid_median"] == "no_data"
    assert status["datatilgang_soknader"] == "no_target"
    assert set(status.values()) <= {"green", "yellow", "red", "no_target", "no_data"}


def test_kommune_values_use_2024_codes_and_add_up_for_counts(demo_build):
    settings, _ = demo_build
    codes = {r["kommunenummer"] for r in read_seed("kommuner_2024")}
    kommuner = {code for (code,) in _query(settings, """
        select distinct geo_code from marts.mart_indicator_values where geo_level = 'kommune'
    """)}
    assert kommuner and kommuner <= codes
    # contacts are counted once each, so the kommune values add up to the national value
    (national, total), = _query(settings, """
        select
            max(case when geo_level = 'nasjonal' then numerator end),
            sum(case when geo_level = 'kommune' then numerator end)
        from marts.mart_indicator_values
        where indicator_id = 'digital_konsultasjon_andel' and period = '2024'
    """)
    unknown = _query(settings, """
        select coalesce(sum(n_kontakter), 0) from intermediate.int_kontakter_counted_by_form
        where kommunenummer_2024 = '9999' and kontakt_aar = 2024 and er_digital
    """)[0][0]
    assert national == total + unknown


def test_registry_coverage_mart_flags_and_trend(demo_build):
    settings, _ = demo_build
    (rows, flagged, with_trend), = _query(settings, """
        select count(*), sum(case when below_threshold then 1 else 0 end),
               sum(case when coverage_change_3m is not null then 1 else 0 end)
        from marts.mart_registry_reporting_coverage
    """)
    assert rows > 0 and 0 < flagged < rows and with_trend > 0


def test_dbt_docs_generate_writes_the_site(demo_build):
    _, summary = demo_build
    index = Path(summary["docs_index"])
    assert index.exists()
    catalog = json.loads((index.parent / "catalog.json").read_text())
    assert "model.helsedata.mart_indicator_values" in catalog["nodes"]


# ---------- the step function and CLI on a fresh warehouse (no demo data)


def _raw_rows(settings: Settings, table: str, rows: list[dict]) -> None:
    """Insert ``rows`` as if loaded from one file (lineage columns as ingestion writes them)."""
    from kernel.sources import SOURCES, raw_table_ddl
    from kernel.warehouse import writer

    with writer(settings) as con:
        for source in SOURCES.values():
            con.execute(raw_table_ddl(source))
        for line, fields in enumerate(rows, start=2):
            row = {"_file_sha256": "0" * 64, "_line_number": line, "_loaded_at": dt.datetime(2025, 1, 1), **fields}
            names = ", ".join(row)
            con.execute(f"insert into {table} ({names}) values ({', '.join('?' for _ in row)})", list(row.values()))


def test_build_names_the_failing_test_and_why(settings):
    from helsedata.build import BuildFailure, build

    _raw_rows(settings, "raw.registry_reporting", [dict(
        register="NPR", rapporteringsenhet="974589095", periode="2024-01", forventet=10, mottatt=5,
        mottatt_digitalt=9, mottatt_innen_frist=5)])  # more received digitally than received
    with pytest.raises(BuildFailure) as failure:
        build(settings, select=["codelist_register", "stg_registry__reporting"], progress=False)
    message = str(failure.value)
    assert message.startswith("dbt build feilet: 1 av ")
    assert "expression_is_true_stg_registry__reporting" in message
    assert "Got 1 result" in message
    assert [n.status for n in failure.value.result.failed] == ["fail"]
    # dbt released the warehouse: this process can open it again with the platform's settings
    from kernel.warehouse import writer

    with writer(settings) as con:
        assert con.execute("select count(*) from raw.registry_reporting").fetchone() == (1,)


def test_the_grain_test_fails_on_a_duplicated_or_null_key(settings):
    """unique_combination is a primary key: no two rows share it, and no part of it is null."""
    from helsedata.build import BuildFailure, build

    row = {"register": "NPR", "rapporteringsenhet": "974589095", "periode": "2024-01", "forventet": 10,
           "mottatt": 5, "mottatt_digitalt": 5, "mottatt_innen_frist": 5}
    _raw_rows(settings, "raw.registry_reporting", [{**row, "_line_number": 2}, {**row, "_line_number": 2},
                                                   {**row, "_line_number": None}])
    with pytest.raises(BuildFailure) as failure:
        build(settings, select=["codelist_register", "stg_registry__reporting"], progress=False)
    assert [n.name for n in failure.value.result.failed] == [
        "unique_combination_stg_registry__reporting__file_sha256___line_number"]
    assert "Got 2 results" in str(failure.value)  # the duplicated key and the null one


def test_cli_build_json_on_an_empty_warehouse(run_cli, home):
    """A full build before any ingestion: every table is created empty, every test passes."""
    result = run_cli("build", "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["ok"] is True and body["failed"] == []
    assert body["nodes"] > 3
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from marts.mart_indicator_values").fetchone() == (0,)
    finally:
        con.close()


def test_cli_build_failure_exits_1_with_json_error(run_cli, home):
    _raw_rows(Settings(home=home).ensure(), "raw.registry_reporting", [dict(
        register="XXX", rapporteringsenhet="0301", periode="2024-01", forventet=1, mottatt=1,
        mottatt_digitalt=1, mottatt_innen_frist=1)])  # not in codelist_register
    result = run_cli("build", "--select", "codelist_register", "-s", "stg_registry__reporting", "--json")
    assert result.exit_code == 1
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["ok"] is False and body["status"] == 1
    assert "relationships_stg_registry__reporting_register" in body["error"]


def test_seed_definitions_are_complete():
    """Every indicator has the fields docs/indicators.md describes; targets have a year."""
    path = Path(__file__).resolve().parents[2] / "dbt_project/seeds/indicators/indicator_definitions.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len({r["indicator_id"] for r in rows}) == len(rows) >= 13
    for r in rows:
        assert r["navn"] and r["name_en"] and r["strategy_goal"] and r["unit"] and r["source"]
        assert (r["target"] == "") == (r["target_year"] == ""), r["indicator_id"]


def test_cli_build_select_matching_nothing_is_an_error(run_cli):
    """dbt calls a selection that matches no node a success; the platform does not (issue 10, item 6)."""
    result = run_cli("build", "--select", "mart_that_does_not_exist", "--json")
    assert result.exit_code == 2, result.stdout
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["ok"] is False and body["status"] == 2
    assert "mart_that_does_not_exist traff ingen dbt-noder" in body["error"]
