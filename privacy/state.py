"""The analysis room's state: one SQLite file (``settings.state_db``) shared by every process.

Applications, permits, the privacy-budget ledger and the audit log live in the same database so
that a charge and its audit entry are committed in one transaction. Every write goes through
:func:`transaction`, which starts with ``BEGIN IMMEDIATE``: the write lock is taken *before* the
budget is read, so two processes can never both read "enough left" and both spend it. WAL mode
lets readers continue while a writer holds the lock, and ``busy_timeout`` makes a waiting writer
queue instead of failing.

Rows that must never change (ledger charges, audit entries) are also protected by triggers that
abort ``UPDATE`` and ``DELETE``. Triggers stop mistakes, not someone who can rewrite the file; the
audit hash chain (:mod:`privacy.audit`) is what makes such rewrites detectable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helsedata.config import Settings

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


def connect(path: Path) -> sqlite3.Connection:
    """Open the state database (creating it and its tables), in autocommit mode.

    Autocommit (``isolation_level=None``) means Python's sqlite3 never opens transactions behind
    our back; every write is inside an explicit :func:`transaction`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma foreign_keys = on")
    conn.execute("pragma synchronous = full")
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
