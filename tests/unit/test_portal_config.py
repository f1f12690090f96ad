"""The portal's settings from the environment: OIDC only when fully configured, Secure cookies on request."""

import pytest

from portal.config import PortalConfig

OIDC = {"HELSEDATA_OIDC_ISSUER": "https://helseid-sts.test.nhn.no", "HELSEDATA_OIDC_CLIENT_ID": "helsedata",
        "HELSEDATA_OIDC_CLIENT_SECRET": "s"}


def test_oidc_needs_issuer_client_id_and_secret():
    config = PortalConfig.from_environ({**OIDC, "HELSEDATA_OIDC_NAME": "HelseID"})
    assert config.oidc.metadata_url == "https://helseid-sts.test.nhn.no/.well-known/openid-configuration"
    assert config.oidc.name == "HelseID" and config.oidc.scope == "openid profile"
    for missing in OIDC:
        assert PortalConfig.from_environ({k: v for k, v in OIDC.items() if k != missing}).oidc is None


@pytest.mark.parametrize("value,secure", [("1", True), ("true", True), ("", False), ("0", False)])
def test_secure_cookies_setting(value, secure):
    assert PortalConfig.from_environ({"HELSEDATA_SECURE_COOKIES": value}).secure_cookies is secure


def test_the_login_state_secret_is_random_unless_set():
    assert PortalConfig.from_environ({}).secret != PortalConfig.from_environ({}).secret
    assert PortalConfig.from_environ({"HELSEDATA_PORTAL_SECRET": "x" * 40}).secret == "x" * 40
