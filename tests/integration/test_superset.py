"""The Superset REST client against a fake Superset on 127.0.0.1, and (opt-in) a real one.

The fake speaks the few endpoints the client uses, enforces what Superset enforces (a bearer
token on every call, a CSRF token and the session cookie on every write) and records every
request, so the tests check the request sequence and payloads. Network mocks are the one kind
of mock the style guide accepts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboards.superset import (
    DASHBOARD_SLUG,
    DATABASE_NAME,
    SupersetConfig,
    duckdb_uri,
    refresh_superset,
    rison,
)
from helsedata.errors import ConfigurationError, PipelineFailure

TOKEN, CSRF, COOKIE = "jwt-token", "csrf-token", "session=fake-session"
TABLES = ["public.indicator_values", "public.indicator_status", "public.registry_reporting_coverage"]


def parse_rison(text: str):
    """Decode the Rison subset the client sends (objects, arrays, strings, numbers, !t/!f/!n)."""
    pos = 0

    def value():
        nonlocal pos
        c = text[pos]
        if c == "(":
            pos += 1
            out = {}
            while text[pos] != ")":
                k = value()
                assert text[pos] == ":"
                pos += 1
                out[k] = value()
                if text[pos] == ",":
                    pos += 1
            pos += 1
            return out
        if text.startswith("!(", pos):
            pos += 2
            out = []
            while text[pos] != ")":
                out.append(value())
                if text[pos] == ",":
                    pos += 1
            pos += 1
            return out
        for token, result in (("!t", True), ("!f", False), ("!n", None)):
            if text.startswith(token, pos):
                pos += 2
                return result
        if c == "'":
            pos += 1
            out = ""
            while text[pos] != "'":
                if text[pos] == "!":
                    pos += 1
                out += text[pos]
                pos += 1
            pos += 1
            return out
        m = re.compile(r"[^,:()']+").match(text, pos)
        pos = m.end()
        word = m.group()
        return int(word) if re.fullmatch(r"-?\d+", word) else word

    return value()


class FakeSuperset:
    """In-memory Superset: objects per resource, every request recorded."""

    def __init__(self):
        self.requests: list[dict] = []
        self.objects: dict[str, dict[int, dict]] = {r: {} for r in ("database", "dataset", "chart", "dashboard")}
        self.refreshed: list[int] = []
        self.password = "secret"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, headers=()):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                record = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                          "json": body, "headers": dict(self.headers)}
                fake.requests.append(record)
                status, payload, headers = fake.respond(record)
                self._send(status, payload, headers)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def respond(self, r):
        path, method = r["path"], r["method"]
        if path == "/api/v1/security/login":
            if r["json"] != {"username": "admin", "password": self.password, "provider": "db", "refresh": True}:
                return 401, {"message": "Not authorized"}, ()
            return 200, {"access_token": TOKEN, "refresh_token": "r"}, ()
        if r["headers"].get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"msg": "Missing Authorization Header"}, ()
        if path == "/api/v1/security/csrf_token/":
            return 200, {"result": CSRF}, (("Set-Cookie", COOKIE + "; Path=/"),)
        if method != "GET" and (r["headers"].get("X-CSRFToken") != CSRF
                                or COOKIE not in r["headers"].get("Cookie", "")):
            return 400, {"errors": [{"message": "400 Bad Request: The CSRF session token is missing."}]}, ()
        m = re.fullmatch(r"/api/v1/(\w+)/(?:(\d+)(/refresh)?)?", path)
        if not m or m.group(1) not in self.objects:
            return 404, {"message": "Not found"}, ()
        resource, pk, refresh = m.group(1), m.group(2), m.group(3)
        store = self.objects[resource]
        if method == "GET" and pk is None:
            filters = parse_rison(r["query"]["q"][0])["filters"]
            hits = [dict(o, id=i) for i, o in store.items()
                    if all(o.get(f["col"]) == f["value"] and f["opr"] == "eq" for f in filters)]
            return 200, {"count": len(hits), "result": hits}, ()
        if method == "POST" and pk is None:
            new_id = len(store) + 1
            store[new_id] = dict(r["json"])
            return 201, {"id": new_id, "result": r["json"]}, ()
        if method == "PUT" and pk is not None and int(pk) in store:
            if refresh:
                self.refreshed.append(int(pk))
                return 200, {"message": "OK"}, ()
            store[int(pk)].update(r["json"])
            return 200, {"id": int(pk), "result": r["json"]}, ()
        return 405, {"message": "unexpected call"}, ()

    def calls(self):
        return [(r["method"], r["path"]) for r in self.requests]


@pytest.fixture
def fake():
    server = FakeSuperset()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def config(fake):
    return SupersetConfig(url=fake.url, username="admin", password="secret")


def test_first_refresh_creates_database_datasets_charts_and_dashboard(fake, config, settings):
    result = refresh_superset(config, settings, TABLES)
    calls = fake.calls()
    assert calls[:2] == [("POST", "/api/v1/security/login"), ("GET", "/api/v1/security/csrf_token/")]
    database = fake.objects["database"][result["database_id"]]
    assert database["database_name"] == DATABASE_NAME
    assert database["sqlalchemy_uri"] == f"duckdb:///{settings.warehouse}?access_mode=read_only"
    assert database["allow_dml"] is False
    assert {d["table_name"] for d in fake.objects["dataset"].values()} == {t.split(".")[1] for t in TABLES}
    assert {d["schema"] for d in fake.objects["dataset"].values()} == {"public"}
    assert sorted(fake.refreshed) == sorted(result["datasets"].values())
    assert fake.objects["dashboard"][result["dashboard_id"]]["slug"] == DASHBOARD_SLUG
    for chart_id, table in zip(result["charts"].values(), result["datasets"]):
        chart = fake.objects["chart"][chart_id]
        assert chart["datasource_id"] == result["datasets"][table] and chart["datasource_type"] == "table"
        assert chart["dashboards"] == [result["dashboard_id"]]
        assert json.loads(chart["params"])["viz_type"] == "table"
    writes = [r for r in fake.requests if r["method"] != "GET"][1:]  # after the login
    assert writes and all(r["headers"]["X-CSRFToken"] == CSRF for r in writes)


def test_second_refresh_creates_nothing_and_refreshes_again(fake, config, settings):
    first = refresh_superset(config, settings, TABLES)
    counts = {k: len(v) for k, v in fake.objects.items()}
    n_refreshed, n_calls = len(fake.refreshed), len(fake.requests)
    second = refresh_superset(config, settings, TABLES)
    assert second == first
    assert {k: len(v) for k, v in fake.objects.items()} == counts
    assert len(fake.refreshed) == 2 * n_refreshed
    posts = [p for m, p in fake.calls()[n_calls:] if m == "POST"]
    assert posts == ["/api/v1/security/login"]


def test_database_uri_is_updated_when_the_warehouse_moves(fake, config, settings, tmp_path):
    from helsedata.config import Settings

    refresh_superset(config, settings, TABLES[:1])
    moved = Settings(home=tmp_path / "elsewhere")
    refresh_superset(config, moved, TABLES[:1])
    (database,) = fake.objects["database"].values()
    assert database["sqlalchemy_uri"] == duckdb_uri(moved)


def test_only_public_tables_are_exposed(fake, config, settings):
    with pytest.raises(ValueError, match="only public"):
        refresh_superset(config, settings, ["marts.mart_indicator_values"])


def test_wrong_password_is_a_pipeline_failure(fake, settings):
    bad = SupersetConfig(url=fake.url, username="admin", password="wrong")
    with pytest.raises(PipelineFailure, match="401"):
        refresh_superset(bad, settings, TABLES)
    assert fake.calls() == [("POST", "/api/v1/security/login")]


def test_unreachable_superset_is_a_pipeline_failure(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PipelineFailure, match="unreachable"):
        refresh_superset(SupersetConfig(url=f"http://127.0.0.1:{port}", username="a", password="b"), settings, TABLES)


@pytest.mark.parametrize(
    "environ, expected",
    [({}, None), ({"HELSEDATA_SUPERSET_URL": ""}, None),
     ({"HELSEDATA_SUPERSET_URL": "http://x:8088/", "HELSEDATA_SUPERSET_USERNAME": "u",
       "HELSEDATA_SUPERSET_PASSWORD": "p"}, SupersetConfig("http://x:8088", "u", "p"))],
)
def test_config_from_environ(environ, expected):
    assert SupersetConfig.from_environ(environ) == expected


def test_config_without_credentials_is_refused():
    with pytest.raises(ConfigurationError, match="HELSEDATA_SUPERSET_PASSWORD"):
        SupersetConfig.from_environ({"HELSEDATA_SUPERSET_URL": "http://x", "HELSEDATA_SUPERSET_USERNAME": "u"})


@pytest.mark.parametrize("value", [
    {"filters": [{"col": "table_name", "opr": "eq", "value": "indicator_values"}]},
    {"a": "it's (odd)!", "b": [1, -2, True, None], "c": "2024", "d": ""},
])
def test_rison_round_trips(value):
    assert parse_rison(rison(value)) == value


def test_publish_refreshes_superset_when_configured(fake, settings):
    from helsedata.publish import publish
    from tests.integration.test_publish import make_marts

    make_marts(settings)  # runs the quality checks: publication goes through the real gate
    result = publish(settings, environ={"HELSEDATA_SUPERSET_URL": fake.url,
                                        "HELSEDATA_SUPERSET_USERNAME": "admin",
                                        "HELSEDATA_SUPERSET_PASSWORD": "secret"})
    assert set(result.superset["datasets"]) == {"indicator_values", "indicator_status",
                                                 "registry_reporting_coverage", "publication"}
    assert not publish(settings, environ={}).superset  # not configured: not called


# ---------------------------------------------------------------------------------------------
# A real Superset 6.1 (opt-in: HELSEDATA_SUPERSET_TEST=1, or its virtualenv exists)

SUPERSET_VENV = Path(os.environ.get("HELSEDATA_SUPERSET_VENV", "/tmp/superset-venv"))
REAL = os.environ.get("HELSEDATA_SUPERSET_TEST") == "1" or (SUPERSET_VENV / "bin" / "superset").exists()


@pytest.fixture(scope="module")
def real_superset(tmp_path_factory):
    """A Superset on 127.0.0.1 from its own virtualenv (or HELSEDATA_SUPERSET_TEST_URL)."""
    url = os.environ.get("HELSEDATA_SUPERSET_TEST_URL")
    if url:
        yield SupersetConfig(url=url, username=os.environ.get("HELSEDATA_SUPERSET_USERNAME", "admin"),
                             password=os.environ.get("HELSEDATA_SUPERSET_PASSWORD", "admin"))
        return
    superset = SUPERSET_VENV / "bin" / "superset"
    if not superset.exists():
        pytest.skip(f"no Superset virtualenv at {SUPERSET_VENV} (see docs/publishing.md)")
    home = tmp_path_factory.mktemp("superset")
    (home / "superset_config.py").write_text(
        f'SECRET_KEY = "test-only-{os.getpid()}"\nSQLALCHEMY_DATABASE_URI = "sqlite:///{home}/superset.db"\n')
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(home / "superset_config.py"), "FLASK_APP": "superset"}
    for args in (["db", "upgrade"], ["fab", "create-admin", "--username", "admin", "--firstname", "A",
                                     "--lastname", "D", "--email", "a@example.org", "--password", "admin"],
                 ["init"]):
        subprocess.run([str(superset), *args], env=env, check=True, capture_output=True, timeout=600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([str(superset), "run", "-h", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        else:
            pytest.fail(f"Superset did not start; see {home / 'server.log'}")
        yield SupersetConfig(url=url, username="admin", password="admin")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.skipif(not REAL, reason="real Superset test: set HELSEDATA_SUPERSET_TEST=1 and create its venv")
def test_real_superset_shows_the_published_tables(real_superset, settings):
    import requests

    from helsedata.publish import publish
    from tests.integration.test_publish import make_marts

    make_marts(settings)  # runs the quality checks: publication goes through the real gate
    environ = {"HELSEDATA_SUPERSET_URL": real_superset.url,
               "HELSEDATA_SUPERSET_USERNAME": real_superset.username,
               "HELSEDATA_SUPERSET_PASSWORD": real_superset.password}
    first = publish(settings, environ=environ).superset
    second = publish(settings, environ=environ).superset
    assert first["datasets"] == second["datasets"] and first["charts"] == second["charts"]

    s = requests.Session()
    s.headers["Referer"] = real_superset.url
    token = s.post(f"{real_superset.url}/api/v1/security/login", json={
        "username": real_superset.username, "password": real_superset.password,
        "provider": "db", "refresh": True}).json()["access_token"]
    s.headers["Authorization"] = f"Bearer {token}"
    s.headers["X-CSRFToken"] = s.get(f"{real_superset.url}/api/v1/security/csrf_token/").json()["result"]
    answer = s.post(f"{real_superset.url}/api/v1/sqllab/execute/", json={
        "database_id": first["database_id"], "runAsync": False, "schema": "public",
        "sql": "select count(*) as n, count(*) filter (where numerator between 1 and 5) as small "
               "from public.indicator_values where indicator_id = 'vft_mottakere'"}).json()
    assert answer["status"] == "success", answer
    assert answer["data"][0]["n"] > 0 and answer["data"][0]["small"] == 0
    dml = s.post(f"{real_superset.url}/api/v1/sqllab/execute/", json={
        "database_id": first["database_id"], "runAsync": False, "schema": "public",
        "sql": "delete from public.indicator_values"})
    assert dml.status_code >= 400  # DML is off and the connection is read-only
