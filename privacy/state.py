"""The analysis room's state: one SQLite file (``settings.state_db``) shared by every process.

Applications, permits, the privacy-budget ledger and the audit log live in the same database so
that a charge and its audit entry are committed in one transaction. Every write goes through
:func:`transaction`, which starts with ``BEGIN IMMEDIATE``: the write lock is taken *before* the
budget is read, so two processes can never both read "enough left" and both spend it. WAL mode
lets readers continue while a writer holds the lock, and ``busy_timeout`` makes a waiting writer
queue instead of failing.

The state tables (applications, permits, ledger, releases, release reviews) change only through :func:`apply_change`, which
turns one audit entry into its change; :func:`privacy.audit.append` calls it with the entry it
writes, and :func:`privacy.audit.verify` calls it again on a blank copy to rebuild the state from
the log alone. One function for both means the log and the tables cannot drift apart unless
someone edits the file.

Rows that must never change (ledger charges, audit entries) are also protected by triggers that
abort ``UPDATE`` and ``DELETE``. Triggers stop mistakes, not someone who can rewrite the file; the
keyed audit chain and the replay (:mod:`privacy.audit`) are what make such rewrites detectable.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from kernel.config import Settings
from privacy.budget import to_columns

#: How long (ms) a process waits for another's write transaction before giving up.
BUSY_TIMEOUT_MS = 60_000

SCHEMA = """
create table if not exists applications (
    application_id text primary key,
    researcher     text not null,
    purpose        text not null,
    datasets       text not null,              -- JSON list of catalogue names
    epsilon_num    text not null,              -- requested budget, exact rational
    epsilon_den    text not null,
    submitted_at   text not null,              -- UTC ISO timestamp
    status         text not null check (status in ('submitted', 'approved', 'rejected')),
    reviewer       text,
    decided_at     text,
    reason         text
);
create table if not exists permits (
    permit_id      text primary key,
    application_id text not null unique references applications (application_id),
    researcher     text not null,
    datasets       text not null,              -- JSON list of catalogue names
    budget_num     text not null,              -- granted budget, exact rational
    budget_den     text not null,
    expires_on     text not null,              -- last valid day, YYYY-MM-DD (inclusive)
    status         text not null check (status in ('active', 'revoked')),
    created_at     text not null,
    revoked_at     text,
    revoked_by     text,
    revoke_reason  text
);
create table if not exists ledger (
    charge_id      integer primary key autoincrement,
    permit_id      text not null references permits (permit_id),
    epsilon_num    text not null,              -- exact rational charged
    epsilon_den    text not null,
    charged_at     text not null,
    researcher     text not null,
    dataset        text not null,
    query          text not null               -- JSON description of the release
);
create index if not exists ledger_by_permit on ledger (permit_id);
create table if not exists releases (
    release_id     text primary key,
    permit_id      text not null references permits (permit_id),
    requester      text not null,
    dataset        text not null,
    query          text not null,              -- canonical JSON: by, where, statistic
    result         text not null,              -- canonical JSON: the disclosure-controlled rows
    requested_at   text not null,
    status         text not null check (status in ('pending', 'approved', 'rejected')),
    decided_at     text
);
create table if not exists release_reviews (
    review_id      integer primary key autoincrement,
    release_id     text not null references releases (release_id),
    reviewer       text not null,
    decision       text not null check (decision in ('approve', 'reject')),
    reason         text,
    reviewed_at    text not null,
    unique (release_id, reviewer)
);
create trigger if not exists release_reviews_no_update before update on release_reviews
    begin select raise(abort, 'release reviews are append-only'); end;
create trigger if not exists release_reviews_no_delete before delete on release_reviews
    begin select raise(abort, 'release reviews are append-only'); end;
create table if not exists audit_log (
    seq        integer primary key,
    timestamp  text not null,
    actor      text not null,
    action     text not null,
    details    text not null,                  -- canonical JSON
    prev_hash  text not null,
    hash       text not null
);
create table if not exists audit_head (
    id    integer primary key check (id = 1),
    seq   integer not null,
    hash  text not null
);
create trigger if not exists ledger_no_update before update on ledger
    begin select raise(abort, 'the privacy-budget ledger is append-only'); end;
create trigger if not exists ledger_no_delete before delete on ledger
    begin select raise(abort, 'the privacy-budget ledger is append-only'); end;
create trigger if not exists audit_no_update before update on audit_log
    begin select raise(abort, 'the audit log is append-only'); end;
create trigger if not exists audit_no_delete before delete on audit_log
    begin select raise(abort, 'the audit log is append-only'); end;
"""


#: Each state table and its key column (what :func:`apply_change` reports as touched).
TABLE_KEYS = {"applications": "application_id", "permits": "permit_id", "ledger": "charge_id",
              "releases": "release_id", "release_reviews": "review_id"}

#: Distinct approving reviewers (none of them the requester) a release needs before download.
RELEASE_APPROVALS_NEEDED = 2


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed and stored: sorted keys, no spaces, UTF-8 kept.

    >>> canonical_json({"b": 1, "a": [1, "ø"]})
    '{"a":[1,"ø"],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class ReplayError(ValueError):
    """An audit entry that cannot be applied to the state the entries before it built."""


@dataclass(frozen=True)
class Change:
    """One state-changing audit entry: who, when, what (``details`` as written to the log)."""

    action: str
    actor: str
    timestamp: str
    details: dict[str, Any]


Touched = list[tuple[str, str | int]]


def _submit(conn: sqlite3.Connection, c: Change) -> Touched:
    d = c.details
    conn.execute(
        "insert into applications (application_id, researcher, purpose, datasets, epsilon_num, epsilon_den,"
        " submitted_at, status) values (?, ?, ?, ?, ?, ?, ?, 'submitted')",
        (d["application_id"], c.actor, d["purpose"], json.dumps(d["datasets"]), *to_columns(Fraction(d["epsilon"])),
         c.timestamp))
    return [("applications", d["application_id"])]


def _decide(conn: sqlite3.Connection, c: Change, status: str, reason: str | None) -> None:
    cur = conn.execute("update applications set status = ?, reviewer = ?, decided_at = ?, reason = ?"
                       " where application_id = ? and status = 'submitted'",
                       (status, c.actor, c.timestamp, reason, c.details["application_id"]))
    if cur.rowcount != 1:
        raise ReplayError(f"søknad {c.details['application_id']} venter ikke på vurdering")


def _approve(conn: sqlite3.Connection, c: Change) -> Touched:
    d = c.details
    _decide(conn, c, "approved", None)
    app = conn.execute("select researcher, datasets from applications where application_id = ?",
                       (d["application_id"],)).fetchone()
    conn.execute(
        "insert into permits (permit_id, application_id, researcher, datasets, budget_num, budget_den,"
        " expires_on, status, created_at) values (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
        (d["permit_id"], d["application_id"], app[0], app[1], *to_columns(Fraction(d["epsilon_budget"])),
         d["expires"], c.timestamp))
    return [("applications", d["application_id"]), ("permits", d["permit_id"])]


def _reject(conn: sqlite3.Connection, c: Change) -> Touched:
    _decide(conn, c, "rejected", c.details["reason"])
    return [("applications", c.details["application_id"])]


def _revoke(conn: sqlite3.Connection, c: Change) -> Touched:
    d = c.details
    cur = conn.execute("update permits set status = 'revoked', revoked_at = ?, revoked_by = ?, revoke_reason = ?"
                       " where permit_id = ? and status = 'active'", (c.timestamp, c.actor, d["reason"], d["permit_id"]))
    if cur.rowcount != 1:
        raise ReplayError(f"tillatelse {d['permit_id']} er ikke aktiv")
    return [("permits", d["permit_id"])]


def _charge(conn: sqlite3.Connection, c: Change) -> Touched:
    d = c.details
    cur = conn.execute(
        "insert into ledger (permit_id, epsilon_num, epsilon_den, charged_at, researcher, dataset, query)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        (d["permit_id"], *to_columns(Fraction(d["cost"])), c.timestamp, c.actor, d["dataset"], canonical_json(d)))
    return [("ledger", int(cur.lastrowid))]


def _request_release(conn: sqlite3.Connection, c: Change) -> Touched:
    d = c.details
    conn.execute(
        "insert into releases (release_id, permit_id, requester, dataset, query, result, requested_at, status)"
        " values (?, ?, ?, ?, ?, ?, ?, 'pending')",
        (d["release_id"], d["permit_id"], c.actor, d["dataset"], canonical_json(d["query"]),
         canonical_json(d["rows"]), c.timestamp))
    return [("releases", d["release_id"])]


def _review_release(conn: sqlite3.Connection, c: Change) -> Touched:
    """One reviewer's vote; the release is approved at the second approval, rejected at any rejection.

    The four-eyes rules are re-checked here, so a log that records the requester or one reviewer
    twice does not replay (``audit verify`` names the entry).
    """
    d = c.details
    release = conn.execute("select requester, status from releases where release_id = ?", (d["release_id"],)).fetchone()
    if release is None or release[1] != "pending":
        raise ReplayError(f"utlevering {d['release_id']} venter ikke på vurdering")
    if release[0] == c.actor:
        raise ReplayError(f"utlevering {d['release_id']} er vurdert av den som ba om den")
    decision = "approve" if c.action == "release_approve" else "reject"
    cur = conn.execute("insert into release_reviews (release_id, reviewer, decision, reason, reviewed_at)"
                       " values (?, ?, ?, ?, ?)", (d["release_id"], c.actor, decision, d.get("reason"), c.timestamp))
    approvals = conn.execute("select count(distinct reviewer) from release_reviews where release_id = ?"
                             " and decision = 'approve'", (d["release_id"],)).fetchone()[0]
    status = "rejected" if decision == "reject" else "approved" if approvals >= RELEASE_APPROVALS_NEEDED else None
    if status:
        conn.execute("update releases set status = ?, decided_at = ? where release_id = ?",
                     (status, c.timestamp, d["release_id"]))
    return [("release_reviews", int(cur.lastrowid)), ("releases", d["release_id"])]


#: Audit action → the change it makes to the state tables. Any other action only records.
TRANSITIONS: dict[str, Callable[[sqlite3.Connection, Change], Touched]] = {
    "apply": _submit, "approve": _approve, "reject": _reject, "revoke": _revoke, "query": _charge,
    "release_request": _request_release, "release_approve": _review_release, "release_reject": _review_release,
}


def apply_change(conn: sqlite3.Connection, change: Change) -> Touched:
    """Write the change ``change`` records (nothing for actions outside :data:`TRANSITIONS`).

    Returns the ``(table, key)`` rows it wrote. Raises :class:`ReplayError` when the change does
    not fit the current state (deciding an application twice, revoking a revoked permit), and
    ``KeyError``/``sqlite3.IntegrityError`` when the entry lacks a field or breaks a constraint.
    """
    transition = TRANSITIONS.get(change.action)
    return transition(conn, change) if transition else []


def connect(path: Path) -> sqlite3.Connection:
    """Open the state database (creating it and its tables), in autocommit mode.

    Autocommit (``isolation_level=None``) means Python's sqlite3 never opens transactions behind
    our back; every write is inside an explicit :func:`transaction`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    _enable_wal(conn)
    conn.execute("pragma foreign_keys = on")
    conn.execute("pragma synchronous = full")
    execute_script(conn, SCHEMA)
    return conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process is switching the same fresh file.

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked"
    at once instead of calling the busy handler, so processes opening a new state file together
    would fail without this loop (seen with 4 processes on one fresh ``HELSEDATA_HOME``).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("pragma journal_mode = wal")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def blank() -> sqlite3.Connection:
    """An empty in-memory state database with the same schema (for replaying the audit log)."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("pragma foreign_keys = on")
    execute_script(conn, SCHEMA)
    return conn


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a SQL script as one ``BEGIN IMMEDIATE`` transaction, parsed by SQLite itself.

    ``executescript`` hands the whole text to SQLite's own parser, so comments and ``--`` inside
    string literals are read as SQLite reads them; the explicit ``BEGIN``/``COMMIT`` keep the
    script all-or-nothing (``executescript`` alone would commit statement by statement).

    >>> conn = sqlite3.connect(":memory:", isolation_level=None)
    >>> execute_script(conn, "create table t (x text default 'a -- b'); -- a comment\\ninsert into t default values;")
    >>> conn.execute("select x from t").fetchone()[0]
    'a -- b'
    """
    try:
        conn.executescript(f"begin immediate;\n{script}\ncommit;")
    except BaseException:
        if conn.in_transaction:
            conn.execute("rollback")
        raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back if the block raises."""
    conn.execute("begin immediate")
    try:
        yield conn
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


@contextmanager
def opened(settings: Settings) -> Iterator[sqlite3.Connection]:
    """A connection to ``settings.state_db`` that is closed when the block ends."""
    conn = connect(settings.state_db)
    try:
        yield conn
    finally:
        conn.close()
