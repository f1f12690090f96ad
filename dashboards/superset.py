"""Publishes the declared Superset dashboards (``dashboards/superset_bundle/``) over Superset's REST API.

Superset is optional. When ``HELSEDATA_SUPERSET_URL`` is set (with
``HELSEDATA_SUPERSET_USERNAME`` and ``HELSEDATA_SUPERSET_PASSWORD``), ``helsedata publish``
renders the declarations into one import bundle (:mod:`dashboards.bundle`) and sends it, with
``overwrite=true``, to Superset's import endpoints in dependency order: database, datasets,
charts, dashboards. Each endpoint overwrites only its own kind (the others are created when
missing), so four calls update everything. Objects are matched by UUID, so a second publish
updates the same objects: same ids, no duplicates.

* the database ``helsedata`` opens the warehouse **read-only**
  (``duckdb:////abs/path/warehouse.duckdb?access_mode=read_only``), DML and SQL Lab off;
* datasets are physical tables in ``public`` only;
* three dashboards: Strategistatus, Velferdsteknologi, Innrapportering til helseregistre;
* the big numbers of Strategistatus take their colour, status and target from
  ``public.indicator_status`` as this publication wrote it (:func:`published_statuses`).

API: ``/api/v1/security/login`` (JWT access token), then ``/api/v1/security/csrf_token/`` (CSRF
token bound to the session cookie) for every write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dashboards.bundle import PublishedStatus, build_bundle
from kernel.config import Settings, SupersetSettings
from kernel.errors import PipelineFailure

#: Import order: each kind refers to the one before it.
IMPORT_ORDER = ("database", "dataset", "chart", "dashboard")
TIMEOUT_SECONDS = 30
#: An import runs every dataset's and chart's validation on the server: give it longer.
IMPORT_TIMEOUT_SECONDS = 300


def rison(value: Any) -> str:
    """Encode ``value`` as Rison, the URL-friendly JSON Superset's ``?q=`` parameter expects.

    >>> rison({"filters": [{"col": "table_name", "opr": "eq", "value": "indicator_values"}]})
    '(filters:!((col:table_name,opr:eq,value:indicator_values)))'
    >>> rison({"page_size": 100, "value": "two words", "ok": True, "none": None})
    "(none:!n,ok:!t,page_size:100,value:'two words')"
    """
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if value is None:
        return "!n"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        safe = value and not value[0].isdigit() and value[0] != "-" and all(
            c.isalnum() or c in "_-./~" for c in value)
        return value if safe else "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, Mapping):
        return "(" + ",".join(f"{rison(str(k))}:{rison(v)}" for k, v in sorted(value.items())) + ")"
    if isinstance(value, (list, tuple)):
        return "!(" + ",".join(rison(v) for v in value) + ")"
    raise ValueError(f"cannot encode {type(value).__name__} as Rison")


def duckdb_uri(settings: Settings) -> str:
    """SQLAlchemy URI of the warehouse, read-only (duckdb-engine).

    >>> duckdb_uri(Settings(home=__import__("pathlib").Path("/srv/helsedata")))
    'duckdb:////srv/helsedata/warehouse.duckdb?access_mode=read_only'
    """
    return f"duckdb:///{settings.warehouse.resolve()}?access_mode=read_only"


class SupersetClient:
    """Thin wrapper over Superset's REST API: login, CSRF token, bundle import."""

    def __init__(self, config: SupersetSettings, session=None):
        import requests

        self.config = config
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "Referer": config.url})
        self._csrf: str | None = None

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, expected=(200, 201), timeout: float = TIMEOUT_SECONDS,
                 **kwargs) -> dict[str, Any]:
        import requests

        url = f"{self.config.url}{path}"
        headers = kwargs.pop("headers", {})
        if method != "GET" and self._csrf:
            headers["X-CSRFToken"] = self._csrf
        try:
            response = self.session.request(method, url, headers=headers, timeout=timeout, **kwargs)
        except requests.RequestException as e:
            raise PipelineFailure(f"Superset på {self.config.url} svarer ikke: {e}") from e
        if response.status_code not in expected:
            raise PipelineFailure(
                f"Superset {method} {path} svarte {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def login(self) -> None:
        body = self._request("POST", "/api/v1/security/login", json={
            "username": self.config.username, "password": self.config.password,
            "provider": self.config.provider, "refresh": True})
        token = body.get("access_token")
        if not token:
            raise PipelineFailure("innloggingen i Superset ga ikke noe tilgangstoken")
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._csrf = self._request("GET", "/api/v1/security/csrf_token/")["result"]

    def find(self, resource: str, column: str, value: Any, **extra: Any) -> dict[str, Any] | None:
        """The first object of ``resource`` whose ``column`` (and ``extra`` columns) equal the values."""
        filters = [{"col": column, "opr": "eq", "value": value}]
        filters += [{"col": c, "opr": "eq", "value": v} for c, v in extra.items()]
        body = self._request("GET", f"/api/v1/{resource}/", params={"q": rison({"filters": filters})})
        matches = body.get("result", [])
        return matches[0] if matches else None

    # -- import ----------------------------------------------------------------------------

    def import_bundle(self, kind: str, archive: bytes) -> None:
        """POST the bundle to ``/api/v1/<kind>/import/``; overwrite objects of that kind."""
        self._request("POST", f"/api/v1/{kind}/import/", timeout=IMPORT_TIMEOUT_SECONDS,
                      files={"formData": ("helsedata.zip", archive, "application/zip")},
                      data={"overwrite": "true", "passwords": "{}"})

    def dashboard(self, slug: str) -> dict[str, Any]:
        return self._request("GET", f"/api/v1/dashboard/{slug}")["result"]

    def scope_native_filters(self, dashboard: Mapping[str, Any]) -> None:
        """Write each native filter's ``chartsInScope`` with the chart ids Superset gave.

        The frontend applies a filter to the charts listed there; Superset's importer maps the
        ``excluded`` chart ids of a filter's scope to the new ids but not that list, so it is
        written here from the dashboard's layout once the ids are known.
        """
        metadata = json.loads(dashboard.get("json_metadata") or "{}")
        chart_ids = chart_ids_in_layout(json.loads(dashboard.get("position_json") or "{}"))
        changed = False
        for native_filter in metadata.get("native_filter_configuration", []):
            excluded = set(native_filter.get("scope", {}).get("excluded", []))
            in_scope = sorted(set(chart_ids.values()) - excluded)
            if native_filter.get("chartsInScope") != in_scope:
                native_filter.update(chartsInScope=in_scope, tabsInScope=[])
                changed = True
        if changed:
            self._request("PUT", f"/api/v1/dashboard/{dashboard['id']}",
                          json={"json_metadata": json.dumps(metadata)})


def chart_ids_in_layout(position: Mapping[str, Any]) -> dict[str, int]:
    """Chart UUID → chart id, from a dashboard's ``position_json``.

    >>> chart_ids_in_layout({"CHART-a": {"type": "CHART", "meta": {"uuid": "u1", "chartId": 7}},
    ...                      "ROW-1": {"type": "ROW"}, "DASHBOARD_VERSION_KEY": "v2"})
    {'u1': 7}
    """
    return {item["meta"]["uuid"]: int(item["meta"]["chartId"]) for item in position.values()
            if isinstance(item, Mapping) and item.get("type") == "CHART"}


STATUS_TABLE = "public.indicator_status"


def published_statuses(settings: Settings) -> dict[str, PublishedStatus]:
    """indicator_id → its published status (breakdown ``alle``) from ``public.indicator_status``.

    Empty when the warehouse has no such table (nothing published yet): the big numbers are then
    drawn without a status colour.
    """
    if not settings.warehouse.exists():
        return {}
    from kernel.warehouse import read_only

    schema, table = STATUS_TABLE.split(".")
    with read_only(settings) as con:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                             "and table_name = ?", [schema, table]).fetchone()[0]
        if not exists:
            return {}
        rows = con.execute(f"select indicator_id, status, suppressed, target, target_year, target_is_illustrative "
                           f"from {STATUS_TABLE} where breakdown_code = 'alle'").fetchall()
    return {indicator_id: PublishedStatus(status=status, suppressed=bool(suppressed), target=target,
                                          target_year=target_year, target_is_illustrative=bool(illustrative))
            for indicator_id, status, suppressed, target, target_year, illustrative in rows}


def refresh_superset(config: SupersetSettings, settings: Settings, tables: Sequence[str],
                     session=None) -> dict[str, Any]:
    """Import the declared database, datasets, charts and dashboards; return their ids.

    ``tables`` are the tables the publication wrote; only ``public.*`` may be given.
    """
    for qualified in tables:
        if qualified.split(".")[0] != "public":
            raise ValueError(f"only public tables are exposed in Superset, not {qualified}")
    bundle = build_bundle(duckdb_uri(settings), statuses=published_statuses(settings))
    archive = bundle.to_zip()
    client = SupersetClient(config, session=session)
    client.login()
    for kind in IMPORT_ORDER:
        client.import_bundle(kind, archive)

    (declared,) = bundle.of_kind("databases").values()
    database = client.find("database", "database_name", declared["database_name"])
    datasets = {}
    for dataset in bundle.of_kind("datasets").values():
        found = client.find("dataset", "table_name", dataset["table_name"], schema=dataset["schema"])
        if found is None:
            raise PipelineFailure(f"Superset har ikke datasettet {dataset['table_name']} etter importen")
        datasets[dataset["table_name"]] = int(found["id"])
    chart_keys = {chart["uuid"]: name.split("/")[1].removesuffix(".yaml")
                  for name, chart in bundle.of_kind("charts").items()}
    dashboards, charts = {}, {}
    for dashboard in bundle.of_kind("dashboards").values():
        found = client.dashboard(dashboard["slug"])
        client.scope_native_filters(found)
        dashboards[dashboard["slug"]] = int(found["id"])
        layout = chart_ids_in_layout(json.loads(found.get("position_json") or "{}"))
        charts.update({chart_keys[u]: chart_id for u, chart_id in layout.items()})
    return {"url": config.url, "database_id": int(database["id"]) if database else None,
            "datasets": datasets, "dashboards": dashboards, "charts": charts}
