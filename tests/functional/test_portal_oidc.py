"""OIDC login against a local OpenID provider (oidc-provider-mock, itself built on Authlib) in a real browser.

The provider runs on loopback in this process; the portal (a real ``helsedata serve``) is pointed
at it with ``HELSEDATA_OIDC_*``. The browser goes portal → provider's authorisation form →
portal callback, where Authlib checks the signed ID token and the portal matches ``issuer|sub``
to an account made with ``helsedata users add --oidc-subject``.
"""

from __future__ import annotations

import io
import sys

import pytest

from helsedata.cli import main
from tests.functional.portal_server import CHROMIUM, CHROMIUM_ARGS, running_portal, text

oidc_provider_mock = pytest.importorskip("oidc_provider_mock")
playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def provider():
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="module")
def portal(tmp_path_factory, provider):
    env = {"HELSEDATA_OIDC_ISSUER": provider, "HELSEDATA_OIDC_CLIENT_ID": "helsedata",
           "HELSEDATA_OIDC_CLIENT_SECRET": "hemmelig", "HELSEDATA_OIDC_NAME": "Testleverandør"}
    with running_portal(tmp_path_factory.mktemp("home"), env) as p:
        yield p


@pytest.fixture
def page(portal):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser.new_context(base_url=portal.url).new_page()
        browser.close()


def add_oidc_user(portal, username: str, subject: str, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = main(["users", "add", username, "--role", "researcher", "--oidc-subject", subject],
                environ={"HELSEDATA_HOME": str(portal.settings.home)})
    assert code == 0


def login_at_provider(page, sub: str) -> None:
    page.goto("/login")
    page.click("text=Logg inn med Testleverandør")
    page.fill("input[name=sub][type=text]", sub)
    page.click("button:has-text('Authorize')")


def test_oidc_login_maps_the_subject_to_a_portal_account(page, portal, provider, monkeypatch):
    add_oidc_user(portal, "siri", f"{provider}|siri@example.no", monkeypatch)
    login_at_provider(page, "siri@example.no")
    assert page.url.endswith("/oversikt"), text(page)
    assert "siri (forsker)" in page.inner_text("header")
    cookie = next(c for c in page.context.cookies() if c["name"] == "helsedata_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_oidc_identity_without_an_account_gets_no_access(page, portal):
    login_at_provider(page, "ukjent@example.no")
    assert "ingen aktiv portalkonto" in text(page)
    assert page.goto(portal.url + "/oversikt").url.endswith("/login?next=/oversikt")
