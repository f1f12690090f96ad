"""The published report pages, built by the real platform and looked at in a real headless Chromium.

One demo platform per module: ``helsedata run --demo`` (demo data → ingest → dbt build → quality →
labels → publish), then ``helsedata quality`` and ``helsedata publish`` again as an operator would,
so the pages under test come from a publication the real quality gate let through.

Chromium is Debian's ``/usr/bin/chromium``, driven by Playwright (never a downloaded browser);
axe-core comes with axe-playwright-python. Screenshots of every page are kept in the test's tmp
folder (``pytest --basetemp=DIR`` keeps them where you want them).
"""

from __future__ import annotations

import io
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from helsedata.cli import main
from ingestion.testing import TEST_KEY_HEX
from kernel.codelists import read_seed
from kernel.formats import format_number, format_scale
from tests.bokmal import english_words

pytestmark = pytest.mark.slow

#: Demo scale of the module's platform: small enough to be quick, big enough for kommune charts.
SCALE = 0.002
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
REGISTRY_PAGES = tuple(f"registre/{r['register'].lower()}.html" for r in read_seed("codelist_register"))
PAGES = ("indicators.html", "quality.html", *REGISTRY_PAGES)


@dataclass(frozen=True)
class Platform:
    home: Path
    publish_stdout: str

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql).fetchall()


def _cli(*args: str, home: Path) -> tuple[int, str]:
    """``helsedata ARGS`` in ``home``, with a fixed pseudonymisation key: ``--demo`` would otherwise
    make a random key per home, split kommuner would allocate persons differently, and every run
    of this module would hide different cells (docs/publishing.md#determinism)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args), environ={"HELSEDATA_HOME": str(home), "HELSEDATA_PSEUDONYM_KEY": TEST_KEY_HEX})
    assert code == 0, f"helsedata {' '.join(args)} exited {code}: {err.getvalue()[-2000:]}"
    return code, out.getvalue()


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Platform:
    home = tmp_path_factory.mktemp("platform")
    _cli("run", "--demo", "--scale", str(SCALE), "--json", home=home)
    _cli("quality", "--json", home=home)  # the real gate reads this run
    _, stdout = _cli("publish", home=home)
    return Platform(home, stdout)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, platform, tmp_path):
    """Open a report page as a reader would (from the file) and keep a full-page screenshot."""
    pages = []

    def open_(name: str, width: int = 1280, height: int = 900):
        page = browser.new_page(viewport={"width": width, "height": height})
        pages.append(page)
        page.goto((platform.reports / name).as_uri())
        page.screenshot(path=tmp_path / (name.replace("/", "_") + ".png"), full_page=True)
        return page

    yield open_
    for page in pages:
        page.close()


def visible_text(page) -> str:
    """The page's visible text without identifiers (<code>), whitespace normalised."""
    text = page.evaluate("""() => {
        const body = document.body.cloneNode(true);
        body.querySelectorAll('code, svg').forEach(e => e.remove());
        body.querySelectorAll('details').forEach(d => d.setAttribute('open', ''));
        return body.textContent; }""")
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " "))


# --------------------------------------------------------------------------------------- publish


def test_publish_prints_where_the_pages_are(platform):
    out = platform.publish_stdout
    assert f"Rapport: {platform.reports / 'indicators.html'}" in out
    assert f"Registersider ({len(REGISTRY_PAGES)}): {platform.reports / 'registre'}" in out
    for name in PAGES:
        assert (platform.reports / name).is_file(), name


def test_pages_are_self_contained(platform):
    for name in PAGES:
        text = (platform.reports / name).read_text(encoding="utf-8")
        ids = re.findall(r'\sid="([^"]+)"', text)
        assert len(ids) == len(set(ids)), f"{name}: ids repeat"
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), name
        assert "<script" not in text and "@import" not in text, name
        assert not re.search(r"url\((?!#)", text), name  # only references inside the page (SVG clip paths)


# --------------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_in_chromium_says_demodata_and_passes_axe(name, open_page):
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(name)
    assert page.locator("h1").first.is_visible()
    notice = page.locator("p.demo")
    assert notice.is_visible()
    assert f"demodata, skala {format_scale(SCALE)}" in notice.inner_text().replace("\u00a0", "\u202f")
    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations
               if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_in_bokmal(name, open_page):
    text = visible_text(open_page(name))
    assert english_words(text) == [], english_words(text, context=60)[:5]
    assert not re.search(r"\d\.\d", re.sub(r"\d{1,2}\.\d{1,2}\.\d{4}", "", text)), "decimal points"


@pytest.mark.parametrize("name", ("indicators.html", *REGISTRY_PAGES))
def test_every_chart_has_a_text_alternative_and_its_table(name, open_page):
    page = open_page(name)
    figures = page.locator("figure.chart")
    assert figures.count() >= 1
    for i in range(figures.count()):
        figure = figures.nth(i)
        svg = figure.locator("svg[role=img]")
        assert svg.count() == 1 and svg.bounding_box()["width"] > 100
        assert svg.locator("path").count() > 3  # marks were drawn
        alt = page.locator(f"#{svg.get_attribute('aria-labelledby')}")
        assert len(alt.inner_text()) > 40
        details = figure.locator("details")
        details.locator("summary").click()
        assert details.locator("table tbody tr").count() >= 1
        assert details.locator("table").is_visible()


# --------------------------------------------------------------------------------------- summary


def test_first_screen_says_how_each_goal_stands(open_page):
    page = open_page("indicators.html", width=1280, height=900)
    goals = page.locator("table.goals tbody tr")
    assert goals.count() == 5
    for i in range(5):
        row = goals.nth(i)
        assert row.is_visible() and row.bounding_box()["y"] + row.bounding_box()["height"] < 900
        assert row.locator("th").inner_text().startswith(f"Mål {i + 1}:")
    assert page.locator("table.goals .light").count() >= 2  # goals with indicators have a light
    # each goal with indicators: value, target, status, trend chart and comment per indicator
    summary = page.locator("table.summary").first
    assert summary.locator(":scope > thead").inner_text().split() == ["Målindikator", "Siste", "verdi", "Mål", "Status",
                                                            "Utvikling", "Kommentar"]
    assert summary.locator("td.spark svg[role=img]").count() >= 3


def test_summary_shows_the_worst_registry_and_names_it(platform, open_page):
    rows = platform.query("select breakdown_code, status from public.indicator_status "
                          "where indicator_id = 'register_rettidighet' and breakdown_code <> 'alle'")
    assert len(rows) == len(REGISTRY_PAGES)
    rank = {"red": 3, "yellow": 2, "green": 1}
    worst = max(rank.get(s, 0) for _, s in rows)
    names = {r["register"]: r["navn"] for r in read_seed("codelist_register")}
    worst_names = sorted(names[code] for code, s in rows if rank.get(s, 0) == worst)
    word = {3: "Rød", 2: "Gul", 1: "Grønn"}[worst]

    page = open_page("indicators.html")
    row = page.locator("table.summary tr", has=page.locator("a[href='#register_rettidighet']"))
    status = row.locator("td").nth(2).inner_text()
    assert status.startswith(word)
    named = (f"Alle {len(rows)} er {word.lower()}e" if len(worst_names) == len(rows)
             else f"Svakest av {len(rows)}: {', '.join(worst_names)}")
    assert named in status
    section = page.locator("#register_rettidighet table.group-status tbody tr")
    assert section.count() == len(rows)  # every registry's own light in the section


def test_demo_targets_counting_persons_are_scaled(platform, open_page):
    targets = dict(platform.query("select indicator_id, target from public.indicator_status "
                                  "where breakdown_code = 'alle' and target is not null"))
    assert targets["vft_mottakere"] == pytest.approx(150_000 * SCALE)
    assert targets["vkp_kommuner"] == 150  # kommuner are not scaled
    assert targets["digital_konsultasjon_andel"] == pytest.approx(0.25)  # nor shares

    page = open_page("indicators.html")
    cell = page.locator("table.summary tr", has=page.locator("a[href='#vft_mottakere']")).locator("td").nth(1)
    text = cell.inner_text()
    assert text.startswith(format_number(150_000 * SCALE) + " innen 2025")
    assert f"{format_number(150_000)} for hele landet × skala {format_scale(SCALE)}" in text


def test_indicator_charts_trend_fylker_and_kommuner(open_page):
    page = open_page("indicators.html")
    section = page.locator("#vft_mottakere")
    assert section.locator("#vft_mottakere-trend svg").is_visible()
    # the fylke comparison and the kommune spread, or (when joint disclosure control hides nearly
    # every value at a tiny demo scale) a sentence that says so: never a silently missing chart
    hidden = section.locator("#vft_mottakere-fylker-skjult")
    for chart, level in (("vft_mottakere-fylker", "fylkestall"), ("vft_mottakere-kommuner", "kommunetall")):
        assert section.locator(f"#{chart} svg").is_visible() or (
            hidden.count() and level in hidden.inner_text() and "skjult av personvernhensyn" in hidden.inner_text()), chart
    if section.locator("#vft_mottakere-kommuner svg").count():
        spread = page.locator("#vft_mottakere-kommuner-alt").inner_text()
        assert re.search(r"\d+ kommuner med tall skjult av personvernhensyn er utelatt|Ingen kommuner er utelatt", spread)


def test_report_never_shows_an_exact_person_count(platform):
    exact = [n for (n,) in platform.query(
        "select numerator from marts.mart_indicator_values where indicator_id = 'vft_mottakere' "
        "and geo_level = 'nasjonal'") if int(n) % 5]
    assert exact
    text = (platform.reports / "indicators.html").read_text(encoding="utf-8")
    for n in exact:
        assert f">{format_number(n)}<" not in text


# --------------------------------------------------------------------------------------- registries


def test_registry_pages_are_linked_and_list_units_below_threshold_by_missing_deliveries(platform, open_page):
    page = open_page("indicators.html")
    links = page.locator("section[aria-labelledby=registrene] tbody a")
    assert sorted(links.nth(i).get_attribute("href") for i in range(links.count())) == sorted(REGISTRY_PAGES)

    [(latest,)] = platform.query(
        "select max(periode) from public.registry_reporting_coverage where register = 'DAR'")
    expected = platform.query(
        "select count(*) from public.registry_reporting_coverage where register = 'DAR' "
        f"and periode = '{latest}' and below_threshold")[0][0]
    assert expected > 0
    page = open_page("registre/dar.html")
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() == expected
    missing = [int(rows.nth(i).locator("td").nth(3).inner_text().replace("\u202f", "")) for i in range(rows.count())]
    assert missing == sorted(missing, reverse=True)
    names = [rows.nth(i).locator("th").inner_text() for i in range(rows.count())]
    kommuner = {r["kommunenavn"] for r in read_seed("kommuner_2024")}
    assert set(names) <= kommuner  # every unit of a kommune registry is named


def test_quality_report_is_in_bokmal_with_norwegian_numbers(open_page):
    page = open_page("quality.html")
    assert page.locator("h1").inner_text() == "Datakvalitet"
    labels = {page.locator("#summary .label").nth(i).inner_text() for i in range(page.locator("#summary .label").count())}
    assert labels and labels <= {"bronse", "sølv", "gull", "platina"}


def test_reported_figures_are_shown_as_reported_with_their_source(open_page):
    """A figure entered from the strategy's own reports is never passed off as computed."""
    text = open_page("indicators.html").locator("main").inner_text()
    assert "Rapportert tall (ikke beregnet av plattformen)" in text
    assert "rapportert av Direktoratet for e-helse" in text and "283" in text  # data-access applications 2022 (seed 003)
