"""The portal's FastAPI application: sessions, CSRF, security headers, error pages, and the routers.

Where security is enforced (read these to review it):

* :func:`page_session` — every page except the login page needs a live server-side session;
* :func:`csrf_protect` — a dependency of the pages' router: every ``POST`` carries the session's
  CSRF token (the login form a double-submit cookie), compared in constant time;
* :func:`api_user` — every ``/api/v1`` call needs ``Authorization: Bearer TOKEN`` (no cookies,
  so no CSRF there);
* :mod:`portal.permissions` — who may do what, checked in each handler before the room is called;
* :mod:`privacy.room` — what the room allows, with the authenticated username as the actor.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from portal import accounts, formats
from portal.accounts import Session, User
from portal.config import PortalConfig
from portal.permissions import Action, Forbidden, user_can
from privacy.budget import parse_epsilon
from privacy.room import QueryRequest, parse_bounds

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "helsedata_session"
LOGIN_CSRF_COOKIE = "helsedata_login_csrf"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(number=formats.number, decimal=formats.decimal, accuracy=formats.accuracy,
                             epsilon=formats.epsilon, day=formats.day, moment=formats.moment, cell=formats.cell,
                             details=formats.details, statistic=formats.statistic)

#: Sent with every response: no framing, no scripts at all, forms only to ourselves.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; img-src 'self' data:; style-src 'self';"
                               " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class LoginRequired(Exception):
    """No live session: send the browser to the login page."""


class NotFound(Exception):
    """Nothing by that id (or nothing this user may know exists)."""


class CsrfRefused(Exception):
    """A state-changing form arrived without this session's CSRF token."""


class Unauthorized(Exception):
    """No valid API token (HTTP 401)."""


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def config_of(request: Request) -> PortalConfig:
    return request.app.state.config


def secure(request: Request) -> bool:
    """Cookies are ``Secure`` behind TLS: an https request (also via a trusted proxy's header) or the setting."""
    return config_of(request).secure_cookies or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure(request), path="/")


def new_login_csrf() -> str:
    """The login form's CSRF token, also set as a cookie (double submit: there is no session yet)."""
    return secrets.token_urlsafe(32)


def page_session(request: Request) -> Session:
    """The live session of this browser, or a redirect to the login page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = accounts.session_for_cookie(settings_of(request), cookie) if cookie else None
    if session is None:
        raise LoginRequired()
    return session


async def csrf_protect(request: Request) -> None:
    """Refuse a ``POST`` whose ``csrf_token`` field is not this session's (or the login cookie's)."""
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get("csrf_token")
    if request.url.path == "/login":
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    else:
        session = await run_in_threadpool(page_session, request)
        expected = session.csrf_token
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


def api_user(request: Request) -> User:
    """The user an ``Authorization: Bearer`` token belongs to; anything else is 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = accounts.user_for_token(settings_of(request), token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise Unauthorized()
    return user


def render(request: Request, name: str, session: Session | None, status: int = 200, **context: Any) -> Response:
    """A page with what every template needs: the user, their rights, the CSRF token."""
    user = session.user if session else None
    context.update(user=user, csrf_token=session.csrf_token if session else context.get("csrf_token"),
                   can={a.value: user_can(user, a) for a in Action} if user else {}, page=name)
    return templates.TemplateResponse(request, name, context, status_code=status)


def room_status(error: UserInputError) -> int:
    """A refusal by the room's rules is 409; input it cannot use is 422."""
    return 409 if isinstance(error, RefusedError) else 422


def error_json(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def query_request(user: User, permit_id: str, data: dict[str, Any]) -> QueryRequest:
    """A room query from a form or JSON body; the researcher is the authenticated user, never a field."""
    statistic = str(data.get("statistic") or "count")
    by = data.get("by") or []
    if isinstance(by, str):
        by = [c for c in by.split(",")]
    if not isinstance(by, list) or not all(isinstance(c, str) for c in by):
        raise UserInputError("by må være en liste med grupperingsnøkler")
    bounds = data.get("bounds")
    if isinstance(bounds, list | tuple):
        bounds = ",".join(str(b) for b in bounds)
    q = data.get("q")
    try:
        q = float(str(q).replace(",", ".")) if q not in (None, "") else None
    except ValueError:
        raise UserInputError(f"q må være et tall mellom 0 og 1, ikke {q!r}") from None
    column = str(data["column"]) if data.get("column") else None
    return QueryRequest(
        permit_id=permit_id, researcher=user.username, dataset=str(data.get("dataset") or ""),
        by=tuple(c.strip() for c in by if c.strip()), statistic=statistic,
        epsilon=parse_epsilon(formats.epsilon_input(str(data.get("epsilon") or ""))),
        column=None if statistic == "count" else column,
        bounds=parse_bounds(bounds) if bounds else None, q=q)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(settings: Settings, config: PortalConfig | None = None) -> FastAPI:
    """The portal for one platform instance (``settings``); ``helsedata serve`` runs it under uvicorn."""
    from portal import api, pages

    config = config or PortalConfig.from_environ(settings.environ)
    app = FastAPI(title="Helsedata-portalen", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.config = config
    with accounts.opened(settings):  # create the tables before the first request
        pass

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        response = error_json(401, "unauthorized", "mangler eller ugyldig API-token (Authorization: Bearer TOKEN)")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return error_json(403, "forbidden", str(exc))
        session = await run_in_threadpool(page_session, request)
        return render(request, "error.html", session, 403, title="Ingen tilgang", message=str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return error_json(404, "not_found", str(exc) or "finnes ikke")
        session = await run_in_threadpool(page_session, request)
        return render(request, "error.html", session, 404, title="Finnes ikke", message=str(exc) or "Siden finnes ikke.")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "error.html", None, 403, title="Skjemaet ble avvist",
                      message="Skjemaet manglet en gyldig sikkerhetskode (CSRF). Last siden på nytt og prøv igjen.")

    @app.exception_handler(UserInputError)
    async def user_input(request: Request, exc: UserInputError) -> Response:
        status = room_status(exc)
        if _is_api(request):
            return error_json(status, "refused" if status == 409 else "bad_input", str(exc))
        session = await run_in_threadpool(page_session, request)
        return render(request, "error.html", session, status, title="Avvist", message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error_json(422, "bad_input", message)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        """A bug: log the traceback, tell the user in the same shape as other errors (no details leak)."""
        logger.exception("internal error on %s %s", request.method, request.url.path)
        if _is_api(request):
            return error_json(500, "internal", "intern feil i portalen; feilen er logget")
        return render(request, "error.html", None, 500, title="Intern feil",
                      message="Noe gikk galt i portalen. Feilen er logget; prøv igjen senere.")

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    if config.oidc is not None:
        from portal import oidc

        oidc.install(app, config)
    return app
