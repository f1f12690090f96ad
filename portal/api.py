"""``/api/v1``: the room's commands as JSON over HTTP, for the token's user (docs/portal.md, "API").

Bodies and answers are those of the matching ``helsedata room ... --json`` command, because the
handlers call the same :mod:`privacy.room` functions. Errors are ``{"error", "message"}``: 401
without a valid token, 403 for a role or permit that is not the user's, 404 for an unknown id,
409 when the room's rules refuse, 422 for input it cannot use. Identity fields in a body
(``researcher``, ``reviewer``) are never read: the actor is the token's user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from kernel.errors import UserInputError
from portal import records
from portal.accounts import User
from portal.permissions import Action, check, check_permit_holder, check_see_permit
from portal.web import NotFound, api_user, query_request, settings_of
from privacy import room

router = APIRouter(prefix="/api/v1")


def _holder(request: Request, permit_id: str) -> str:
    holder = records.permit_holder(settings_of(request), permit_id)
    if holder is None:
        raise NotFound(f"ingen tillatelse {permit_id!r}")
    return holder


@router.post("/applications")
def create_application(request: Request, body: dict[str, Any] = Body(...), user: User = Depends(api_user)) -> dict:
    check(user, Action.APPLY)
    return records.submit_application(settings_of(request), user, records.ApplicationForm.from_mapping(body))


@router.get("/applications")
def list_applications(request: Request, status: str | None = None, user: User = Depends(api_user)) -> list[dict]:
    check(user, Action.VIEW_QUEUE)
    if status not in (None, "pending"):
        raise UserInputError("status kan bare være 'pending'")
    return records.applications(settings_of(request), pending=status == "pending")


@router.post("/applications/{application_id}/decision")
def decide(request: Request, application_id: str, body: dict[str, Any] = Body(...),
           user: User = Depends(api_user)) -> dict:
    check(user, Action.REVIEW)
    approve = body.get("approve")
    if not isinstance(approve, bool):
        raise UserInputError("approve må være true eller false")
    epsilon, expires, reason = (_optional_text(body, name) for name in ("epsilon", "expires", "reason"))
    return room.review(settings_of(request), application_id, user.username, approve=approve,
                       epsilon=epsilon, expires=expires, reason=reason)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    """A string field (numbers are read as their text, e.g. ``"epsilon": 1``); absent or empty is ``None``."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UserInputError(f"{name} må være en tekst")
    return str(value)


@router.post("/permits/{permit_id}/queries")
def run_query(request: Request, permit_id: str, body: dict[str, Any] = Body(...),
              user: User = Depends(api_user)) -> dict:
    check_permit_holder(user, _holder(request, permit_id))
    preview = body.get("preview", False)
    if not isinstance(preview, bool):
        raise UserInputError("preview må være true eller false")
    return room.query(settings_of(request), query_request(user, permit_id, body), preview=preview)


@router.get("/permits/{permit_id}/budget")
def permit_budget(request: Request, permit_id: str, user: User = Depends(api_user)) -> dict:
    check_see_permit(user, _holder(request, permit_id))
    return room.budget(settings_of(request), permit_id)

