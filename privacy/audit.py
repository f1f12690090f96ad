"""Append-only, hash-chained audit log of the analysis room (docs/analysis-room.md, "What is logged").

Every application, review, revocation, query (with its ε cost), preview, refusal and export is
one entry in ``audit_log`` in the room's SQLite database. An entry is::

    seq, timestamp, actor, action, details (JSON), prev_hash, hash

where ``hash = sha256(canonical JSON of {seq, timestamp, actor, action, details, prev_hash})`` and
``prev_hash`` is the previous entry's hash (:data:`GENESIS_HASH` for the first). A one-row
``audit_head`` table holds the last ``seq`` and ``hash``, updated in the same transaction.

What :func:`verify` detects
    * an edited entry (any field) — its hash no longer matches;
    * a removed entry in the middle — a gap in ``seq`` and a broken ``prev_hash`` link;
    * reordered entries — their ``prev_hash`` links (and hashes, which include ``seq``) break;
    * a removed tail — the head checkpoint names a later entry than the log holds.

What it cannot detect
    Someone who can write the file can recompute every hash *and* the head after any change.
    The defence is to anchor the head outside the database: ``helsedata room audit verify
    --json`` prints ``head_seq`` and ``head_hash``; publish or store them elsewhere (report,
    ticket, a second machine) and compare later. Triggers in :mod:`privacy.state` make accidental
    ``UPDATE``/``DELETE`` fail but are no defence against a deliberate attacker.

Other parts of the platform (e.g. publication-gate overrides in ``quality/``) append with
:func:`append` inside their own transaction, or :func:`record` which opens one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from helsedata.config import Settings

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 kept.

    >>> canonical_json({"b": 1, "a": [1, "ø"]})
    '{"a":[1,"ø"],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(seq: int, timestamp: str, actor: str, action: str, details: str, prev_hash: str) -> str:
    """sha256 (hex) of one entry; ``details`` is the stored canonical JSON text.

    >>> entry_hash(1, "2026-01-01T00:00:00+00:00", "alice", "apply", "{}", GENESIS_HASH)[:12]
    'f2d095fb6e80'
    """
    payload = canonical_json(
        {"seq": seq, "timestamp": timestamp, "actor": actor, "action": action,
         "details": details, "prev_hash": prev_hash}
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, actor: str, action: str, details: dict[str, Any]) -> int:
    """Append one entry and return its ``seq``. Call inside a write transaction.

    The caller's transaction (``privacy.state.transaction``, i.e. ``BEGIN IMMEDIATE``) makes
    reading the head and writing the entry atomic, and lets the entry commit together with the
    change it records (a ledger charge, a permit). ``details`` must be JSON-serialisable; do not
    put row-level data or pseudonyms in it — the log is read by auditors, not only by the room.

    >>> from privacy.state import connect, transaction
    >>> import tempfile, pathlib
    >>> conn = connect(pathlib.Path(tempfile.mkdtemp()) / "state.sqlite")
    >>> with transaction(conn):
    ...     append(conn, "alice", "apply", {"application_id": "A000001"})
    1
    """
    if not conn.in_transaction:
        raise ValueError("audit.append must run inside a write transaction (privacy.state.transaction)")
    if not actor or not action:
        raise ValueError("audit entries need an actor and an action")
    head = conn.execute("select seq, hash from audit_head where id = 1").fetchone()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    timestamp = datetime.now(UTC).isoformat(timespec="microseconds")
    details_json = canonical_json(details)
    digest = entry_hash(seq, timestamp, actor, action, details_json, prev_hash)
    conn.execute(
        "insert into audit_log (seq, timestamp, actor, action, details, prev_hash, hash)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        (seq, timestamp, actor, action, details_json, prev_hash, digest),
    )
    conn.execute(
        "insert into audit_head (id, seq, hash) values (1, ?, ?)"
        " on conflict (id) do update set seq = excluded.seq, hash = excluded.hash",
        (seq, digest),
    )
    return seq


def record(settings: Settings, actor: str, action: str, details: dict[str, Any]) -> int:
    """Append one entry in its own transaction (for callers without a room connection).

    >>> import tempfile, pathlib
    >>> s = Settings(home=pathlib.Path(tempfile.mkdtemp()))
    >>> record(s, "quality-bot", "publication_override", {"dataset": "kpr_kontakter"})
    1
    >>> verify(s).ok
    True
    """
    from privacy.state import opened, transaction

    with opened(settings) as conn, transaction(conn):
        return append(conn, actor, action, details)


@dataclass(frozen=True)
class Verification:
    """Result of :func:`verify`; ``first_broken_seq`` is ``None`` when the chain is intact."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(settings: Settings) -> Verification:
    """Recompute the whole chain and compare it with the head checkpoint.

    >>> import tempfile, pathlib
    >>> verify(Settings(home=pathlib.Path(tempfile.mkdtemp()))).ok
    True
    """
    from privacy.state import opened

    with opened(settings) as conn:
        rows = conn.execute(
            "select seq, timestamp, actor, action, details, prev_hash, hash from audit_log order by seq"
        ).fetchall()
        head = conn.execute("select seq, hash from audit_head where id = 1").fetchone()
    head_seq, head_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)

    def broken(seq: int, reason: str) -> Verification:
        return Verification(False, len(rows), head_seq, head_hash, seq, reason)

    expected_prev = GENESIS_HASH
    for position, row in enumerate(rows, start=1):
        seq = row["seq"]
        if seq != position:
            return broken(position, f"entry {position} is missing (next stored entry is {seq})")
        if row["prev_hash"] != expected_prev:
            return broken(seq, f"entry {seq} does not follow entry {seq - 1} (prev_hash mismatch)")
        recomputed = entry_hash(seq, row["timestamp"], row["actor"], row["action"], row["details"], row["prev_hash"])
        if recomputed != row["hash"]:
            return broken(seq, f"entry {seq} was altered (hash mismatch)")
        expected_prev = row["hash"]
    last_seq = len(rows)
    if head_seq != last_seq or head_hash != expected_prev:
        first = min(head_seq, last_seq) + 1 if head_seq > last_seq else max(last_seq, 1)
        return broken(first, f"the head checkpoint names entry {head_seq} but the log ends at entry {last_seq}"
                      if head_seq != last_seq else f"entry {last_seq} does not match the head checkpoint")
    return Verification(True, len(rows), head_seq, head_hash)
