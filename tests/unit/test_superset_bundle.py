"""The declarations under dashboards/superset_bundle/ render into a valid Superset import bundle."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
import yaml

from dashboards.bundle import (
    DECLARATIONS,
    STATUS_COLOURS,
    STATUS_TEXTS,
    PublishedStatus,
    build_bundle,
    build_query_context,
    object_uuid,
)
from tests.wcag import contrast_ratio

URI = "duckdb:////srv/helsedata/warehouse.duckdb?access_mode=read_only"


@pytest.fixture(scope="module")
def bundle():
    return build_bundle(URI)


def test_every_declaration_is_in_the_bundle(bundle):
    for kind in ("databases", "datasets", "charts", "dashboards"):
        declared = {p.stem for p in (DECLARATIONS / kind).glob("*.yaml")}
        assert declared and {n.split("/")[1][:-5] for n in bundle.of_kind(kind)} == declared


def test_database_is_the_warehouse_read_only_without_sql_lab(bundle):
    (database,) = bundle.of_kind("databases").values()
    assert database["sqlalchemy_uri"] == URI
    assert database["allow_dml"] is False and database["expose_in_sqllab"] is False


def test_datasets_are_physical_public_tables(bundle):
    for dataset in bundle.of_kind("datasets").values():
        assert dataset["schema"] == "public" and not dataset.get("sql")


def test_every_chart_has_a_query_context_on_its_dataset_columns_and_metrics(bundle):
    datasets = {d["uuid"]: d for d in bundle.of_kind("datasets").values()}
    for name, chart in bundle.of_kind("charts").items():
        dataset = datasets[chart["dataset_uuid"]]
        columns = {c["column_name"] for c in dataset["columns"]}
        metrics = {m["metric_name"] for m in dataset["metrics"]}
        (query,) = json.loads(chart["query_context"])["queries"]
        for column in query["columns"]:
            assert (column if isinstance(column, str) else column["sqlExpression"]) in columns, name
        for metric in query["metrics"]:
            assert isinstance(metric, dict) or metric in metrics, name
        for flt in query["filters"]:
            assert flt["col"] in columns, name


def test_every_chart_is_on_exactly_one_dashboard(bundle):
    placed = []
    for dashboard in bundle.of_kind("dashboards").values():
        placed += [i["meta"]["uuid"] for i in dashboard["position"].values()
                   if isinstance(i, dict) and i.get("type") == "CHART"]
    assert sorted(placed) == sorted(c["uuid"] for c in bundle.of_kind("charts").values())


def test_filters_leave_out_charts_whose_dataset_lacks_the_column(bundle):
    dashboard = bundle.files["dashboards/strategistatus.yaml"]
    ids = {i["meta"]["uuid"]: i["meta"]["chartId"] for i in dashboard["position"].values()
           if isinstance(i, dict) and i.get("type") == "CHART"}
    year = next(f for f in dashboard["metadata"]["native_filter_configuration"] if f["name"] == "År")
    on_status = {c["uuid"] for c in bundle.of_kind("charts").values()
                 if c["dataset_uuid"] == object_uuid("dataset", "indicator_status")}
    assert set(year["scope"]["excluded"]) == {ids[u] for u in on_status if u in ids} != set()


def test_rebuilding_gives_the_same_bundle(bundle):
    again = build_bundle(URI)
    assert again.files == bundle.files
    with zipfile.ZipFile(io.BytesIO(again.to_zip())) as archive:
        names = archive.namelist()
        assert "helsedata/metadata.yaml" in names
        assert yaml.safe_load(archive.read("helsedata/charts/vft_kommuner.yaml"))["slice_name"]


@pytest.mark.parametrize("declaration, old, new, message", [
    ("datasets/indicator_values.yaml", "schema: public", "schema: marts", "only physical datasets on public"),
    ("datasets/indicator_values.yaml", "database: helsedata", "database: other", "unknown database 'other'"),
    ("dashboards/velferdsteknologi.yaml", "column: fylke,", "column: fylkesnavn,", "no column 'fylkesnavn'"),
    ("dashboards/innrapportering.yaml", "chart: reg_dekning,", "chart: reg_x,", "unknown chart 'reg_x'"),
])
def test_a_bad_declaration_is_refused_naming_it(tmp_path, declaration, old, new, message):
    root = tmp_path / "decl"
    shutil.copytree(DECLARATIONS, root)
    path = root / declaration
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(ValueError, match=message) as refused:
        build_bundle(URI, root=root)
    assert path.name in str(refused.value)


@pytest.mark.parametrize("viz_type", ["pie", "deck_scatter"])
def test_a_chart_type_without_a_query_builder_is_refused(viz_type):
    with pytest.raises(ValueError, match="no query context"):
        build_query_context(viz_type, {"metrics": ["verdi"]})


def test_timeseries_query_context_pivots_by_the_x_axis():
    qc = build_query_context("echarts_timeseries_line", {
        "x_axis": "period_start", "time_grain_sqla": "P1Y", "metrics": ["verdi"], "groupby": ["breakdown_name"]})
    (query,) = qc["queries"]
    assert query["columns"][0] == {"columnType": "BASE_AXIS", "sqlExpression": "period_start",
                                   "label": "period_start", "expressionType": "SQL", "timeGrain": "P1Y"}
    assert query["post_processing"][0]["options"]["index"] == ["period_start"]


@pytest.mark.parametrize("slug, title, filters", [
    ("strategistatus", "Strategistatus", ["Indikator", "År"]),
    ("velferdsteknologi", "Velferdsteknologi", ["År", "Fylke", "Kommune"]),
    ("innrapportering", "Innrapportering til helseregistre", ["Register", "År", "Måned"]),
])
def test_the_three_dashboards_and_their_filters(bundle, slug, title, filters):
    dashboard = bundle.files[f"dashboards/{slug}.yaml"]
    assert (dashboard["slug"], dashboard["dashboard_title"]) == (slug, title)
    assert [f["name"] for f in dashboard["metadata"]["native_filter_configuration"]] == filters


STATUSES = {
    "vft_mottakere": PublishedStatus("red", False, 1500.0, 2025, True),
    "vkp_kommuner": PublishedStatus("yellow", False, 150.0, 2025, True),
    "digital_konsultasjon_andel": PublishedStatus("green", False, 0.25, 2025, False),
    "register_digital_95": PublishedStatus(None, True, 10.0, 2025, True),
}


def big_numbers(bundle):
    return {name.split("/")[1][len("status_"):-len(".yaml")]: chart["params"]
            for name, chart in bundle.of_kind("charts").items() if chart["viz_type"] == "big_number_total"}


def test_each_big_number_is_coloured_by_its_published_status_with_status_and_target_under_it():
    params = big_numbers(build_bundle(URI, statuses=STATUSES))
    assert set(params) == set(STATUSES)
    for indicator_id, colour in [("vft_mottakere", "#c62828"), ("vkp_kommuner", "#8a6100"),
                                 ("digital_konsultasjon_andel", "#2e7d32")]:
        assert params[indicator_id]["conditional_formatting"] == [
            {"column": "siste_verdi", "operator": "None", "colorScheme": colour}]
        assert params[indicator_id]["subtitle"].startswith(STATUSES[indicator_id].label + " · Mål: ")
    # the published (demo-scaled) target, not the seed's national 150 000
    assert params["vft_mottakere"]["subtitle"] == "Rød · Mål: 1\u00a0500 innen 2025 (illustrativt)"
    assert params["digital_konsultasjon_andel"]["subtitle"].endswith("Mål: 25\u00a0% innen 2025")
    # a withheld status has no colour: the number is drawn like any text
    assert params["register_digital_95"]["conditional_formatting"] == []
    assert params["register_digital_95"]["subtitle"].startswith("Skjult (:) · ")


def test_without_a_published_status_a_big_number_has_no_colour(bundle):
    for indicator_id, params in big_numbers(bundle).items():
        assert params["conditional_formatting"] == [], indicator_id
        assert params["subtitle"].startswith("Ikke publisert · "), indicator_id


def test_the_trend_line_marks_the_published_target():
    chart = build_bundle(URI, statuses=STATUSES).files["charts/trend_vft_mottakere.yaml"]
    (target,) = chart["params"]["annotation_layers"]
    assert (float(target["value"]), target["name"]) == (1500.0, "Mål: 1\u00a0500 innen 2025 (illustrativt)")


def test_status_colours_keep_aa_contrast_as_text_on_white_and_as_background_of_white_text():
    for status, colour in STATUS_COLOURS.items():
        assert contrast_ratio(colour, "#ffffff") >= 4.5, status


def test_the_status_table_and_the_big_numbers_use_the_same_colours_and_words(bundle):
    table = bundle.files["charts/status_tabell.yaml"]["params"]["conditional_formatting"]
    assert {(r["targetValue"], r["colorScheme"]) for r in table} == {
        (STATUS_TEXTS[s], c) for s, c in STATUS_COLOURS.items()}
    (column,) = [c for c in bundle.files["datasets/indicator_status.yaml"]["columns"]
                 if c["column_name"] == "status_tekst"]
    assert all(f"'{text}'" in column["expression"] for text in STATUS_TEXTS.values())


def test_status_of_on_a_chart_that_is_not_a_big_number_is_refused(tmp_path):
    root = tmp_path / "decl"
    shutil.copytree(DECLARATIONS, root)
    path = root / "charts" / "status_tabell.yaml"
    path.write_text(path.read_text().replace("dataset: indicator_status\n", "dataset: indicator_status\nstatus_of: vft_mottakere\n"))
    with pytest.raises(ValueError, match="status_of needs a big_number_total") as refused:
        build_bundle(URI, root=root)
    assert "status_tabell.yaml" in str(refused.value)
