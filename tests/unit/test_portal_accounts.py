"""Portal accounts against a real SQLite state database: passwords, lockout, sessions, tokens, roles."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from kernel.errors import UserInputError
from portal import accounts
from portal.accounts import LOCKOUT_MINUTES, MAX_FAILED_LOGINS, SESSION_HOURS, LoginRefused, Role
from portal.permissions import GRANTS, Action, Forbidden, check_permit_holder, user_can
from privacy.audit import verify

PASSWORD = "et-langt-testpassord"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def kari(settings):
    return accounts.add_user(settings, "kari", "researcher", PASSWORD)


def audit_actions(settings) -> list[tuple[str, str, dict]]:
    conn = sqlite3.connect(settings.state_db)
    rows = conn.execute("select actor, action, details from audit_log order by seq").fetchall()
    return [(a, b, json.loads(c)) for a, b, c in rows]


def test_password_is_stored_as_argon2id_and_checked(settings, kari):
    stored = sqlite3.connect(settings.state_db).execute("select password_hash from portal_users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.authenticate(settings, "kari", PASSWORD) == kari
    with pytest.raises(LoginRefused):
        accounts.authenticate(settings, "kari", PASSWORD + "x")


@pytest.mark.parametrize("username", ["Kari", "k", "kari nordmann", "kari\u200b", "kåri", "-kari", "x" * 65,
                                      "01017012345"])
def test_usernames_the_room_would_change_are_refused(settings, username):
    with pytest.raises(UserInputError, match="brukernavnet"):
        accounts.add_user(settings, username, "researcher", PASSWORD)


def test_short_password_unknown_role_and_duplicates_are_refused(settings, kari):
    with pytest.raises(UserInputError, match="minst 12 tegn"):
        accounts.add_user(settings, "per", "researcher", "kort")
    with pytest.raises(UserInputError, match="ukjent rolle"):
        accounts.add_user(settings, "per", "superuser", PASSWORD)
    with pytest.raises(UserInputError, match="finnes allerede"):
        accounts.add_user(settings, "kari", "reviewer", PASSWORD)


def test_lockout_after_five_failures_in_a_row_then_opens_again(settings, kari):
    for attempt in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginRefused, match="feil brukernavn eller passord"):
            accounts.authenticate(settings, "kari", "galt passord", now=T0 + timedelta(seconds=attempt))
    # locked: even the right password is refused, with a message saying so
    with pytest.raises(LoginRefused, match="låst"):
        accounts.authenticate(settings, "kari", PASSWORD, now=T0 + timedelta(minutes=1))
    # after the lockout the right password works, and the count starts again
    opened = T0 + timedelta(minutes=LOCKOUT_MINUTES, seconds=10)
    assert accounts.authenticate(settings, "kari", PASSWORD, now=opened).username == "kari"
    actions = [a for _, a, _ in audit_actions(settings)]
    assert actions.count("login_failed") == MAX_FAILED_LOGINS + 1 and actions.count("account_locked") == 1


def test_a_success_resets_the_count(settings, kari):
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginRefused):
            accounts.authenticate(settings, "kari", "galt passord", now=T0)
    accounts.authenticate(settings, "kari", PASSWORD, now=T0)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginRefused):
            accounts.authenticate(settings, "kari", "galt passord", now=T0)
    assert accounts.authenticate(settings, "kari", PASSWORD, now=T0).username == "kari"


def test_unknown_user_gets_the_same_message_and_the_name_is_not_logged(settings, kari):
    with pytest.raises(LoginRefused, match="^feil brukernavn eller passord$"):
        accounts.authenticate(settings, "01017012345", PASSWORD)
    assert "01017012345" not in str(audit_actions(settings))


def test_sessions_expire_and_end_on_logout(settings, kari):
    cookie, session = accounts.start_session(settings, kari, now=T0)
    assert accounts.session_for_cookie(settings, cookie, now=T0 + timedelta(hours=SESSION_HOURS - 1)) == session
    assert accounts.session_for_cookie(settings, cookie, now=T0 + timedelta(hours=SESSION_HOURS)) is None
    cookie, _ = accounts.start_session(settings, kari)
    accounts.end_session(settings, cookie)
    assert accounts.session_for_cookie(settings, cookie) is None
    stored = sqlite3.connect(settings.state_db).execute("select session_hash from portal_sessions").fetchall()
    assert cookie not in {r[0] for r in stored}


def test_tokens_are_hashed_replaced_and_die_with_the_account(settings, kari):
    first = accounts.issue_token(settings, "kari")
    assert accounts.user_for_token(settings, first) == kari
    second = accounts.issue_token(settings, "kari")
    assert accounts.user_for_token(settings, first) is None and accounts.user_for_token(settings, second) == kari
    stored = sqlite3.connect(settings.state_db).execute("select token_hash from portal_tokens").fetchall()
    assert stored and second not in {r[0] for r in stored}
    cookie, _ = accounts.start_session(settings, kari)
    accounts.disable_user(settings, "kari")
    assert accounts.user_for_token(settings, second) is None
    assert accounts.session_for_cookie(settings, cookie) is None
    with pytest.raises(LoginRefused):
        accounts.authenticate(settings, "kari", PASSWORD)


def test_account_changes_are_in_the_verified_audit_log(settings, kari):
    accounts.issue_token(settings, "kari")
    accounts.disable_user(settings, "kari", actor="admin")
    entries = audit_actions(settings)
    assert [(actor, action) for actor, action, _ in entries] == [
        ("cli", "user_add"), ("cli", "token_issue"), ("admin", "user_disable")]
    assert entries[0][2] == {"username": "kari", "role": "researcher", "oidc": False, "password": True}
    assert verify(settings).ok


def test_every_role_has_grants_and_only_admin_has_all():
    assert set(GRANTS) == set(Role)
    assert [r for r in Role if GRANTS[r] == frozenset(Action)] == [Role.ADMIN]


def test_permits_are_used_only_by_their_holder():
    kari, ola = accounts.User("kari", Role.RESEARCHER), accounts.User("ola", Role.REVIEWER)
    check_permit_holder(kari, "kari")
    with pytest.raises(Forbidden):
        check_permit_holder(kari, "per")
    with pytest.raises(Forbidden):  # a reviewer cannot query, not even under a permit in their name
        check_permit_holder(ola, "ola")
    assert user_can(ola, Action.REVIEW) and not user_can(kari, Action.REVIEW)
