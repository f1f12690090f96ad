"""The hash-chained audit log (privacy/audit.py): append, verify, and tampering of every kind."""

import sqlite3

import pytest

from privacy import audit
from privacy.state import connect, transaction


@pytest.fixture
def logged(settings):
    """Five entries in the state database."""
    for i in range(5):
        audit.record(settings, f"actor{i}", "test", {"i": i})
    return settings


def tamper(settings, *statements):
    """Change the log the way an attacker with file access would (triggers dropped first)."""
    conn = sqlite3.connect(settings.state_db, isolation_level=None)
    conn.execute("drop trigger audit_no_update")
    conn.execute("drop trigger audit_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_intact_chain_verifies(logged):
    result = audit.verify(logged)
    assert (result.ok, result.entries, result.head_seq, result.first_broken_seq) == (True, 5, 5, None)


def test_entries_link_to_their_predecessor(logged):
    conn = connect(logged.state_db)
    rows = conn.execute("select prev_hash, hash from audit_log order by seq").fetchall()
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH
    assert all(rows[i]["prev_hash"] == rows[i - 1]["hash"] for i in range(1, len(rows)))


@pytest.mark.parametrize(
    ("statements", "first_broken"),
    [
        (["update audit_log set details = '{\"i\":99}' where seq = 3"], 3),
        (["update audit_log set actor = 'mallory' where seq = 1"], 1),
        (["delete from audit_log where seq = 2"], 2),
        # swap entries 2 and 4 (contents move, seq numbers stay)
        (["update audit_log set seq = -2 where seq = 2", "update audit_log set seq = 2 where seq = 4",
          "update audit_log set seq = 4 where seq = -2"], 2),
        # remove the tail: the head checkpoint still names entry 5
        (["delete from audit_log where seq >= 4"], 4),
    ],
    ids=["edit-details", "edit-actor", "delete-middle", "reorder", "truncate-tail"],
)
def test_tampering_is_detected(logged, statements, first_broken):
    tamper(logged, *statements)
    result = audit.verify(logged)
    assert not result.ok
    assert result.first_broken_seq == first_broken, result.reason


def test_triggers_block_accidental_edits(logged):
    conn = connect(logged.state_db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("delete from audit_log where seq = 1")


def test_append_outside_a_transaction_is_an_error(settings):
    conn = connect(settings.state_db)
    with pytest.raises(ValueError, match="transaction"):
        audit.append(conn, "a", "b", {})


def test_append_rolls_back_with_its_transaction(settings):
    conn = connect(settings.state_db)
    with pytest.raises(RuntimeError), transaction(conn):
        audit.append(conn, "a", "b", {})
        raise RuntimeError("the change being recorded failed")
    assert audit.verify(settings).entries == 0
