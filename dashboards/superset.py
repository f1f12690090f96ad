"""A small REST client that points Apache Superset (6.x) at the published tables.

Superset is optional. When ``HELSEDATA_SUPERSET_URL`` is set (with
``HELSEDATA_SUPERSET_USERNAME`` and ``HELSEDATA_SUPERSET_PASSWORD``), ``helsedata publish``
makes sure Superset has

* a database ``helsedata`` whose SQLAlchemy URI opens the warehouse **read-only**
  (``duckdb:////abs/path/warehouse.duckdb?access_mode=read_only``), with DML off;
* one dataset per ``public.*`` table, with its column metadata refreshed after each publication;
* a table chart per dataset and a dashboard ``helsedata`` holding them.

Every step is "ensure": find by name, create when missing, update what changed, so running it
twice changes nothing. API: ``/api/v1/security/login`` (JWT access token), then
``/api/v1/security/csrf_token/`` (CSRF token bound to the session cookie) for every write.
Only the ``public`` schema is ever exposed: Superset never sees raw, staging or mart tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kernel.config import Settings
from kernel.errors import ConfigurationError, PipelineFailure

DATABASE_NAME = "helsedata"
DASHBOARD_SLUG = "helsedata"
DASHBOARD_TITLE = "Helsedata – publiserte indikatorer"
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SupersetConfig:
    url: str
    username: str
    password: str
    provider: str = "db"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SupersetConfig | None:
        """The configuration from the environment, or ``None`` when Superset is not configured."""
        url = environ.get("HELSEDATA_SUPERSET_URL", "").strip()
        if not url:
            return None
        username = environ.get("HELSEDATA_SUPERSET_USERNAME", "")
        password = environ.get("HELSEDATA_SUPERSET_PASSWORD", "")
        if not username or not password:
            raise ConfigurationError(
                "HELSEDATA_SUPERSET_URL is set but HELSEDATA_SUPERSET_USERNAME or "
                "HELSEDATA_SUPERSET_PASSWORD is not; set both, or unset the URL to skip Superset."
            )
        return cls(url=url.rstrip("/"), username=username, password=password,
                   provider=environ.get("HELSEDATA_SUPERSET_PROVIDER", "db"))


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
    """Thin wrapper over Superset's REST API with login, CSRF handling and idempotent ensures."""

    def __init__(self, config: SupersetConfig, session=None):
        import requests

        self.config = config
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "Referer": config.url})
        self._csrf: str | None = None

    # -- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, expected=(200, 201), **kwargs) -> dict[str, Any]:
        import requests

        url = f"{self.config.url}{path}"
        headers = kwargs.pop("headers", {})
        if method != "GET" and self._csrf:
            headers["X-CSRFToken"] = self._csrf
        try:
            response = self.session.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as e:
            raise PipelineFailure(f"Superset at {self.config.url} is unreachable: {e}") from e
        if response.status_code not in expected:
            raise PipelineFailure(
                f"Superset {method} {path} answered {response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else {}

    def login(self) -> None:
        body = self._request("POST", "/api/v1/security/login", json={
            "username": self.config.username, "password": self.config.password,
            "provider": self.config.provider, "refresh": True})
        token = body.get("access_token")
        if not token:
            raise PipelineFailure("Superset login returned no access token")
        self.session.headers["Authorization"] = f"Bearer {token}"
        self._csrf = self._request("GET", "/api/v1/security/csrf_token/")["result"]

    def _find(self, resource: str, column: str, value: Any, **extra: Any) -> dict[str, Any] | None:
        filters = [{"col": column, "opr": "eq", "value": value}]
        filters += [{"col": c, "opr": "eq", "value": v} for c, v in extra.items()]
        body = self._request("GET", f"/api/v1/{resource}/", params={"q": rison({"filters": filters})})
        matches = body.get("result", [])
        return matches[0] if matches else None

    # -- ensures -----------------------------------------------------------------------------

    def ensure_database(self, uri: str) -> int:
        payload = {"database_name": DATABASE_NAME, "sqlalchemy_uri": uri, "expose_in_sqllab": True,
                   "allow_dml": False, "allow_file_upload": False, "allow_run_async": False}
        found = self._find("database", "database_name", DATABASE_NAME)
        if found is None:
            return int(self._request("POST", "/api/v1/database/", json=payload)["id"])
        self._request("PUT", f"/api/v1/database/{found['id']}", json=payload)
        return int(found["id"])

    def ensure_dataset(self, database_id: int, schema: str, table: str) -> int:
        found = self._find("dataset", "table_name", table, schema=schema)
        if found is None:
            dataset_id = int(self._request("POST", "/api/v1/dataset/", json={
                "database": database_id, "schema": schema, "table_name": table})["id"])
        else:
            dataset_id = int(found["id"])
        self._request("PUT", f"/api/v1/dataset/{dataset_id}/refresh")
        return dataset_id

    def ensure_dashboard(self) -> int:
        found = self._find("dashboard", "slug", DASHBOARD_SLUG)
        if found is not None:
            return int(found["id"])
        return int(self._request("POST", "/api/v1/dashboard/", json={
            "dashboard_title": DASHBOARD_TITLE, "slug": DASHBOARD_SLUG, "published": True})["id"])

    def ensure_chart(self, name: str, dataset_id: int, dashboard_id: int, columns: Sequence[str] = ()) -> int:
        params = {"viz_type": "table", "datasource": f"{dataset_id}__table", "query_mode": "raw",
                  "all_columns": list(columns), "row_limit": 10000}
        payload = {"slice_name": name, "viz_type": "table", "datasource_id": dataset_id,
                   "datasource_type": "table", "params": json.dumps(params), "dashboards": [dashboard_id]}
        found = self._find("chart", "slice_name", name)
        if found is None:
            return int(self._request("POST", "/api/v1/chart/", json=payload)["id"])
        self._request("PUT", f"/api/v1/chart/{found['id']}", json=payload)
        return int(found["id"])


#: Columns shown in the table chart of each public table (others stay available in Explore).
CHART_COLUMNS = {
    "indicator_values": ["indicator_id", "period", "geo_level", "geo_code", "geo_name", "numerator",
                         "denominator", "value", "input_quality_label", "suppressed"],
}


def refresh_superset(config: SupersetConfig, settings: Settings, tables: Sequence[str],
                     session=None) -> dict[str, Any]:
    """Ensure database, datasets (refreshed), charts and dashboard; return their ids."""
    client = SupersetClient(config, session=session)
    client.login()
    database_id = client.ensure_database(duckdb_uri(settings))
    dashboard_id = client.ensure_dashboard()
    datasets, charts = {}, {}
    for qualified in tables:
        schema, table = qualified.split(".")
        if schema != "public":
            raise ValueError(f"only public tables are exposed in Superset, not {qualified}")
        datasets[table] = client.ensure_dataset(database_id, schema, table)
        charts[table] = client.ensure_chart(f"Helsedata: {table}", datasets[table], dashboard_id,
                                            CHART_COLUMNS.get(table, ()))
    return {"url": config.url, "database_id": database_id, "dashboard_id": dashboard_id,
            "datasets": datasets, "charts": charts}
