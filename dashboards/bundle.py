"""Superset's import bundle, built from the declarations in ``dashboards/superset_bundle/``.

Every database, dataset, chart and dashboard Superset shows is declared in a YAML file there, in
the format of Superset's own export (``superset export-dashboards``), so a declaration reads like
what Superset writes and is reviewed like code. The files are Jinja templates: the warehouse
path, indicator names and targets and the fylker come from the settings and the dbt seeds, so
they are written once. This module renders them and adds what Superset needs but nobody should
write by hand:

* stable UUIDs, derived from the kind and file name (import matches objects by UUID, so a
  second import updates the same objects instead of adding new ones);
* each chart's ``query_context``, the query the frontend would save with the chart, so the chart
  data API (``/api/v1/chart/<id>/data/``), reports and thumbnails run the same query the
  dashboard shows (an imported chart without one answers "Chart has no query context saved");
* each dashboard's ``position`` (from ``rows``) and native filters (from ``filters``), with
  every chart whose dataset lacks the filter's column kept out of the filter's scope;
* for a big number declared with ``status_of: <indicator_id>``, the colour of that indicator's
  traffic light and a subtitle with its status and target, taken from ``public.indicator_status``
  as this publication wrote it (:class:`PublishedStatus`), so the number, the status table and
  the trend's target line all say the same.

Only physical datasets on ``public.*`` tables are accepted: Superset never sees raw, staging or
mart tables, nor SQL of its own.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DECLARATIONS = Path(__file__).with_name("superset_bundle")
#: Namespace of the UUIDs derived from declaration names; never change it (ids would change).
UUID_NAMESPACE = uuid.UUID("6f1c2a8e-3d4b-5e6f-8a9b-0c1d2e3f4a5b")
VERSION = "1.0.0"
PUBLIC_SCHEMA = "public"
#: Chart types this builder can write a query context for.
TIMESERIES = ("echarts_timeseries_line", "echarts_timeseries_bar")
#: Traffic-light colours, dark enough for text on white (WCAG AA, at least 4.5:1: green 5.1,
#: yellow – a dark amber – 5.5, red 5.6). A big number is drawn in its colour; the status table
#: uses them as cell backgrounds, on which Superset picks the more readable of black and white
#: (white here, the same contrast).
STATUS_COLOURS = {"green": "#2e7d32", "yellow": "#8a6100", "red": "#c62828"}
#: How a status reads, in the status table (``status_tekst``) and under a big number.
STATUS_TEXTS = {"green": "Grønn – nådd eller i rute", "yellow": "Gul – innenfor 10 % av målet",
                "red": "Rød – bak mål og trend", "no_data": "Ingen verdi ennå"}
SUPPRESSED_STATUS_TEXT = "Skjult (:)"
NO_TARGET_TEXT = "Uten mål"


def object_uuid(kind: str, name: str) -> str:
    """The UUID of a declared object: the same name always gives the same UUID.

    >>> object_uuid("chart", "x") == object_uuid("chart", "x") != object_uuid("dataset", "x")
    True
    """
    return str(uuid.uuid5(UUID_NAMESPACE, f"{kind}:{name}"))


@dataclass
class Bundle:
    """Rendered bundle: file name in the zip → its content (Superset's export format)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: config for name, config in self.files.items() if name.startswith(f"{kind}/")}

    def to_zip(self) -> bytes:
        """The zip Superset's ``/api/v1/<kind>/import/`` endpoints take (one folder inside)."""
        import yaml

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("helsedata/metadata.yaml", yaml.safe_dump(
                {"version": VERSION, "timestamp": "2026-01-01T00:00:00+00:00"}))
            for name, config in sorted(self.files.items()):
                archive.writestr(f"helsedata/{name}", yaml.safe_dump(config, allow_unicode=True, sort_keys=True))
        return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# template context: what the declarations may use


def sql_case(column: str, mapping: Mapping[str, str], default: str | None = None) -> str:
    """A SQL ``CASE`` mapping codes to labels (quotes escaped).

    >>> sql_case("geo_code", {"03": "Oslo", "46": "Vestland"})
    "CASE geo_code WHEN '03' THEN 'Oslo' WHEN '46' THEN 'Vestland' END"
    >>> sql_case("x", {"a": "it's"}, default="x")
    "CASE x WHEN 'a' THEN 'it''s' ELSE x END"
    """
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    whens = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in mapping.items())
    return f"CASE {column} {whens}" + (f" ELSE {default}" if default else "") + " END"


def norwegian_number(value: float, unit: str = "") -> str:
    """A target as a reader sees it: ``150 000``, ``25 %`` (unit ``andel``), ``12,5``.

    >>> norwegian_number(150000.0), norwegian_number(0.25, "andel"), norwegian_number(12.5)
    ('150\\xa0000', '25\\xa0%', '12,5')
    """
    if unit == "andel":
        return norwegian_number(round(value * 100, 1)) + "\u00a0%"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return text.replace(",", "\u00a0").replace(".", ",")


@dataclass(frozen=True)
class PublishedStatus:
    """One indicator's row of ``public.indicator_status`` (breakdown ``alle``) as published.

    The target is the published one: in a demo warehouse the status mart scales count targets
    by the demo scale (:mod:`kernel.demo`), so the seed's national target would not match.
    """

    status: str | None
    suppressed: bool
    target: float | None
    target_year: int | None
    target_is_illustrative: bool

    @property
    def text(self) -> str:
        """The status in words, as the status table says it (``status_tekst``)."""
        if self.suppressed:
            return SUPPRESSED_STATUS_TEXT
        return STATUS_TEXTS.get(self.status or "", NO_TARGET_TEXT)

    @property
    def label(self) -> str:
        """The status in one or two words (``Rød``, ``Skjult (:)``), for the line under a big
        number: Superset shrinks that line to fit the chart's width, so it is kept short."""
        return self.text.split(" – ")[0]

    @property
    def colour(self) -> str | None:
        """The traffic-light colour; None for a status without one (no target, no value, hidden)."""
        return None if self.suppressed else STATUS_COLOURS.get(self.status or "")


def target_text(target: float | None, unit: str, year: Any, illustrative: bool) -> str:
    """``Mål: 1 500 innen 2025 (illustrativt)``, or ``Ingen mål satt``.

    >>> target_text(0.25, "andel", 2025, False), target_text(None, "personer", None, False)
    ('Mål: 25\xa0% innen 2025', 'Ingen mål satt')
    """
    if target is None:
        return "Ingen mål satt"
    return (f"Mål: {norwegian_number(float(target), unit)} innen {year}"
            + (" (illustrativt)" if illustrative else ""))


def template_context(warehouse_uri: str, statuses: Mapping[str, PublishedStatus] | None = None) -> dict[str, Any]:
    """What the declaration templates can use, from the dbt seeds (written once, there) and,
    for targets, the published status (``statuses``; the seed's target where none is given)."""
    from kernel.codelists import read_seed

    statuses = statuses or {}
    indicators = {row["indicator_id"]: dict(row) for row in read_seed("indicator_definitions")}
    for indicator_id, row in indicators.items():
        published = statuses.get(indicator_id)
        if published is not None:
            row.update(target=published.target, target_year=published.target_year,
                       target_is_illustrative=published.target_is_illustrative)
        else:
            row.update(target=float(row["target"]) if row["target"] else None,
                       target_is_illustrative=row["target_is_illustrative"] == "true")
        row["target_text"] = target_text(row["target"], row["unit"], row["target_year"],
                                         row["target_is_illustrative"])
    status_text_sql = (f"CASE WHEN suppressed THEN '{SUPPRESSED_STATUS_TEXT}' ELSE "
                       + sql_case("status", STATUS_TEXTS, default=f"'{NO_TARGET_TEXT}'") + " END")
    fylker = {row["fylkesnummer"]: row["fylkesnavn"] for row in read_seed("fylker_2024")}
    return {
        "warehouse_uri": warehouse_uri,
        "indicators": indicators,
        "indicator_name_sql": sql_case("indicator_id", {k: v["navn"] for k, v in indicators.items()},
                                       default="indicator_id"),
        "strategy_goal_sql": sql_case("indicator_id", {k: v["strategy_goal"] for k, v in indicators.items()}),
        "unit_sql": sql_case("indicator_id", {k: v["unit"] for k, v in indicators.items()}),
        "fylke_sql": sql_case("substr(geo_code, 1, 2)", fylker),
        "status_text_sql": status_text_sql,
        "status_texts": STATUS_TEXTS,
        "status_colours": STATUS_COLOURS,
    }


# ---------------------------------------------------------------------------------------------
# building


def build_bundle(warehouse_uri: str, root: Path = DECLARATIONS,
                 statuses: Mapping[str, PublishedStatus] | None = None) -> Bundle:
    """Render every declaration under ``root`` into one import bundle.

    ``statuses``: indicator_id → its published status (:func:`dashboards.superset.published_statuses`);
    without one, a big number has no status colour and shows the seed's target.
    """
    statuses = statuses or {}
    context = template_context(warehouse_uri, statuses)
    bundle = Bundle()
    database_uuids = {}
    for path, config in _declarations(root / "databases", context):
        config.update(uuid=object_uuid("database", path.stem), version=VERSION)
        database_uuids[path.stem] = config["uuid"]
        bundle.files[f"databases/{path.stem}.yaml"] = config
    datasets: dict[str, dict[str, Any]] = {}
    for path, config in _declarations(root / "datasets", context):
        datasets[path.stem] = _dataset(path, config, database_uuids)
        bundle.files[f"datasets/{path.stem}.yaml"] = datasets[path.stem]
    charts: dict[str, dict[str, Any]] = {}
    for path, config in _declarations(root / "charts", context):
        charts[path.stem] = _chart(path, config, datasets, context["indicators"], statuses)
        bundle.files[f"charts/{path.stem}.yaml"] = charts[path.stem]
    for path, config in _declarations(root / "dashboards", context):
        bundle.files[f"dashboards/{path.stem}.yaml"] = _dashboard(path, config, charts, datasets)
    return bundle


def _declarations(folder: Path, context: Mapping[str, Any]):
    import jinja2
    import yaml

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    for path in sorted(folder.glob("*.yaml")):
        try:
            yield path, yaml.safe_load(environment.from_string(path.read_text("utf-8")).render(context))
        except (jinja2.TemplateError, yaml.YAMLError) as e:
            raise ValueError(f"{path}: {e}") from e


def _dataset(path: Path, config: dict[str, Any], database_uuids: Mapping[str, str]) -> dict[str, Any]:
    if config.get("schema") != PUBLIC_SCHEMA or config.get("sql"):
        raise ValueError(f"{path}: only physical datasets on public.* tables are exposed in Superset")
    database = config.pop("database")
    if database not in database_uuids:
        raise ValueError(f"{path}: unknown database {database!r}")
    config.update(uuid=object_uuid("dataset", path.stem), database_uuid=database_uuids[database],
                  version=VERSION)
    return config


def _chart(path: Path, config: dict[str, Any], datasets: Mapping[str, dict[str, Any]],
           indicators: Mapping[str, Mapping[str, Any]], statuses: Mapping[str, PublishedStatus]) -> dict[str, Any]:
    dataset = config.pop("dataset")
    if dataset not in datasets:
        raise ValueError(f"{path}: unknown dataset {dataset!r}")
    params = config.setdefault("params", {})
    if "status_of" in config:
        _colour_by_status(path, config, indicators, statuses)
    params["adhoc_filters"] = [*_where_filters(config.pop("where", {})), *params.get("adhoc_filters", [])]
    params.update(viz_type=config["viz_type"], datasource="0__table", extra_form_data={})
    try:
        query_context = build_query_context(config["viz_type"], params)
    except (KeyError, ValueError) as e:
        raise ValueError(f"{path}: {e!r}") from e
    config.update(uuid=object_uuid("chart", path.stem), dataset_uuid=datasets[dataset]["uuid"],
                  query_context=json.dumps(query_context), version=VERSION)
    return config


def _colour_by_status(path: Path, config: dict[str, Any], indicators: Mapping[str, Mapping[str, Any]],
                      statuses: Mapping[str, PublishedStatus]) -> None:
    """A big number in its indicator's traffic-light colour, with status and target under it.

    Superset's Big Number colours its number by ``conditional_formatting`` rules tested on the
    number itself (Superset 6.1: BigNumberTotal/transformProps, solid colours). The status is
    not a function of the number alone (it weighs the trend too), so the rule is written from
    the published status: operator ``None`` matches any value of the metric. Superset reads the
    warehouse live, but ``public.*`` changes only when ``helsedata publish`` runs, and every
    publish imports the bundle again, so the colour and the table cannot disagree.
    """
    indicator_id = config.pop("status_of")
    if config["viz_type"] != "big_number_total" or indicator_id not in indicators:
        raise ValueError(f"{path}: status_of needs a big_number_total chart and a known indicator, "
                         f"got {config['viz_type']!r} and {indicator_id!r}")
    params = config["params"]
    published = statuses.get(indicator_id)
    colour = published.colour if published else None
    status = published.label if published else "Ikke publisert"
    params["subtitle"] = f"{status} · {indicators[indicator_id]['target_text']}"
    params["conditional_formatting"] = (
        [{"column": metric_label(params["metric"]), "operator": "None", "colorScheme": colour}] if colour else [])


def _where_filters(where: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{column: value or [values]}`` → Superset's simple adhoc filters (``==`` / ``IN``)."""
    return [{"clause": "WHERE", "expressionType": "SIMPLE", "subject": column,
             "operator": "IN" if isinstance(value, list) else "==", "comparator": value,
             "filterOptionName": f"filter_{column}", "isExtra": False, "isNew": False}
            for column, value in where.items()]


# ---------------------------------------------------------------------------------------------
# query context: what Superset's frontend builds (buildQuery) and saves with a chart


def metric_label(metric: str | Mapping[str, Any]) -> str:
    """A saved metric is referred to by name; an adhoc metric by its label."""
    return metric if isinstance(metric, str) else metric["label"]


def build_query_context(viz_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``query_context`` of one chart, as the frontend's ``buildQuery`` writes it.

    >>> qc = build_query_context("big_number_total", {"metric": "verdi", "adhoc_filters": [
    ...     {"expressionType": "SIMPLE", "clause": "WHERE", "subject": "x", "operator": "==", "comparator": "a"}]})
    >>> qc["queries"][0]["metrics"], qc["queries"][0]["filters"]
    (['verdi'], [{'col': 'x', 'op': '==', 'val': 'a'}])
    """
    filters, where = [], []
    for adhoc in params.get("adhoc_filters", []):
        if adhoc["expressionType"] == "SQL":
            where.append(f"({adhoc['sqlExpression']})")
            continue
        simple = {"col": adhoc["subject"], "op": adhoc["operator"]}
        if "comparator" in adhoc and adhoc["operator"] not in ("IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL"):
            simple["val"] = adhoc["comparator"]
        filters.append(simple)
    query: dict[str, Any] = {
        "filters": filters, "extras": {"having": "", "where": " AND ".join(where)},
        "applied_time_extras": {}, "annotation_layers": [], "row_limit": params.get("row_limit", 10000),
        "series_limit": 0, "order_desc": True, "url_params": {}, "custom_params": {},
        "custom_form_data": {}, "time_range": "No filter",
    }
    if viz_type == "big_number_total":
        query.update(columns=[], metrics=[params["metric"]], orderby=[])
    elif viz_type == "table" and params.get("query_mode") == "raw":
        order = [json.loads(o) for o in params.get("order_by_cols", [])]
        query.update(columns=params["all_columns"], metrics=[], orderby=order)
    elif viz_type == "table":
        order_by = params.get("timeseries_limit_metric") or params["metrics"][0]
        query.update(columns=params["groupby"], metrics=params["metrics"],
                     orderby=[[order_by, not params.get("order_desc", True)]])
    elif viz_type in TIMESERIES:
        x_axis, groupby, metrics = params["x_axis"], params.get("groupby", []), params["metrics"]
        axis = {"columnType": "BASE_AXIS", "sqlExpression": x_axis, "label": x_axis, "expressionType": "SQL"}
        if params.get("time_grain_sqla"):
            axis["timeGrain"] = params["time_grain_sqla"]
        query.update(
            columns=[axis, *groupby], series_columns=groupby, metrics=metrics,
            orderby=[[metrics[0], False]],
            post_processing=[
                {"operation": "pivot", "options": {
                    "index": [x_axis], "columns": groupby, "drop_missing_columns": False,
                    "aggregates": {metric_label(m): {"operator": "mean"} for m in metrics}}},
                {"operation": "flatten"},
            ])
    else:
        raise ValueError(f"no query context for viz_type {viz_type!r}; add it to build_query_context")
    return {"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [query],
            "form_data": dict(params), "result_format": "json", "result_type": "full"}


# ---------------------------------------------------------------------------------------------
# dashboards: position and native filters from a short layout


def _dashboard(path: Path, config: dict[str, Any], charts: Mapping[str, dict[str, Any]],
               datasets: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    rows, filters = config.pop("rows"), config.pop("filters", [])
    local_ids: dict[str, int] = {}
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "parents": ["ROOT_ID"], "children": []},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": config["dashboard_title"]}},
    }
    for r, row in enumerate(rows):
        row_id = f"ROW-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"id": row_id, "type": "ROW", "parents": ["ROOT_ID", "GRID_ID"], "children": [],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for i, item in enumerate(row["items"]):
            parents = ["ROOT_ID", "GRID_ID", row_id]
            size = {"width": item.get("width", 4), "height": item.get("height", row.get("height", 50))}
            if "markdown" in item:
                item_id = f"MARKDOWN-{r}-{i}"
                position[item_id] = {"id": item_id, "type": "MARKDOWN", "parents": parents, "children": [],
                                     "meta": {"code": item["markdown"], **size}}
            else:
                key = item["chart"]
                if key not in charts:
                    raise ValueError(f"{path}: unknown chart {key!r}")
                local_ids[key] = len(local_ids) + 1
                item_id = f"CHART-{key}"
                position[item_id] = {"id": item_id, "type": "CHART", "parents": parents, "children": [],
                                     "meta": {"chartId": local_ids[key], "uuid": charts[key]["uuid"],
                                              "sliceName": charts[key]["slice_name"], **size}}
            position[row_id]["children"].append(item_id)
    dataset_of = {key: next(name for name, d in datasets.items() if d["uuid"] == charts[key]["dataset_uuid"])
                  for key in local_ids}
    config["metadata"] = {
        "native_filter_configuration": [_native_filter(path, f, local_ids, dataset_of, datasets) for f in filters],
        "chart_configuration": {}, "global_chart_configuration": {}, "cross_filters_enabled": False,
        "color_scheme": "supersetColors", "label_colors": {}, "shared_label_colors": [],
        "expanded_slices": {}, "timed_refresh_immune_slices": [], "refresh_frequency": 0,
        "default_filters": "{}", **config.get("metadata", {}),
    }
    config.update(uuid=object_uuid("dashboard", path.stem), position=position, version=VERSION,
                  published=True)
    return config


def _native_filter(path: Path, spec: Mapping[str, Any], local_ids: Mapping[str, int],
                   dataset_of: Mapping[str, str], datasets: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A select filter on one dataset column; charts whose dataset has no such column, and those
    named in ``exclude``, are out of its scope (a filter on a missing column breaks a chart)."""
    dataset, column = spec["dataset"], spec["column"]
    columns_of = {name: {c["column_name"] for c in d.get("columns", [])} for name, d in datasets.items()}
    if column not in columns_of.get(dataset, ()):
        raise ValueError(f"{path}: filter {spec['name']!r}: dataset {dataset!r} has no column {column!r}")
    excluded = sorted(local_ids[k] for k in local_ids
                      if k in spec.get("exclude", ()) or column not in columns_of[dataset_of[k]])
    filter_id = "NATIVE_FILTER-" + object_uuid("filter", f"{path.stem}:{column}")[:8]
    return {
        "id": filter_id, "name": spec["name"], "description": spec.get("description", ""),
        "filterType": "filter_select", "type": "NATIVE_FILTER",
        "targets": [{"column": {"name": column}, "datasetUuid": datasets[dataset]["uuid"]}],
        "cascadeParentIds": ["NATIVE_FILTER-" + object_uuid("filter", f"{path.stem}:{p}")[:8]
                             for p in spec.get("parents", [])],
        "controlValues": {"multiSelect": spec.get("multi", True), "enableEmptyFilter": False,
                          "defaultToFirstItem": spec.get("default_first", False),
                          "inverseSelection": False, "searchAllOptions": False,
                          "sortAscending": spec.get("ascending", True)},
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
        "sortMetric": None,
        # the frontend waits for a filter with a computed default before loading the charts
        "requiredFirst": spec.get("default_first", False),
    }
