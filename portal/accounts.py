"""Portal accounts: users and roles, argon2 passwords, lockout, sessions and API tokens.

The tables live in the analysis room's SQLite file (``Settings.state_db``) beside the room's own,
so one backup holds both; every change runs in its own ``BEGIN IMMEDIATE`` transaction
(:func:`privacy.state.transaction`) and is then written to the room's audit log with
:func:`privacy.audit.record` (user added, disabled, token issued, login failed, account locked).

Security rules (named constants below):

* passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation);
  a password shorter than :data:`MIN_PASSWORD_LENGTH` is refused;
* after :data:`MAX_FAILED_LOGINS` failures in a row an account is locked for
  :data:`LOCKOUT_MINUTES`; while locked even the right password is refused; a success resets
  the count;
* a session lasts :data:`SESSION_HOURS` from login, then the user logs in again; only the
  SHA-256 of the session cookie and of an API token is stored (both are 256-bit random values,
  so a fast hash is enough — the slow hash is for passwords people choose);
* one API token per user: issuing a new one replaces the old; a disabled user's sessions and
  token stop working at once.

Usernames are lower-case ``a-z``, digits, ``.``, ``_`` and ``-``: the form the room's identity
rules leave unchanged, so the name the portal authenticates is exactly the name the room records.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from privacy import audit
from privacy.state import opened as room_opened
from privacy.state import transaction

#: Failed logins in a row that lock an account.
MAX_FAILED_LOGINS = 5
#: How long a locked account stays locked.
LOCKOUT_MINUTES = 15
#: How long a session lasts from login.
SESSION_HOURS = 8
#: Shortest password accepted (NSM's advice favours long passphrases over complex short ones).
MIN_PASSWORD_LENGTH = 12
#: Allowed usernames: stable under the room's NFKC + case-folding identity rule, and starting with a
#: letter so that no username can be an identity number.
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


class Role(StrEnum):
    """What a person is in the access process; :mod:`portal.permissions` says what each may do."""

    RESEARCHER = "researcher"
    REVIEWER = "reviewer"
    REGISTRY_OWNER = "registry_owner"
    ADMIN = "admin"


SCHEMA = (
    """create table if not exists portal_users (
        username       text primary key,
        role           text not null check (role in ('researcher', 'reviewer', 'registry_owner', 'admin')),
        password_hash  text,
        oidc_subject   text unique,
        active         integer not null default 1,
        created_at     text not null,
        failed_logins  integer not null default 0,
        locked_until   text
    )""",
    """create table if not exists portal_tokens (
        token_hash  text primary key,
        username    text not null unique references portal_users (username),
        created_at  text not null
    )""",
    """create table if not exists portal_sessions (
        session_hash  text primary key,
        username      text not null references portal_users (username),
        csrf_token    text not null,
        created_at    text not null,
        expires_at    text not null
    )""",
    """create table if not exists portal_application_details (
        application_id    text primary key,
        title             text not null,
        purpose_category  text not null,
        legal_basis       text not null,
        ethics_approval   text not null,
        duration_months   integer not null,
        dpo_contact       text not null
    )""",
    """create table if not exists portal_results (
        result_id   text primary key,
        username    text not null,
        permit_id   text not null,
        created_at  text not null,
        result      text not null
    )""",
)

_hasher = PasswordHasher()
#: Verified against when the username is unknown, so a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    """An authenticated person; the only source of identity for the room calls."""

    username: str
    role: Role


@dataclass(frozen=True)
class Session:
    """A logged-in browser: its user, its CSRF token and when it ends."""

    user: User
    csrf_token: str
    expires_at: datetime


def _now(now: datetime | None = None) -> datetime:
    return now or datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@contextmanager
def opened(settings: Settings) -> Iterator[sqlite3.Connection]:
    """The room's state database with the portal's tables (created, under the write lock, only if missing)."""
    with room_opened(settings) as conn:
        present = conn.execute("select count(*) from sqlite_master where type = 'table' and name like 'portal\\_%'"
                               " escape '\\'").fetchone()[0]
        if present < len(SCHEMA):
            with transaction(conn):
                for statement in SCHEMA:
                    conn.execute(statement)
        yield conn


def check_username(username: str) -> str:
    """Refuse a username the room would change or that could pass for another.

    >>> check_username("kari.nordmann")
    'kari.nordmann'
    >>> check_username("Kari")
    Traceback (most recent call last):
    ...
    kernel.errors.UserInputError: brukernavnet 'Kari' er ugyldig: bruk 2–64 tegn: små bokstaver a–z, sifre, punktum, _ eller -, og begynn med en bokstav
    """
    if not USERNAME_PATTERN.match(username or ""):
        raise UserInputError(f"brukernavnet {username!r} er ugyldig: bruk 2–64 tegn: små bokstaver a–z, sifre, punktum, _ eller -, og begynn med en bokstav")
    return username


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"passordet må ha minst {MIN_PASSWORD_LENGTH} tegn")
    return password


def add_user(settings: Settings, username: str, role: str, password: str | None, *,
             oidc_subject: str | None = None, actor: str = "cli") -> User:
    """Create an account. A password is required unless the user logs in only through OIDC."""
    username = check_username(username)
    try:
        role_ = Role(role)
    except ValueError:
        raise UserInputError(f"ukjent rolle {role!r}; velg en av: {', '.join(r.value for r in Role)}") from None
    if password is None and not oidc_subject:
        raise UserInputError("oppgi et passord (standard inn eller HELSEDATA_NEW_PASSWORD) eller --oidc-subject")
    password_hash = _hasher.hash(_check_password(password)) if password is not None else None
    with opened(settings) as conn:
        try:
            with transaction(conn):
                conn.execute(
                    "insert into portal_users (username, role, password_hash, oidc_subject, created_at)"
                    " values (?, ?, ?, ?, ?)",
                    (username, role_.value, password_hash, oidc_subject or None, _now().isoformat()))
        except sqlite3.IntegrityError:
            raise UserInputError(f"brukeren {username!r} (eller OIDC-subjektet) finnes allerede") from None
    audit.record(settings, actor, "user_add", {"username": username, "role": role_.value,
                                               "oidc": bool(oidc_subject), "password": password is not None})
    return User(username, role_)


def disable_user(settings: Settings, username: str, *, actor: str = "cli") -> None:
    """Disable an account for good: its sessions and token end now."""
    with opened(settings) as conn, transaction(conn):
        if conn.execute("update portal_users set active = 0 where username = ?", (username,)).rowcount == 0:
            raise UserInputError(f"ingen bruker {username!r}")
        conn.execute("delete from portal_sessions where username = ?", (username,))
        conn.execute("delete from portal_tokens where username = ?", (username,))
    audit.record(settings, actor, "user_disable", {"username": username})


def list_users(settings: Settings) -> list[dict]:
    """Every account (never a hash): username, role, active, created, locked until, has a token."""
    with opened(settings) as conn:
        rows = conn.execute(
            "select u.username, u.role, u.active, u.created_at, u.locked_until, u.oidc_subject is not null as oidc,"
            " t.token_hash is not null as has_token from portal_users u left join portal_tokens t using (username)"
            " order by u.username").fetchall()
    return [{"username": r["username"], "role": r["role"], "active": bool(r["active"]), "created_at": r["created_at"],
             "locked_until": r["locked_until"], "oidc": bool(r["oidc"]), "has_token": bool(r["has_token"])}
            for r in rows]


def issue_token(settings: Settings, username: str, *, actor: str = "cli") -> str:
    """A new API token for an active user, replacing the old one; shown once, stored as a hash."""
    token = "hd_" + secrets.token_urlsafe(32)
    with opened(settings) as conn, transaction(conn):
        row = conn.execute("select active from portal_users where username = ?", (username,)).fetchone()
        if row is None:
            raise UserInputError(f"ingen bruker {username!r}")
        if not row["active"]:
            raise RefusedError(f"brukeren {username!r} er deaktivert")
        conn.execute("delete from portal_tokens where username = ?", (username,))
        conn.execute("insert into portal_tokens (token_hash, username, created_at) values (?, ?, ?)",
                     (_digest(token), username, _now().isoformat()))
    audit.record(settings, actor, "token_issue", {"username": username})
    return token


def _active_user(conn: sqlite3.Connection, username: str) -> User | None:
    row = conn.execute("select username, role from portal_users where username = ? and active = 1",
                       (username,)).fetchone()
    return User(row["username"], Role(row["role"])) if row else None


def user_for_token(settings: Settings, token: str) -> User | None:
    """The active user an API token belongs to, or ``None``."""
    with opened(settings) as conn:
        row = conn.execute("select username from portal_tokens where token_hash = ?", (_digest(token),)).fetchone()
        return _active_user(conn, row["username"]) if row else None


class LoginRefused(RefusedError):
    """Wrong username or password, or a locked or disabled account (one message for all)."""


def authenticate(settings: Settings, username: str, password: str, now: datetime | None = None) -> User:
    """Check a password; count failures and lock after :data:`MAX_FAILED_LOGINS` in a row.

    The message never tells whether the username exists; a locked account says so (its owner
    needs to know), and is audited with the time it opens again. A failure for a name that is no
    active account is audited without the name.
    """
    now = _now(now)
    refused = LoginRefused("feil brukernavn eller passord")
    with opened(settings) as conn:
        row = conn.execute("select * from portal_users where username = ?", (username,)).fetchone()
        if row is None or not row["active"] or row["password_hash"] is None:
            _verify(_DUMMY_HASH, password)
            # the name typed is not logged: people type identity numbers and passwords into that field
            audit.record(settings, "anonymous", "login_failed", {"reason": "unknown or disabled user"})
            raise refused
        if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
            audit.record(settings, username, "login_failed", {"reason": "locked", "locked_until": row["locked_until"]})
            raise LoginRefused(f"kontoen er låst etter {MAX_FAILED_LOGINS} feilede innlogginger; prøv igjen om "
                               f"{LOCKOUT_MINUTES} minutter")
        if _verify(row["password_hash"], password):
            with transaction(conn):
                conn.execute("update portal_users set failed_logins = 0, locked_until = null where username = ?",
                             (username,))
            audit.record(settings, username, "login", {"method": "password"})
            return User(username, Role(row["role"]))
        with transaction(conn):
            failures = conn.execute("select failed_logins from portal_users where username = ?",
                                    (username,)).fetchone()[0] + 1
            locked_until = (now + timedelta(minutes=LOCKOUT_MINUTES)).isoformat() if failures >= MAX_FAILED_LOGINS else None
            conn.execute("update portal_users set failed_logins = ?, locked_until = ? where username = ?",
                         (0 if locked_until else failures, locked_until, username))
    audit.record(settings, username, "login_failed", {"reason": "password", "failures_in_a_row": failures})
    if locked_until:
        audit.record(settings, username, "account_locked", {"locked_until": locked_until})
    raise refused


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def user_for_oidc(settings: Settings, subject: str) -> User | None:
    """The active account bound to an OIDC subject (``issuer|sub``), or ``None``."""
    with opened(settings) as conn:
        row = conn.execute("select username from portal_users where oidc_subject = ?", (subject,)).fetchone()
        return _active_user(conn, row["username"]) if row else None


def start_session(settings: Settings, user: User, now: datetime | None = None) -> tuple[str, Session]:
    """A new session for ``user``: the cookie value (returned once) and the session."""
    now = _now(now)
    cookie = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(32), now + timedelta(hours=SESSION_HOURS))
    with opened(settings) as conn, transaction(conn):
        conn.execute("delete from portal_sessions where expires_at <= ?", (now.isoformat(),))
        conn.execute("insert into portal_sessions (session_hash, username, csrf_token, created_at, expires_at)"
                     " values (?, ?, ?, ?, ?)",
                     (_digest(cookie), user.username, session.csrf_token, now.isoformat(),
                      session.expires_at.isoformat()))
    return cookie, session


def session_for_cookie(settings: Settings, cookie: str, now: datetime | None = None) -> Session | None:
    """The live session a cookie names (``None`` when unknown, expired or its user disabled)."""
    with opened(settings) as conn:
        row = conn.execute("select * from portal_sessions where session_hash = ?", (_digest(cookie),)).fetchone()
        if row is None or datetime.fromisoformat(row["expires_at"]) <= _now(now):
            return None
        user = _active_user(conn, row["username"])
    return Session(user, row["csrf_token"], datetime.fromisoformat(row["expires_at"])) if user else None


def end_session(settings: Settings, cookie: str) -> None:
    """Log out: the session is deleted on the server, not only the cookie in the browser."""
    with opened(settings) as conn, transaction(conn):
        conn.execute("delete from portal_sessions where session_hash = ?", (_digest(cookie),))
