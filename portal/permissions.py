"""May this user? One map from role to allowed actions, used by the pages, the API and templates.

Whether the *room* allows an action (budget left, permit active, not one's own application) is
decided by :mod:`privacy.room`; this module decides only who may ask. Each rule is a pair: a
``user_can_…`` that returns a bool for templates and a ``check_…`` that raises
:class:`Forbidden` for handlers, so both read the same rule.
"""

from __future__ import annotations

from enum import StrEnum

from kernel.errors import HelsedataError
from portal.accounts import Role, User


class Action(StrEnum):
    """Everything the portal lets someone do."""

    APPLY = "apply"            # submit an application, see one's own applications
    QUERY = "query"            # run queries and see the budget under one's own permits
    VIEW_QUEUE = "view_queue"  # see every application and permit
    REVIEW = "review"          # approve or reject an application
    REVOKE = "revoke"          # revoke a permit


#: Role → actions. Case officers review; a registry owner oversees and may stop a permit on its
#: data; an administrator may do everything (and so is the role used to test self-review).
GRANTS: dict[Role, frozenset[Action]] = {
    Role.RESEARCHER: frozenset({Action.APPLY, Action.QUERY}),
    Role.REVIEWER: frozenset({Action.VIEW_QUEUE, Action.REVIEW, Action.REVOKE}),
    Role.REGISTRY_OWNER: frozenset({Action.VIEW_QUEUE, Action.REVOKE}),
    Role.ADMIN: frozenset(Action),
}


class Forbidden(HelsedataError):
    """The authenticated user may not do this (HTTP 403)."""

    exit_code = 2


def user_can(user: User, action: Action) -> bool:
    """Whether the user's role grants ``action`` (for templates; handlers call :func:`check`).

    >>> user_can(User("kari", Role.RESEARCHER), Action.REVIEW)
    False
    """
    return action in GRANTS[user.role]


def check(user: User, action: Action) -> None:
    """Raise :class:`Forbidden` unless the user's role grants ``action``."""
    if not user_can(user, action):
        raise Forbidden(f"rollen {user.role.value} gir ikke tilgang til dette")


def user_can_see_permit(user: User, holder: str) -> bool:
    """A permit's holder sees it; so does anyone who oversees the queue."""
    return user.username == holder or user_can(user, Action.VIEW_QUEUE)


def check_permit_holder(user: User, holder: str) -> None:
    """Queries run only under one's own permit, whatever the role."""
    check(user, Action.QUERY)
    if user.username != holder:
        raise Forbidden("tillatelsen tilhører en annen forsker")


def check_see_permit(user: User, holder: str) -> None:
    if not user_can_see_permit(user, holder):
        raise Forbidden("tillatelsen tilhører en annen forsker")
