"""Server-rendered pages (bokmål, no JavaScript): researchers apply and query, reviewers decide.

Every handler takes the session from :func:`portal.web.page_session` (login required), checks the
role with :mod:`portal.permissions`, and calls :mod:`privacy.room` with the session's username.
The router's :func:`portal.web.csrf_protect` dependency checks the CSRF token of every ``POST``.
After a change the browser is redirected (POST → redirect → GET) to a page that shows a fixed
message chosen by a short code in the URL, never text taken from the request.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from kernel.errors import UserInputError
from portal import accounts, records
from portal.accounts import Session
from portal.formats import epsilon_input
from portal.permissions import Action, check, check_permit_holder, check_see_permit, user_can
from portal.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    NotFound,
    config_of,
    csrf_protect,
    new_login_csrf,
    page_session,
    query_request,
    render,
    room_status,
    set_cookie,
    settings_of,
)
from privacy import room
from privacy.room import DEFAULT_PERMIT_DAYS

router = APIRouter(dependencies=[Depends(csrf_protect)])

#: Messages shown after a redirect, by code (the URL carries the code, never the text).
NOTICES = {
    "applied": "Søknaden er sendt til behandling.",
    "approved": "Søknaden er godkjent, og tillatelsen er opprettet.",
    "rejected": "Søknaden er avslått.",
    "revoked": "Tillatelsen er trukket tilbake.",
    "logged_out": "Du er logget ut.",
}


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("melding", ""))


def _safe_next(target: str | None) -> str:
    """Only local paths after login (an open redirect would help phishing).

    >>> _safe_next("/katalog"), _safe_next("//evil.example"), _safe_next("https://evil.example"), _safe_next(None)
    ('/katalog', '/oversikt', '/oversikt', '/oversikt')
    """
    return target if target and target.startswith("/") and not target.startswith("//") and "\\" not in target else "/oversikt"


# ---------------------------------------------------------------- login


@router.get("/")
def home(request: Request) -> Response:
    return _redirect("/oversikt")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return login_form(request, next=next, notice=_notice(request))


def login_form(request: Request, status: int = 200, *, next: str | None = None, error: str | None = None,
               username: str = "", notice: str | None = None) -> Response:
    """The login page with a fresh double-submit CSRF token (cookie and hidden field)."""
    token = new_login_csrf()
    oidc = config_of(request).oidc
    response = render(request, "login.html", None, status, csrf_token=token, next=_safe_next(next), error=error,
                      username=username, oidc_name=oidc.name if oidc else None, notice=notice)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/oversikt")) -> Response:
    try:
        user = accounts.authenticate(settings_of(request), username.strip(), password)
    except accounts.LoginRefused as e:
        return login_form(request, 401, next=next, error=str(e), username=username)
    return start_browser_session(request, user, _safe_next(next))


def start_browser_session(request: Request, user: accounts.User, target: str) -> Response:
    """A fresh session (never one chosen before login), its cookie, and on to ``target``."""
    cookie, session = accounts.start_session(settings_of(request), user)
    response = _redirect(target)
    set_cookie(request, response, SESSION_COOKIE, cookie, max_age=accounts.SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    accounts.end_session(settings_of(request), request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect("/login?melding=logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- everyone


@router.get("/oversikt")
def overview(request: Request, session: Session = Depends(page_session)) -> Response:
    settings, user = settings_of(request), session.user
    mine = records.applications(settings, researcher=user.username)
    held = records.permits(settings, researcher=user.username)
    queue = records.applications(settings, pending=True) if user_can(user, Action.VIEW_QUEUE) else []
    return render(request, "overview.html", session, applications=mine, permits=held, queue=queue,
                  notice=_notice(request))


@router.get("/katalog")
def catalogue(request: Request, session: Session = Depends(page_session)) -> Response:
    return render(request, "catalogue.html", session, datasets=records.catalogue(settings_of(request)))


@router.get("/katalog/dcat.ttl")
def catalogue_dcat(request: Request, session: Session = Depends(page_session)) -> Response:
    """The whole HealthDCAT-AP catalogue (raw sources, room datasets, published tables), SHACL-validated:
    the same file as ``helsedata catalogue export``."""
    from healthdcat.export import export_catalogue

    return Response(export_catalogue(settings_of(request)).text, media_type="text/turtle; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="helsedata-katalog.ttl"'})


@router.get("/logg")
def audit_trail(request: Request, session: Session = Depends(page_session)) -> Response:
    return render(request, "audit.html", session, entries=records.audit_trail(settings_of(request), session.user))


# ---------------------------------------------------------------- researchers


@router.get("/soknader/ny")
def new_application(request: Request, session: Session = Depends(page_session)) -> Response:
    check(session.user, Action.APPLY)
    return _application_form(request, session, {}, None, 200)


def _application_form(request: Request, session: Session, values: dict, error: str | None, status: int) -> Response:
    return render(request, "apply.html", session, status, values=values, error=error,
                  datasets=records.catalogue(settings_of(request)), categories=records.PURPOSE_CATEGORIES,
                  max_months=records.MAX_DURATION_MONTHS)


@router.post("/soknader")
def submit_application(
    request: Request, session: Session = Depends(page_session), title: str = Form(""), purpose: str = Form(""),
    purpose_category: str = Form(""), legal_basis: str = Form(""), ethics_approval: str = Form(""),
    datasets: list[str] = Form([]), epsilon: str = Form(""), duration_months: str = Form(""),
    dpo_contact: str = Form(""),
) -> Response:
    check(session.user, Action.APPLY)
    values = {"title": title, "purpose": purpose, "purpose_category": purpose_category, "legal_basis": legal_basis,
              "ethics_approval": ethics_approval, "datasets": datasets, "epsilon": epsilon,
              "duration_months": duration_months, "dpo_contact": dpo_contact}
    try:
        result = records.submit_application(settings_of(request), session.user,
                                            records.ApplicationForm.from_mapping(values))
    except UserInputError as e:
        return _application_form(request, session, values, str(e), room_status(e))
    return _redirect(f"/soknader/{result['application_id']}?melding=applied")


@router.get("/soknader/{application_id}")
def application_page(request: Request, application_id: str, session: Session = Depends(page_session)) -> Response:
    app = _visible_application(request, session, application_id)
    return render(request, "application.html", session, app=app, notice=_notice(request))


def _visible_application(request: Request, session: Session, application_id: str) -> dict:
    """An application its researcher or an overseer may see; to anyone else it does not exist."""
    app = records.application(settings_of(request), application_id)
    if app is None or not (app["researcher"] == session.user.username or user_can(session.user, Action.VIEW_QUEUE)):
        raise NotFound(f"Ingen søknad {application_id}.")
    return app


@router.get("/tillatelser/{permit_id}")
def permit_page(request: Request, permit_id: str, dataset: str | None = None,
                session: Session = Depends(page_session)) -> Response:
    return _permit_view(request, session, permit_id, dataset)


def _permit_view(request: Request, session: Session, permit_id: str, dataset: str | None, *, status: int = 200,
                 form: dict | None = None, preview: dict | None = None, error: str | None = None) -> Response:
    settings = settings_of(request)
    holder = records.permit_holder(settings, permit_id)
    if holder is None:
        raise NotFound(f"Ingen tillatelse {permit_id}.")
    check_see_permit(session.user, holder)
    permit = records.permits(settings, permit_id=permit_id)[0]
    chosen = dataset if dataset in permit["datasets"] else permit["datasets"][0]
    entry = next(d for d in records.catalogue(settings) if d["name"] == chosen)
    return render(request, "permit.html", session, status, permit=permit, holder=holder == session.user.username,
                  dataset=entry, form=form or {"statistic": "count", "by": []}, preview=preview, error=error,
                  results=records.results(settings, session.user, permit_id))


@router.post("/tillatelser/{permit_id}/sporring")
def permit_query(
    request: Request, permit_id: str, session: Session = Depends(page_session), dataset: str = Form(""),
    by: list[str] = Form([]), statistic: str = Form("count"), column: str = Form(""), lower: str = Form(""),
    upper: str = Form(""), q: str = Form(""), epsilon: str = Form(""), action: str = Form("preview"),
) -> Response:
    settings = settings_of(request)
    holder = records.permit_holder(settings, permit_id)
    if holder is None:
        raise NotFound(f"Ingen tillatelse {permit_id}.")
    check_permit_holder(session.user, holder)
    form = {"dataset": dataset, "by": by, "statistic": statistic, "column": column, "lower": lower, "upper": upper,
            "q": q, "epsilon": epsilon}
    try:
        bounds = f"{lower},{upper}" if statistic != "count" and (lower or upper) else None
        req = query_request(session.user, permit_id, {**form, "bounds": bounds})
        result = room.query(settings, req, preview=action != "run")
    except UserInputError as e:
        return _permit_view(request, session, permit_id, dataset, status=room_status(e), form=form, error=str(e))
    if action != "run":
        return _permit_view(request, session, permit_id, dataset, form=form, preview=result)
    return _redirect(f"/resultater/{records.save_result(settings, session.user, result)}")


def _own_result(request: Request, session: Session, result_id: str) -> dict:
    found = records.result(settings_of(request), result_id)
    if found is None or found[0] != session.user.username:
        raise NotFound(f"Ingen resultat {result_id}.")
    return found[1]


@router.get("/resultater/{result_id}.csv")
def result_csv(request: Request, result_id: str, session: Session = Depends(page_session)) -> Response:
    """The release as CSV for Norwegian spreadsheets: ``;`` between fields, decimal comma, UTF-8 with BOM."""
    result = _own_result(request, session, result_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    columns = list(result["rows"][0]) if result["rows"] else result["by"]
    writer.writerow(columns)
    for row in result["rows"]:
        writer.writerow([_csv_value(row[c]) for c in columns])
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="helsedata-{result_id}.csv"'})


def _csv_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".replace(".", ",")
    return "" if value is None else str(value)


@router.get("/resultater/{result_id}")
def result_page(request: Request, result_id: str, session: Session = Depends(page_session)) -> Response:
    result = _own_result(request, session, result_id)
    value_columns = [c for c in (result["rows"][0] if result["rows"] else {}) if c not in result["by"]]
    return render(request, "result.html", session, result=result, result_id=result_id, value_columns=value_columns)


# ---------------------------------------------------------------- reviewers


@router.get("/behandling")
def queue(request: Request, session: Session = Depends(page_session)) -> Response:
    check(session.user, Action.VIEW_QUEUE)
    settings = settings_of(request)
    return render(request, "queue.html", session, queue=records.applications(settings, pending=True),
                  permits=records.permits(settings, active_only=True), notice=_notice(request))


@router.get("/behandling/{application_id}")
def review_page(request: Request, application_id: str, session: Session = Depends(page_session)) -> Response:
    check(session.user, Action.VIEW_QUEUE)
    return _review_view(request, session, application_id)


def _review_view(request: Request, session: Session, application_id: str, status: int = 200,
                 error: str | None = None) -> Response:
    app = _visible_application(request, session, application_id)
    default_expiry = (datetime.now(UTC).date() + timedelta(days=DEFAULT_PERMIT_DAYS)).isoformat()
    return render(request, "review.html", session, status, app=app, error=error, default_expiry=default_expiry,
                  own=app["researcher"] == session.user.username)


@router.post("/behandling/{application_id}")
def decide(request: Request, application_id: str, session: Session = Depends(page_session),
           decision: str = Form(""), epsilon: str = Form(""), expires: str = Form(""), reason: str = Form("")) -> Response:
    check(session.user, Action.REVIEW)
    if decision not in ("approve", "reject"):
        return _review_view(request, session, application_id, 422, "Velg godkjenn eller avslå.")
    try:
        room.review(settings_of(request), application_id, session.user.username, approve=decision == "approve",
                    epsilon=epsilon_input(epsilon) or None, expires=expires.strip() or None, reason=reason)
    except UserInputError as e:
        return _review_view(request, session, application_id, room_status(e), str(e))
    return _redirect(f"/behandling?melding={'approved' if decision == 'approve' else 'rejected'}")


@router.post("/tillatelser/{permit_id}/tilbakekall")
def revoke(request: Request, permit_id: str, session: Session = Depends(page_session),
           reason: str = Form("")) -> Response:
    check(session.user, Action.REVOKE)
    if records.permit_holder(settings_of(request), permit_id) is None:
        raise NotFound(f"Ingen tillatelse {permit_id}.")
    room.revoke(settings_of(request), permit_id, session.user.username, reason)
    return _redirect("/behandling?melding=revoked")
