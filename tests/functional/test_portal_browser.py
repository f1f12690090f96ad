"""The portal in a real headless browser (Playwright driving Debian's chromium) against a real server.

Covers the researcher and reviewer journey end to end, that pages need login, that roles and
CSRF tokens are enforced on the server, self-review, lockout, and axe-core on every page (no
serious or critical violation). Screenshots go to ``$HELSEDATA_SCREENSHOTS`` when set (the
README's images in docs/img/ are made that way), else to a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import httpx
import pytest

from portal.accounts import MAX_FAILED_LOGINS
from privacy.catalogue import get_dataset, public_years
from tests.functional.portal_server import CHROMIUM, CHROMIUM_ARGS, PASSWORD, running_portal, text

playwright = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
#: Every full page the portal renders (partials start with "_").
PAGES = {p.name for p in TEMPLATES.glob("*.html") if not p.name.startswith("_") and p.name != "base.html"}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with running_portal(tmp_path_factory.mktemp("home")) as p:
        yield p


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, portal):
    context = browser.new_context(base_url=portal.url, locale="nb-NO", viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("HELSEDATA_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Checked:
    """Runs axe-core on a page, keeps a screenshot, and remembers which templates were checked."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.pages, self.axe = folder, set(), axe_module.Axe()

    def __call__(self, page, shot: str | None = None) -> None:
        name = page.locator('meta[name="helsedata-page"]').get_attribute("content")
        result = self.axe.run(page)
        bad = [(v["id"], v["impact"], v["help"]) for v in result.response["violations"]
               if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {bad}"
        self.pages.add(name)
        if shot:
            page.screenshot(path=str(self.folder / f"{shot}.png"), full_page=True)


@pytest.fixture(scope="module")
def checked(screenshots) -> Checked:
    return Checked(screenshots)


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def logout(page) -> None:
    page.click("text=Logg ut")
    assert "/login" in page.url


def apply_in_browser(page, title: str, epsilon: str = "1") -> str:
    page.goto("/soknader/ny")
    page.fill("#title", title)
    page.fill("#purpose", "Hvem får trygghetsalarm, og hvor raskt?")
    page.select_option("#purpose_category", "e")
    page.fill("#legal_basis", "GDPR art. 6 nr. 1 e og art. 9 nr. 2 j; helseregisterloven § 19")
    page.fill("#ethics_approval", "REK 2026/12345")
    page.check("#ds-vft_mottakere")
    page.fill("#epsilon", epsilon)
    page.fill("#duration_months", "18")
    page.fill("#dpo_contact", "personvern@example.no")
    page.click("text=Send søknad")
    match = re.search(r"/soknader/(A\d+)", page.url)
    assert match, text(page)
    return match.group(1)


@pytest.mark.parametrize("path", ["/oversikt", "/katalog", "/soknader/ny", "/soknader/A000001", "/behandling",
                                  "/logg", "/tillatelser/P000001", "/resultater/R000001", "/resultater/R000001.csv"])
def test_pages_need_login(page, path):
    page.goto(path)
    assert page.url.endswith(f"/login?next={path}")
    assert page.locator("h1").inner_text() == "Logg inn"


def test_researcher_and_reviewer_journey(page, portal, checked):
    page.goto("/login")
    checked(page, "innlogging")
    login(page, "kari")
    assert page.url.endswith("/oversikt")
    cookie = next(c for c in page.context.cookies() if c["name"] == "helsedata_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http on loopback
    checked(page, "oversikt-tom")

    page.goto("/katalog")
    years = public_years(dt.date.today())
    bound = get_dataset("vft_mottakere").rows_per_person
    assert "vft_mottakere" in text(page) and f"{years[0]}–{years[-1]}" in text(page)
    assert f"høyst {bound} rader per person" in text(page)
    assert "urn:helsedata:dataset:room:vft_mottakere" in text(page)  # the identifiers of the DCAT catalogue
    dcat = page.request.get("/katalog/dcat.ttl")  # the catalogue behind the link, with the session's cookie
    assert dcat.ok and "urn:helsedata:dataset:room:vft_mottakere" in dcat.text() and "dcat:Dataset" in dcat.text()
    checked(page, "katalog")
    page.goto("/soknader/ny")
    checked(page, "soknad-ny")
    application_id = apply_in_browser(page, "Trygghetsalarm i kommunene")
    assert "Søknaden er sendt til behandling." in text(page) and "til behandling" in text(page)
    assert "REK 2026/12345" in text(page) and "e) Vitenskapelig forskning" in text(page)
    checked(page, "soknad")
    logout(page)

    login(page, "ola")
    page.goto("/behandling")
    assert application_id in text(page) and "Trygghetsalarm i kommunene" in text(page)
    checked(page, "behandling-ko")
    page.click(f"text={application_id}")
    checked(page, "behandling-soknad")
    page.fill("#epsilon", "1/2")
    page.fill("#expires", "2027-06-30")
    page.click("text=Godkjenn og opprett tillatelse")
    assert "Søknaden er godkjent" in text(page)
    permit_id = re.search(r"P\d{6}", text(page)).group(0)
    checked(page, "behandling-godkjent")
    logout(page)

    login(page, "kari")
    assert permit_id in text(page) and "1/2 (≈ 0,5)" in text(page)
    page.click(f"text={permit_id}")
    checked(page, "tillatelse")
    page.check("#by-kjonn")
    page.check("#by-aldersgruppe")
    page.fill("#epsilon", "1/4")
    page.click("text=Forhåndsvis nøyaktighet")
    assert "ingenting er brukt" in text(page) and re.search(r"± \d", text(page))
    assert "Igjen ε = 1/2 (≈ 0,5)" in text(page).replace("\n", " ").replace("\t", " ")
    checked(page, "forhandsvisning")
    page.click("text=Kjør spørringen")
    assert "/resultater/R" in page.url
    body = text(page)
    assert re.search(r"Nøyaktighet \(95 %\)\s+± \d+ per celle", body), body
    assert "1/4 (≈ 0,25)" in body and "80+" in body
    assert not re.search(r"\d\.\d", body.split("Støyede verdier")[-1]), "decimals must use a comma"
    checked(page, "resultat")
    with page.expect_download() as download:
        page.click("text=Last ned som CSV")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0] == "kjonn;aldersgruppe;count" and len(csv_text.splitlines()) == 1 + 2 * 5

    page.goto(f"/tillatelser/{permit_id}")
    budget = text(page).replace("\t", " ")
    assert "Brukt ε = 1/4 (≈ 0,25)" in budget.replace("\n", " ") and "Igjen ε = 1/4 (≈ 0,25)" in budget.replace("\n", " ")
    page.check("#stat-mean")
    page.select_option("#column", "alder")
    page.fill("#lower", "0")
    page.fill("#upper", "120")
    page.fill("#epsilon", "1")
    with page.expect_response(lambda r: r.url.endswith("/sporring")) as info:
        page.click("text=Kjør spørringen")
    assert info.value.status == 409 and "1/4" in page.inner_text(".feil")  # more than is left: the room refuses
    page.goto("/logg")
    trail = text(page)
    assert "godkjent" in trail and "ola" in trail and "spørring" in trail and "søknad sendt" in trail
    checked(page, "logg")
    logout(page)

    # the reviewer revokes; the researcher's next query is refused by the room
    login(page, "ola")
    page.goto("/behandling")
    page.fill(f"#reason-{permit_id}", "Prosjektet er avsluttet")
    page.click(f"text=Trekk tilbake {permit_id}")
    assert "Tillatelsen er trukket tilbake." in text(page)
    logout(page)
    login(page, "kari")
    page.goto(f"/tillatelser/{permit_id}")
    assert "trukket tilbake" in text(page)
    page.fill("#epsilon", "0,01")  # decimal comma: read, then refused by the room (409, not 422)
    with page.expect_response(lambda r: r.url.endswith("/sporring")) as info:
        page.click("text=Kjør spørringen")
    assert info.value.status == 409 and page.inner_text(".feil")
    page.goto("/behandling")
    assert page.locator("h1").inner_text() == "Ingen tilgang"
    checked(page, "ingen-tilgang")
    assert PAGES <= checked.pages, f"pages never checked by axe: {PAGES - checked.pages}"


def test_rejection_reaches_the_researcher(page):
    login(page, "per")
    application_id = apply_in_browser(page, "Legevakt og fastlege")
    logout(page)
    login(page, "ola")
    page.goto(f"/behandling/{application_id}")
    page.fill("#reason", "Mangler forhåndsgodkjenning fra REK")
    page.click("text=Avslå søknaden")
    assert "Søknaden er avslått." in text(page)
    logout(page)
    login(page, "per")
    page.goto(f"/soknader/{application_id}")
    assert "avslått" in text(page) and "Mangler forhåndsgodkjenning fra REK" in text(page)


def test_researcher_cannot_open_reviewer_pages(page, portal):
    login(page, "per")
    application_id = apply_in_browser(page, "Egen søknad")
    for path in ("/behandling", f"/behandling/{application_id}"):
        response = page.goto(path)
        assert response.status == 403 and page.locator("h1").inner_text() == "Ingen tilgang"
    # even with a valid CSRF token of her own session, the server refuses the decision
    page.goto("/oversikt")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    r = page.request.post(f"/behandling/{application_id}", form={"csrf_token": token, "decision": "approve"})
    assert r.status == 403
    page.goto(f"/soknader/{application_id}")
    assert "til behandling" in text(page)
    # and another researcher's application does not exist for her
    login(page, "kari")
    assert page.goto(f"/soknader/{application_id}").status == 404


def test_post_without_csrf_token_is_refused(page, portal):
    login(page, "kari")
    form = {"title": "Uten CSRF", "purpose": "p", "purpose_category": "e", "legal_basis": "l",
            "ethics_approval": "REK 1", "datasets": "vft_mottakere", "epsilon": "1", "duration_months": "6",
            "dpo_contact": "a@example.no"}
    for extra in ({}, {"csrf_token": "forfalsket"}):
        r = page.request.post("/soknader", form={**form, **extra})
        assert r.status == 403 and "sikkerhetskode" in r.text()
    page.goto("/oversikt")
    assert "Uten CSRF" not in text(page)
    # the login form has its own token: a cross-site login attempt is refused too
    r = httpx.post(portal.url + "/login", data={"username": "kari", "password": PASSWORD})
    assert r.status_code == 403


def test_self_review_is_refused(page, portal):
    login(page, "admin")
    application_id = apply_in_browser(page, "Administratorens egen søknad")
    page.goto(f"/behandling/{application_id}")
    assert "Dette er din egen søknad" in text(page)
    with page.expect_response(lambda r: r.url.endswith(f"/behandling/{application_id}")) as info:
        page.click("text=Godkjenn og opprett tillatelse")
    assert info.value.status == 409 and page.inner_text(".feil")  # the room's refusal, shown on the page
    page.goto(f"/soknader/{application_id}")
    assert "til behandling" in text(page)


def test_lockout_after_failed_logins(page):
    for _ in range(MAX_FAILED_LOGINS):
        login(page, "eier", "feil passord hver gang")
        assert "feil brukernavn eller passord" in text(page)
    login(page, "eier")
    assert "/login" in page.url and "låst" in text(page)
    assert page.goto("/katalog").url.endswith("/login?next=/katalog")


def test_cookies_are_secure_behind_tls(portal):
    """A request that reached a TLS proxy on loopback (X-Forwarded-Proto: https) gets Secure cookies."""
    plain = httpx.get(portal.url + "/login")
    tls = httpx.get(portal.url + "/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "secure" in tls.headers["set-cookie"].lower() and "httponly" in tls.headers["set-cookie"].lower()
    assert "script-src 'none'" in tls.headers["content-security-policy"]
