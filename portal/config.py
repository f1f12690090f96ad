"""The portal's settings, read once from the environment (``HELSEDATA_*``) when it starts.

``HELSEDATA_SECURE_COOKIES=1``
    Mark cookies ``Secure`` even when the request reaches the portal as plain HTTP (TLS ends at
    a proxy that does not send ``X-Forwarded-Proto``). Requests that arrive as ``https`` get
    ``Secure`` cookies anyway.
``HELSEDATA_PORTAL_SECRET``
    Key that signs the short-lived OIDC login-state cookie; random per start when unset (a
    restart then only interrupts logins in progress).
``HELSEDATA_OIDC_ISSUER``, ``HELSEDATA_OIDC_CLIENT_ID``, ``HELSEDATA_OIDC_CLIENT_SECRET``
    Turn on OIDC login (HelseID, Feide, ID-porten or any OpenID Connect provider) when all three
    are set. ``HELSEDATA_OIDC_NAME`` is the provider's name on the login button (default
    "OIDC"), ``HELSEDATA_OIDC_SCOPE`` the scopes (default ``openid profile``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    name: str = "OIDC"
    scope: str = "openid profile"

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class PortalConfig:
    secure_cookies: bool = False
    secret: str = ""
    oidc: OidcConfig | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> PortalConfig:
        """The portal's knobs from the environment the settings were read from (``Settings.environ``)."""
        oidc = None
        if all(env.get(f"HELSEDATA_OIDC_{k}") for k in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET")):
            oidc = OidcConfig(env["HELSEDATA_OIDC_ISSUER"], env["HELSEDATA_OIDC_CLIENT_ID"],
                              env["HELSEDATA_OIDC_CLIENT_SECRET"], env.get("HELSEDATA_OIDC_NAME", "OIDC"),
                              env.get("HELSEDATA_OIDC_SCOPE", "openid profile"))
        return cls(secure_cookies=env.get("HELSEDATA_SECURE_COOKIES", "") in ("1", "true", "yes"),
                   secret=env.get("HELSEDATA_PORTAL_SECRET") or secrets.token_urlsafe(32), oidc=oidc)
