"""OIDC login (HelseID, Feide, ID-porten, …) with Authlib, on when ``HELSEDATA_OIDC_*`` is set.

Flow: ``/login/oidc`` redirects to the provider (authorisation code flow with PKCE, state and
nonce kept in a signed, short-lived cookie); ``/login/oidc/callback`` exchanges the code, and
Authlib checks the ID token's signature (the provider's JWKS), issuer, audience, expiry and
nonce. The person is then matched to a portal account by ``issuer|sub`` — set with
``helsedata users add NAME --role ROLE --oidc-subject 'ISSUER|SUB'`` — so roles stay in the portal
and a provider account without a portal account gets no access. A matched login gets the same
server-side session as a password login.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from portal import accounts
from portal.config import PortalConfig

#: Seconds a login may take at the provider before its state cookie expires.
LOGIN_STATE_SECONDS = 600


def install(app: FastAPI, config: PortalConfig) -> None:
    """Register the provider and the two routes on ``app``."""
    from authlib.integrations.starlette_client import OAuth, OAuthError

    from portal.pages import login_form, start_browser_session
    from portal.web import settings_of

    if config.oidc is None:
        raise ValueError("OIDC is not configured (HELSEDATA_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET)")
    provider_name = config.oidc.name
    app.add_middleware(SessionMiddleware, secret_key=config.secret, session_cookie="helsedata_oidc",
                       max_age=LOGIN_STATE_SECONDS, same_site="lax", https_only=config.secure_cookies)
    oauth = OAuth()
    oauth.register("provider", server_metadata_url=config.oidc.metadata_url, client_id=config.oidc.client_id,
                   client_secret=config.oidc.client_secret,
                   client_kwargs={"scope": config.oidc.scope, "code_challenge_method": "S256"})

    @app.get("/login/oidc")
    async def oidc_login(request: Request) -> Response:
        return await oauth.provider.authorize_redirect(request, str(request.url_for("oidc_callback")))

    @app.get("/login/oidc/callback", name="oidc_callback")
    async def oidc_callback(request: Request) -> Response:
        def refused(message: str) -> Response:
            return login_form(request, 403, error=message)

        try:
            token = await oauth.provider.authorize_access_token(request)
        except OAuthError as e:
            return refused(f"innloggingen hos {provider_name} feilet: {e.error}")
        claims = token.get("userinfo") or {}
        subject = f"{claims.get('iss')}|{claims.get('sub')}"
        user = await run_in_threadpool(accounts.user_for_oidc, settings_of(request), subject)
        if user is None:
            return refused(f"ingen aktiv portalkonto er knyttet til denne {provider_name}-identiteten")
        return await run_in_threadpool(start_browser_session, request, user, "/oversikt")
