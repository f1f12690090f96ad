"""The Superset publication: the client against a fake Superset, and against a real Superset 6.1.

The fake speaks the endpoints the client uses, enforces what Superset enforces (a bearer token on
every call, a CSRF token and the session cookie on every write) and records every request, so
the tests check the request sequence and payloads (network mocks are the one kind of mock the
style guide accepts). The real test publishes a real demo warehouse (ingestion, dbt, the quality
gate) into a real Superset started from ``.venv-superset`` with the repository's configuration,
then asks every chart for its data and looks at every dashboard in headless Chromium.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from dashboards.bundle import DECLARATIONS, STATUS_COLOURS, STATUS_TEXTS
from dashboards.superset import IMPORT_ORDER, refresh_superset, rison
from kernel.config import Settings, SupersetSettings
from kernel.errors import ConfigurationError, PipelineFailure
from tests.wcag import contrast_ratio, rgb

REPO = Path(__file__).resolve().parents[2]
TOKEN, CSRF, COOKIE = "jwt-token", "csrf-token", "session=fake-session"
TABLES = ["public.indicator_values", "public.indicator_status", "public.registry_reporting_coverage",
          "public.publication"]
SLUGS = {"strategistatus": "Strategistatus", "velferdsteknologi": "Velferdsteknologi",
         "innrapportering": "Innrapportering til helseregistre"}


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
    """In-memory Superset that imports bundles; every request recorded."""

    def __init__(self):
        self.requests: list[dict] = []
        self.imports: list[tuple[str, dict, dict[str, dict]]] = []  # kind, form fields, files
        self.dashboards: dict[str, dict] = {}
        self.password = "secret"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                record = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                          "raw": raw, "headers": dict(self.headers)}
                if raw and self.headers.get("Content-Type", "").startswith("application/json"):
                    record["json"] = json.loads(raw)
                fake.requests.append(record)
                status, payload, headers = fake.respond(record)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def respond(self, r):
        path, method = r["path"], r["method"]
        if path == "/api/v1/security/login":
            if r.get("json") != {"username": "admin", "password": self.password, "provider": "db", "refresh": True}:
                return 401, {"message": "Not authorized"}, ()
            return 200, {"access_token": TOKEN, "refresh_token": "r"}, ()
        if r["headers"].get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"msg": "Missing Authorization Header"}, ()
        if path == "/api/v1/security/csrf_token/":
            return 200, {"result": CSRF}, (("Set-Cookie", COOKIE + "; Path=/"),)
        if method != "GET" and (r["headers"].get("X-CSRFToken") != CSRF
                                or COOKIE not in r["headers"].get("Cookie", "")):
            return 400, {"errors": [{"message": "400 Bad Request: The CSRF session token is missing."}]}, ()
        if m := re.fullmatch(r"/api/v1/(\w+)/import/", path):
            self.imports.append((m.group(1), *self._multipart(r)))
            if m.group(1) == "dashboard":
                self._import_dashboards(self.imports[-1][2])
            return 200, {"message": "OK"}, ()
        if method == "GET" and path in ("/api/v1/database/", "/api/v1/dataset/"):
            value = parse_rison(r["query"]["q"][0])["filters"][0]["value"]
            return 200, {"count": 1, "result": [{"id": sum(map(ord, value))}]}, ()
        if m := re.fullmatch(r"/api/v1/dashboard/([\w-]+)", path):
            found = self.dashboards.get(m.group(1)) or next(
                (d for d in self.dashboards.values() if str(d["id"]) == m.group(1)), None)
            if found is None:
                return 404, {"message": "Not found"}, ()
            if method == "PUT":
                found.update(r["json"])
            return 200, {"result": found}, ()
        return 405, {"message": "unexpected call"}, ()

    def _multipart(self, r) -> tuple[dict, dict[str, dict]]:
        from email.parser import BytesParser
        from email.policy import default

        message = BytesParser(policy=default).parsebytes(
            f"Content-Type: {r['headers']['Content-Type']}\r\n\r\n".encode() + r["raw"])
        fields, files = {}, {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "formData":
                with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True))) as archive:
                    files = {n.split("/", 1)[1]: yaml.safe_load(archive.read(n)) for n in archive.namelist()}
            else:
                fields[name] = part.get_content()
        return fields, files

    def _import_dashboards(self, files: dict[str, dict]) -> None:
        """Like Superset: charts get ids by UUID; the dashboard's layout points at them."""
        chart_ids = {c["uuid"]: 100 + i for i, c in enumerate(
            sorted((c for n, c in files.items() if n.startswith("charts/")), key=lambda c: c["uuid"]))}
        for name, config in files.items():
            if not name.startswith("dashboards/"):
                continue
            position = json.loads(json.dumps(config["position"]))
            for item in position.values():
                if isinstance(item, dict) and item.get("type") == "CHART":
                    item["meta"]["chartId"] = chart_ids[item["meta"]["uuid"]]
            existing = self.dashboards.get(config["slug"], {"id": len(self.dashboards) + 1})
            self.dashboards[config["slug"]] = {"id": existing["id"], "position_json": json.dumps(position),
                                               "json_metadata": json.dumps(config["metadata"])}

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
    return SupersetSettings(url=fake.url, username="admin", password="secret")


def test_publication_imports_the_bundle_in_dependency_order_with_overwrite(fake, config, settings):
    result = refresh_superset(config, settings, TABLES)
    calls = fake.calls()
    assert calls[:2] == [("POST", "/api/v1/security/login"), ("GET", "/api/v1/security/csrf_token/")]
    assert [kind for kind, _, _ in fake.imports] == list(IMPORT_ORDER)
    for _, fields, files in fake.imports:
        assert fields["overwrite"] == "true"
        (database,) = [f for n, f in files.items() if n.startswith("databases/")]
        assert database["sqlalchemy_uri"] == f"duckdb:///{settings.warehouse}?access_mode=read_only"
        assert database["allow_dml"] is False and database["expose_in_sqllab"] is False
        assert {f["schema"] for n, f in files.items() if n.startswith("datasets/")} == {"public"}
    assert set(result["dashboards"]) == set(SLUGS)
    n_charts = len(list((DECLARATIONS / "charts").glob("*.yaml")))
    assert len(result["charts"]) == len(set(result["charts"].values())) == n_charts
    writes = [r for r in fake.requests if r["method"] != "GET"][1:]  # after the login
    assert writes and all(r["headers"]["X-CSRFToken"] == CSRF for r in writes)


def test_native_filters_get_the_chart_ids_superset_gave(fake, config, settings):
    refresh_superset(config, settings, TABLES)
    for slug, dashboard in fake.dashboards.items():
        layout = json.loads(dashboard["position_json"])
        ids = {i["meta"]["chartId"] for i in layout.values() if isinstance(i, dict) and i.get("type") == "CHART"}
        for native_filter in json.loads(dashboard["json_metadata"])["native_filter_configuration"]:
            assert set(native_filter["chartsInScope"]) == ids - set(native_filter["scope"]["excluded"]), slug


def test_second_publication_sends_the_same_bundle_and_gets_the_same_ids(fake, config, settings):
    first = refresh_superset(config, settings, TABLES)
    n_imports = len(fake.imports)
    second = refresh_superset(config, settings, TABLES)
    assert second == first
    assert [files for _, _, files in fake.imports[n_imports:]] == [files for _, _, files in fake.imports[:n_imports]]


def test_only_public_tables_are_exposed(fake, config, settings):
    with pytest.raises(ValueError, match="only public"):
        refresh_superset(config, settings, ["marts.mart_indicator_values"])
    assert fake.calls() == []


def test_wrong_password_is_a_pipeline_failure(fake, settings):
    bad = SupersetSettings(url=fake.url, username="admin", password="wrong")
    with pytest.raises(PipelineFailure, match="401"):
        refresh_superset(bad, settings, TABLES)
    assert fake.calls() == [("POST", "/api/v1/security/login")]


def test_unreachable_superset_is_a_pipeline_failure(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PipelineFailure, match="svarer ikke"):
        refresh_superset(SupersetSettings(url=f"http://127.0.0.1:{port}", username="a", password="b"), settings, TABLES)


@pytest.mark.parametrize(
    "environ, expected",
    [({}, None), ({"HELSEDATA_SUPERSET_URL": ""}, None),
     ({"HELSEDATA_SUPERSET_URL": "http://x:8088/", "HELSEDATA_SUPERSET_USERNAME": "u",
       "HELSEDATA_SUPERSET_PASSWORD": "p"}, SupersetSettings("http://x:8088", "u", "p"))],
)
def test_config_from_environ(environ, expected):
    assert Settings.from_environ(environ).superset == expected


def test_config_without_credentials_is_refused():
    with pytest.raises(ConfigurationError, match="HELSEDATA_SUPERSET_PASSWORD"):
        Settings.from_environ({"HELSEDATA_SUPERSET_URL": "http://x", "HELSEDATA_SUPERSET_USERNAME": "u"})


@pytest.mark.parametrize("value", [
    {"filters": [{"col": "table_name", "opr": "eq", "value": "indicator_values"}]},
    {"a": "it's (odd)!", "b": [1, -2, True, None], "c": "2024", "d": ""},
])
def test_rison_round_trips(value):
    assert parse_rison(rison(value)) == value


# ---------------------------------------------------------------------------------------------
# A real Superset 6.1 (opt-in: HELSEDATA_SUPERSET_TEST=1, or its virtualenv exists)

SUPERSET_VENV = Path(os.environ.get("HELSEDATA_SUPERSET_VENV", "/tmp/superset-venv"))
REAL = os.environ.get("HELSEDATA_SUPERSET_TEST") == "1" or (SUPERSET_VENV / "bin" / "superset").exists()


def real(test):
    """A test against the real Superset. All of them share one Superset and one demo warehouse
    (module fixtures), so under xdist they run on one worker (``--dist loadgroup``)."""
    test = pytest.mark.skipif(not REAL, reason="real Superset test: set HELSEDATA_SUPERSET_TEST=1 and create its venv")(test)
    return pytest.mark.xdist_group("real_superset")(test)


@pytest.fixture(scope="module")
def real_superset(tmp_path_factory):
    """A Superset on 127.0.0.1 from its own virtualenv with the repository's configuration
    (or the one at HELSEDATA_SUPERSET_TEST_URL)."""
    url = os.environ.get("HELSEDATA_SUPERSET_TEST_URL")
    if url:
        yield SupersetSettings(url=url, username=os.environ.get("HELSEDATA_SUPERSET_USERNAME", "admin"),
                             password=os.environ.get("HELSEDATA_SUPERSET_PASSWORD", "admin"))
        return
    superset = SUPERSET_VENV / "bin" / "superset"
    if not superset.exists():
        pytest.skip(f"no Superset virtualenv at {SUPERSET_VENV} (see docs/publishing.md)")
    home = tmp_path_factory.mktemp("superset")
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(DECLARATIONS / "superset_config.py"),
           "FLASK_APP": "superset", "SUPERSET_SECRET_KEY": f"test-only-{os.getpid()}",
           "HELSEDATA_SUPERSET_HOME": str(home)}
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
        yield SupersetSettings(url=url, username="admin", password="admin")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def helsedata(*args: str, home: Path, environ: dict[str, str] | None = None) -> dict:
    """Run the real CLI (``python -m helsedata ... --json``) and return its JSON."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HELSEDATA_HOME": str(home), **(environ or {})}
    env = {k: v for k, v in env.items() if not k.startswith("HELSEDATA_SUPERSET_") or environ and k in environ}
    done = subprocess.run([sys.executable, "-m", "helsedata", *args, "--json"], check=False, env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def objects(session, url: str) -> dict[str, list[tuple]]:
    """Every database, dataset, chart and dashboard Superset holds (id and name)."""
    names = {"database": "database_name", "dataset": "table_name", "chart": "slice_name",
             "dashboard": "dashboard_title"}
    out = {}
    for kind, name in names.items():
        body = session.get(f"{url}/api/v1/{kind}/", params={"q": rison({"page_size": 100})}).json()
        out[kind] = sorted((o["id"], o[name]) for o in body["result"])
    return out


@pytest.fixture(scope="module")
def published(real_superset, tmp_path_factory):
    """A demo warehouse made by the real pipeline (ingestion, dbt, quality, labels, publication),
    then published into Superset twice with ``helsedata publish`` (quality gate included)."""
    import requests

    home = tmp_path_factory.mktemp("home")
    helsedata("run", "--demo", home=home)  # demo scale; runs the quality suites before publishing
    environ = {"HELSEDATA_SUPERSET_URL": real_superset.url,
               "HELSEDATA_SUPERSET_USERNAME": real_superset.username,
               "HELSEDATA_SUPERSET_PASSWORD": real_superset.password}
    session = requests.Session()
    session.headers["Referer"] = real_superset.url
    session.headers["Authorization"] = "Bearer " + session.post(
        f"{real_superset.url}/api/v1/security/login", json={
            "username": real_superset.username, "password": real_superset.password,
            "provider": "db", "refresh": True}).json()["access_token"]
    helsedata("quality", home=home)
    first = helsedata("publish", home=home, environ=environ)
    after_first = objects(session, real_superset.url)
    helsedata("quality", home=home)
    second = helsedata("publish", home=home, environ=environ)
    return {"first": first, "second": second, "after_first": after_first,
            "after_second": objects(session, real_superset.url), "session": session,
            "url": real_superset.url, "config": real_superset, "home": home}


@real
def test_real_second_publish_changes_nothing(published):
    first, second = published["first"], published["second"]
    assert first["gate"] == second["gate"] == "passed"
    assert first["superset"] == second["superset"]
    assert published["after_first"] == published["after_second"]
    everything = published["after_second"]
    assert sorted(t for _, t in everything["dashboard"]) == sorted(SLUGS.values())
    for kind, items in everything.items():
        assert len({name for _, name in items}) == len(items), f"duplicate {kind}: {items}"
    assert len(everything["chart"]) == len(list((DECLARATIONS / "charts").glob("*.yaml")))


def metric_values(form_data: dict, result: dict) -> list:
    """The values a chart draws: every cell outside its dimension columns (x axis, group-by)
    that is not NULL or empty. A raw table has no dimensions: all its cells count."""
    dimensions = set() if form_data.get("query_mode") == "raw" else {
        form_data.get("x_axis"), *form_data.get("groupby", [])}
    columns = [c for c in result["colnames"] if c not in dimensions]
    return [row[c] for row in result["data"] for c in columns if row[c] not in (None, "")]


@real
def test_real_every_chart_of_every_dashboard_answers_with_rows_and_values(published):
    """Rows are not enough: a bar chart whose every bar is suppressed answers with rows of NULL
    and shows an empty frame."""
    session, url = published["session"], published["url"]
    for slug, dashboard_id in published["second"]["superset"]["dashboards"].items():
        charts = session.get(f"{url}/api/v1/dashboard/{dashboard_id}/charts").json()["result"]
        assert charts, slug
        for chart in charts:
            answer = session.get(f"{url}/api/v1/chart/{chart['id']}/data/")
            assert answer.status_code == 200, (slug, chart["slice_name"], answer.text[:500])
            (result,) = answer.json()["result"]
            assert result.get("error") is None, (slug, chart["slice_name"], result["error"])
            assert result["rowcount"] > 0 and result["data"], (slug, chart["slice_name"], "no rows")
            form_data = json.loads(session.get(f"{url}/api/v1/chart/{chart['id']}").json()["result"]["params"])
            assert metric_values(form_data, result), (slug, chart["slice_name"], "every value is NULL", result["data"][:5])


@real
def test_real_suppressed_cells_show_the_symbol_never_a_number(published):
    session, url = published["session"], published["url"]
    chart_id = published["second"]["superset"]["charts"]["vft_kommuner"]
    rows = session.get(f"{url}/api/v1/chart/{chart_id}/data/").json()["result"][0]["data"]
    counts = [r["mottakere_tekst"] for r in rows]
    assert ":" in counts
    shown = [int(c.replace("\u00a0", "")) for c in counts if c not in (":", "")]
    assert shown and not any(1 <= n <= 5 for n in shown)


@real
def test_real_database_is_read_only_and_shows_only_public_tables(published):
    session, url = published["session"], published["url"]
    superset = published["second"]["superset"]
    database = session.get(f"{url}/api/v1/database/{superset['database_id']}/connection").json()["result"]
    assert database["allow_dml"] is False and database["expose_in_sqllab"] is False
    assert database["sqlalchemy_uri"] == f"duckdb:///{published['home'].resolve() / 'warehouse.duckdb'}?access_mode=read_only"
    for dataset_id in superset["datasets"].values():
        dataset = session.get(f"{url}/api/v1/dataset/{dataset_id}").json()["result"]
        assert dataset["schema"] == "public" and not dataset["sql"]


@pytest.fixture(scope="module")
def shots(published, tmp_path_factory):
    """Every dashboard in headless Chromium, logged in (PNGs in the test's tmp dir)."""
    from dashboards.screenshots import screenshot_dashboards

    config = published["config"]
    return screenshot_dashboards(config.url, config.username, config.password, tmp_path_factory.mktemp("shots"))


@real
def test_real_dashboards_render_in_chromium_without_errors(shots):
    assert [s.slug for s in shots] == list(SLUGS)
    for shot in shots:
        assert shot.errors() == [], (shot.slug, shot.errors(), shot.png)
        assert SLUGS[shot.slug] in shot.text
        assert shot.png.stat().st_size > 50_000  # a rendered page, not an empty one
    strategy = next(s for s in shots if s.slug == "strategistatus").text
    assert re.search(r"\d\u00a0\d{3}", strategy)  # Norwegian thousands: "1 335"
    assert re.search(r"\d+,\d\u00a0%", strategy)  # and "27,0 %"


@real
def test_real_big_numbers_show_the_status_colour_of_public_indicator_status(published, shots):
    """Each Strategistatus big number is drawn in the traffic-light colour its indicator has in
    public.indicator_status (the status table's source), readable (WCAG AA) on its background,
    with the status and the published target under it."""
    import duckdb

    session, url = published["session"], published["url"]
    with duckdb.connect(str(published["home"] / "warehouse.duckdb"), read_only=True) as con:
        status = {i: (s, suppressed, t) for i, s, suppressed, t in con.execute(
            "select indicator_id, status, suppressed, target from public.indicator_status where breakdown_code = 'alle'"
        ).fetchall()}
    charts = {key[len("status_"):]: chart_id for key, chart_id in published["second"]["superset"]["charts"].items()
              if key.startswith("status_") and key != "status_tabell"}
    (strategy,) = [s for s in shots if s.slug == "strategistatus"]
    drawn = {b.chart_id: b for b in strategy.big_numbers}
    assert set(drawn) == set(charts.values()), (drawn, charts)
    coloured = 0
    for indicator_id, chart_id in charts.items():
        code, suppressed, target = status[indicator_id]
        expected = None if suppressed else STATUS_COLOURS.get(code)
        params = json.loads(session.get(f"{url}/api/v1/chart/{chart_id}").json()["result"]["params"])
        rules = params["conditional_formatting"]
        assert [r["colorScheme"] for r in rules] == ([expected] if expected else []), (indicator_id, code, rules)
        if code in STATUS_TEXTS and not suppressed:  # "Rød · Mål: …" (the table's "Rød – bak mål og trend")
            assert params["subtitle"].startswith(STATUS_TEXTS[code].split(" – ")[0] + " · "), (indicator_id, params["subtitle"])
        target_shown = f"{target * 100:.0f}\u00a0%" if target < 1 else f"{target:,.0f}".replace(",", "\u00a0")
        assert f"Mål: {target_shown} innen" in params["subtitle"], (indicator_id, params["subtitle"])
        number = drawn[chart_id]
        assert number.text.strip(), indicator_id
        if expected:
            coloured += 1
            assert rgb(number.colour) == rgb(expected), (indicator_id, code, number)
        assert contrast_ratio(number.colour, number.background) >= 4.5, (indicator_id, number)
    assert coloured, "no big number has a status colour at demo scale"
