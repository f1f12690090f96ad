"""Append-only, keyed, hash-chained audit log of the analysis room (docs/analysis-room.md), and its replay.

Every application, review, revocation, query (with its exact ε cost), preview, release request,
release review and download, refusal and export is one entry in ``audit_log`` in the room's SQLite database. An entry is::

    seq, timestamp, actor, action, details (JSON), prev_hash, hash

where ``hash = HMAC-SHA-256(audit key, canonical JSON of {seq, timestamp, actor, action, details,
prev_hash})`` and ``prev_hash`` is the previous entry's hash (:data:`GENESIS_HASH` for the first).
A one-row ``audit_head`` table holds the last ``seq`` and ``hash``, updated in the same
transaction.

**The log is the source of truth.** The state tables (applications, permits, ledger, releases,
release reviews) change only
through :func:`append`, which writes the entry and then applies it with
:func:`privacy.state.apply_change`; the rows take their timestamps from the entry. So the tables
are a function of the log, and :func:`verify` rebuilds them from the log on a blank database and
compares.

**The key.** ``HELSEDATA_AUDIT_KEY`` (64 hex characters) or ``$HELSEDATA_HOME/keys/audit.key``
(mode 0600, beside the pseudonymisation key), created race-free on first use when the log is
empty. Without it nobody can write an entry that verifies, so recomputing the chain after an edit
(with plain SHA-256 or any other key) is detected.

What :func:`verify` detects
    * an edited, inserted, removed or reordered entry, and a chain rewritten without the key;
    * a removed tail, when the head checkpoint was not moved with it;
    * any difference between the state tables and the log: a deleted or added charge, a raised
      budget, an un-revoked permit, an edited application;
    * with ``expect_head``: a log that no longer contains a head recorded elsewhere (the
      publication records :func:`current_head`), i.e. a log cut back to an earlier entry together
      with its head and tables.

What it cannot detect
    Someone holding the key can write any log. Without an anchor kept elsewhere, cutting off the
    newest entries *and* moving the head *and* undoing their state changes leaves a shorter log
    that verifies; ``expect_head`` with the last published head catches cuts below it, not above.

Other parts of the platform (publication-gate overrides in ``quality/``) append with
:func:`record`, which opens its own transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.config import Settings
from kernel.errors import ConfigurationError, RefusedError
from kernel.keys import NEW_KEY_HINT, create_key_file, hex_key, key_weakness, refuse_readable
from privacy.state import TABLE_KEYS, Change, ReplayError, apply_change, blank, canonical_json

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
KEY_FILE_NAME = "audit.key"


class AuditBroken(RefusedError):
    """The audit log is broken or the state tables disagree with it; the room will not act."""


@dataclass(frozen=True)
class AuditKey:
    """The chain's HMAC key; ``repr`` never shows it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if weakness := key_weakness(self.secret):
            raise ConfigurationError(f"revisjonsnøkkelen {weakness}; {NEW_KEY_HINT}")


def key_path(settings: Settings) -> Path:
    return settings.keys / KEY_FILE_NAME


def chain_key(settings: Settings, conn: sqlite3.Connection) -> AuditKey:
    """The audit key: ``HELSEDATA_AUDIT_KEY`` or the key file, created only while the log is empty.

    A key file readable by group or others is refused. When the log already has entries and no
    key can be found, a new key would make every earlier entry look forged, so that is an error.
    """
    if settings.audit_key_hex:
        return AuditKey(hex_key(settings.audit_key_hex, "$HELSEDATA_AUDIT_KEY", "revisjonsnøkkelen"))
    path = key_path(settings)
    if not path.exists():
        if conn.execute("select 1 from audit_log limit 1").fetchone():
            raise ConfigurationError(
                f"revisjonsloggen har oppføringer, men revisjonsnøkkelen mangler ({path}); legg tilbake nøkkelen "
                "eller sett HELSEDATA_AUDIT_KEY")
        create_key_file(path)
    refuse_readable(path, "revisjonsnøkkelen")
    return AuditKey(hex_key(path.read_text(encoding="ascii"), str(path), "revisjonsnøkkelen"))


def entry_hash(key: AuditKey, seq: int, timestamp: str, actor: str, action: str, details: str, prev_hash: str) -> str:
    """HMAC-SHA-256 (hex) of one entry; ``details`` is the stored canonical JSON text.

    >>> entry_hash(AuditKey(hashlib.sha256(b"doctest").digest()), 1, "2026-01-01T00:00:00+00:00", "alice", "apply", "{}", GENESIS_HASH)[:12]
    '3a098b177a6f'
    """
    payload = canonical_json(
        {"seq": seq, "timestamp": timestamp, "actor": actor, "action": action,
         "details": details, "prev_hash": prev_hash}
    )
    return hmac.new(key.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def append(conn: sqlite3.Connection, key: AuditKey, actor: str, action: str, details: dict[str, Any]) -> int:
    """Append one entry, apply the state change it records, and return its ``seq``.

    Call inside a write transaction (``privacy.state.transaction``, i.e. ``BEGIN IMMEDIATE``): it
    makes reading the head, writing the entry and changing the tables one atomic step. ``details``
    must be JSON-serialisable and, for the actions in :data:`privacy.state.TRANSITIONS`, carry
    what the change needs; do not put row-level data or pseudonyms in it — the log is read by
    auditors, not only by the room.

    >>> from privacy.state import connect, transaction
    >>> import tempfile, pathlib
    >>> conn = connect(pathlib.Path(tempfile.mkdtemp()) / "state.sqlite")
    >>> with transaction(conn):
    ...     append(conn, AuditKey(hashlib.sha256(b"doctest").digest()), "alice", "note", {"text": "hello"})
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
    digest = entry_hash(key, seq, timestamp, actor, action, details_json, prev_hash)
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
    apply_change(conn, Change(action, actor, timestamp, details))
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
        return append(conn, chain_key(settings, conn), actor, action, details)


@dataclass(frozen=True)
class Verification:
    """Result of :func:`verify`.

    ``first_broken_seq`` names the first entry of the chain that does not verify (``None`` when
    the chain holds); ``differences`` lists state rows that disagree with the log, each naming
    the table, the row, the column and the entry that last set it.
    """

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str | None = None
    differences: list[str] = field(default_factory=list)
    expected_head: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Replay:
    """The chain verified up to entry ``seq`` and the state rebuilt from it (in memory)."""

    key: AuditKey
    state: sqlite3.Connection = field(default_factory=blank)
    seq: int = 0
    last_hash: str = GENESIS_HASH
    hashes: set[str] = field(default_factory=lambda: {GENESIS_HASH})
    #: (table, key) → the entry that last wrote that row, to name it in a difference.
    last_entry: dict[tuple[str, str | int], int] = field(default_factory=dict)

    def extend(self, conn: sqlite3.Connection) -> tuple[int, str] | None:
        """Verify and apply the entries after ``seq``; ``(seq, reason)`` of the first broken one."""
        rows = conn.execute(
            "select seq, timestamp, actor, action, details, prev_hash, hash from audit_log where seq > ? order by seq",
            (self.seq,)).fetchall()
        for row in rows:
            seq, expected = row["seq"], self.seq + 1
            if seq != expected:
                return expected, f"oppføring {expected} mangler (neste lagrede oppføring er {seq})"
            if row["prev_hash"] != self.last_hash:
                return seq, f"oppføring {seq} følger ikke oppføring {seq - 1} (prev_hash stemmer ikke)"
            recomputed = entry_hash(self.key, seq, row["timestamp"], row["actor"], row["action"], row["details"],
                                    row["prev_hash"])
            if not hmac.compare_digest(recomputed, row["hash"]):
                return seq, f"oppføring {seq} er endret eller skrevet uten revisjonsnøkkelen (HMAC stemmer ikke)"
            try:
                change = Change(row["action"], row["actor"], row["timestamp"], _loads(row["details"]))
                for touched in apply_change(self.state, change):
                    self.last_entry[touched] = seq
            except (ReplayError, KeyError, TypeError, ValueError, sqlite3.Error) as e:
                return seq, f"oppføring {seq} ({row['action']}) kan ikke spilles av: {e}"
            self.seq, self.last_hash = seq, row["hash"]
            self.hashes.add(row["hash"])
        return None

    def check_head(self, conn: sqlite3.Connection) -> tuple[int, str] | None:
        """The head checkpoint must name the last verified entry."""
        head_seq, head_hash = _head(conn)
        if head_seq != self.seq:
            return (min(head_seq, self.seq) + 1,
                    f"hodet peker på oppføring {head_seq}, men loggen slutter ved oppføring {self.seq}")
        if head_hash != self.last_hash:
            return max(self.seq, 1), f"oppføring {self.seq} stemmer ikke med hodet"
        return None


@contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction, so the log and the tables are read as of the same commit.

    Without it another process could commit a charge (entry and ledger row) between reading the
    log and reading the ledger, and an honest charge would look forged. Inside a caller's write
    transaction the snapshot is already there.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("begin")
    try:
        yield
    finally:
        conn.execute("rollback")


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    head = conn.execute("select seq, hash from audit_head where id = 1").fetchone()
    return (head[0], head[1]) if head else (0, GENESIS_HASH)


#: Replays verified earlier in this process, per state file and key: a query then verifies only
#: the entries written since. Sound because the tables are always compared with a replay of
#: authentic entries, and new entries must chain on from the last verified hash.
_VERIFIED: dict[tuple[str, str], _Replay] = {}
_VERIFIED_LOCK = threading.Lock()
#: State files whose replays are kept (a process rarely serves more than one).
_VERIFIED_MAX = 8


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError("details is not a JSON object")
    return value


#: Restrict a comparison to one permit (its row, its application, its charges) or one application.
_FILTERS = {
    "permit_id": {
        "applications": "application_id in (select application_id from permits where permit_id = :value)",
        "permits": "permit_id = :value",
        "ledger": "permit_id = :value",
        "releases": "permit_id = :value",
        "release_reviews": "release_id in (select release_id from releases where permit_id = :value)",
    },
    "application_id": {
        "applications": "application_id = :value",
        "permits": "application_id = :value",
        "ledger": "permit_id in (select permit_id from permits where application_id = :value)",
        "releases": "permit_id in (select permit_id from permits where application_id = :value)",
        "release_reviews": "release_id in (select release_id from releases where permit_id in"
                           " (select permit_id from permits where application_id = :value))",
    },
    "release_id": {
        "applications": "application_id in (select application_id from permits where permit_id in"
                        " (select permit_id from releases where release_id = :value))",
        "permits": "permit_id in (select permit_id from releases where release_id = :value)",
        "ledger": "permit_id in (select permit_id from releases where release_id = :value)",
        "releases": "release_id = :value",
        "release_reviews": "release_id = :value",
    },
}


def _differences(actual: sqlite3.Connection, replay: _Replay, subject: tuple[str, str] | None = None) -> list[str]:
    """Rows of the state tables that differ from the replayed log (all, or one subject's rows).

    :param subject: ``("permit_id", id)`` or ``("application_id", id)``; ``None`` compares all.
    """
    out: list[str] = []
    for table, key in TABLE_KEYS.items():
        where = f" where {_FILTERS[subject[0]][table]}" if subject else ""
        sql = f"select * from {table}{where} order by {key}"
        params = {"value": subject[1]} if subject else {}
        have, want = actual.execute(sql, params).fetchall(), replay.state.execute(sql, params).fetchall()
        if [tuple(r) for r in have] != [tuple(r) for r in want]:
            out += _row_differences(table, {r[key]: dict(r) for r in have}, {r[key]: dict(r) for r in want},
                                    replay.last_entry)
    return out


def _row_differences(table: str, have: dict[Any, dict[str, Any]], want: dict[Any, dict[str, Any]],
                     last_entry: dict[tuple[str, str | int], int]) -> list[str]:
    """One line per row missing, extra or with a different column, naming the entry behind it."""
    out: list[str] = []
    for row_key in sorted(have.keys() | want.keys()):
        entry = last_entry.get((table, row_key))
        at = f" (oppføring {entry})" if entry else ""
        if row_key not in want:
            out.append(f"{table} {row_key}: finnes i tabellen, men ikke i revisjonsloggen")
        elif row_key not in have:
            out.append(f"{table} {row_key}: mangler i tabellen, men står i revisjonsloggen{at}")
        else:
            out += [f"{table} {row_key}: {col} er {have[row_key][col]!r} i tabellen, men "
                    f"{want[row_key][col]!r} etter revisjonsloggen{at}"
                    for col in want[row_key] if have[row_key][col] != want[row_key][col]]
    return out


def check(settings: Settings, conn: sqlite3.Connection, *, permit_id: str | None = None,
          application_id: str | None = None, release_id: str | None = None) -> None:
    """Refuse (:class:`AuditBroken`) unless the chain holds and the subject's rows match the log.

    The room runs this before it uses a permit (query, budget, revocation) or decides an
    application, so a permit un-revoked, a budget raised or charges deleted in the file are
    refused even before anyone runs ``audit verify``. The first call in a process replays the
    whole log; later calls verify only the entries written since (see :data:`_VERIFIED`).
    """
    subject = (("permit_id", permit_id) if permit_id else ("release_id", release_id) if release_id
               else ("application_id", application_id))
    if subject[1] is None:
        raise ValueError("check needs a permit_id, an application_id or a release_id")
    key = chain_key(settings, conn)
    cache_key = (str(settings.state_db), hashlib.sha256(key.secret).hexdigest())
    with _VERIFIED_LOCK, _snapshot(conn):
        replay = _VERIFIED.pop(cache_key, None)
        if replay is None or replay.extend(conn) or replay.check_head(conn):
            # nothing cached, or the file is not the one cached: judge it from its first entry
            replay = _Replay(key)
            broken = replay.extend(conn) or replay.check_head(conn)
            if broken is not None:
                raise AuditBroken(f"revisjonsloggen er brutt ved oppføring {broken[0]}: {broken[1]}")
        differences = _differences(conn, replay, subject)
        _VERIFIED[cache_key] = replay
        while len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.pop(next(iter(_VERIFIED)))
    if differences:
        name = {"permit_id": "tillatelse", "release_id": "utlevering", "application_id": "søknad"}[subject[0]]
        raise AuditBroken(f"{name} {subject[1]} stemmer ikke med revisjonsloggen: {differences[0]}")


def verify(settings: Settings, expect_head: str | None = None) -> Verification:
    """Check the keyed chain from its first entry, replay it, compare with the state tables.

    :param expect_head: a head hash recorded elsewhere (e.g. by a publication). The log must
        contain it: the log of that day is a prefix of today's.

    >>> import tempfile, pathlib
    >>> verify(Settings(home=pathlib.Path(tempfile.mkdtemp()))).ok
    True
    """
    from privacy.state import opened

    with opened(settings) as conn, _snapshot(conn):
        replay = _Replay(chain_key(settings, conn))
        broken = replay.extend(conn) or replay.check_head(conn)
        differences = _differences(conn, replay) if broken is None else []
        entries = conn.execute("select count(*) from audit_log").fetchone()[0]
        head_seq, head_hash = _head(conn)
    reason = broken[1] if broken else (differences[0] if differences else None)
    expected = expect_head.strip().lower() if expect_head else None
    if reason is None and expected is not None and expected not in replay.hashes:
        reason = (f"loggen inneholder ikke hodet {expected} som ble registrert utenfor databasen; "
                  "den er kuttet eller skrevet om")
    return Verification(reason is None, entries, head_seq, head_hash, broken[0] if broken else None,
                        reason, differences, expected)


def current_head(settings: Settings) -> str:
    """The head hash of a log that verifies, for recording outside the database (publication).

    Raises :class:`AuditBroken` when the log does not verify: anchoring a broken log would make
    the tampering look legitimate later.
    """
    result = verify(settings)
    if not result.ok:
        raise AuditBroken(f"revisjonsloggen verifiseres ikke: {result.reason}")
    return result.head_hash
