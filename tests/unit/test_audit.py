"""The keyed, hash-chained audit log (privacy/audit.py): append, verify, replay, and tampering of every kind."""

import hashlib
import multiprocessing
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kernel.config import Settings
from kernel.errors import ConfigurationError
from privacy import audit
from privacy.room import apply, review, revoke
from privacy.state import canonical_json, connect, opened, transaction
from privacy.testing import permit

KEY = audit.AuditKey(hashlib.sha256(b"test audit key").digest())


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
        audit.append(conn, KEY, "a", "b", {})


def test_append_rolls_back_with_its_transaction(settings):
    conn = connect(settings.state_db)
    with pytest.raises(RuntimeError), transaction(conn):
        audit.append(conn, KEY, "a", "b", {})
        raise RuntimeError("the change being recorded failed")
    assert audit.verify(settings).entries == 0


def rehash_with_sha256(settings, from_seq):
    """What an attacker without the key can do: recompute every hash from ``from_seq`` with plain
    SHA-256 (the unkeyed chain's formula), relink the chain and move the head to the new end."""
    conn = sqlite3.connect(settings.state_db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("drop trigger if exists audit_no_update")
    rows = conn.execute("select * from audit_log order by seq").fetchall()
    prev = rows[from_seq - 2]["hash"] if from_seq > 1 else audit.GENESIS_HASH
    for row in rows[from_seq - 1:]:
        payload = canonical_json({"seq": row["seq"], "timestamp": row["timestamp"], "actor": row["actor"],
                                  "action": row["action"], "details": row["details"], "prev_hash": prev})
        digest = hashlib.sha256(payload.encode()).hexdigest()
        conn.execute("update audit_log set prev_hash = ?, hash = ? where seq = ?", (prev, digest, row["seq"]))
        prev = digest
    conn.execute("update audit_head set seq = ?, hash = ?", (rows[-1]["seq"], prev))
    conn.close()


def test_a_chain_rehashed_without_the_key_is_detected(logged):
    tamper(logged, "update audit_log set details = '{\"i\":99}' where seq = 3")
    rehash_with_sha256(logged, 3)
    result = audit.verify(logged)
    assert not result.ok and result.first_broken_seq == 3
    assert "revisjonsnøkkelen" in result.reason


def test_a_cut_log_with_a_moved_head_is_caught_only_against_a_head_kept_elsewhere(logged):
    published = audit.current_head(logged)
    audit.record(logged, "actor5", "test", {"i": 5})
    assert audit.verify(logged, expect_head=published).ok  # the log grew since: still contains the anchor
    conn = connect(logged.state_db)
    earlier = conn.execute("select seq, hash from audit_log where seq = 3").fetchone()
    tamper(logged, "delete from audit_log where seq > 3",
           f"update audit_head set seq = {earlier['seq']}, hash = '{earlier['hash']}'")
    assert audit.verify(logged).ok  # a consistent prefix: undetectable from inside the file
    result = audit.verify(logged, expect_head=published)
    assert not result.ok and "kuttet eller skrevet om" in result.reason and result.expected_head == published


def test_the_key_file_is_private_and_created_once(settings):
    audit.record(settings, "a", "note", {})
    path = audit.key_path(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    audit.record(settings, "b", "note", {})
    assert path.read_text() == first and audit.verify(settings).ok


def _create_key(home: str) -> str:
    settings = Settings(home=Path(home))
    with opened(settings) as conn:
        return audit.chain_key(settings, conn).secret.hex()


def test_processes_racing_on_a_fresh_home_all_get_the_same_complete_key(tmp_path):
    homes = [str(tmp_path / f"home{i}") for i in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        for home in homes:
            keys = pool.map(_create_key, [home] * 8)
            assert len(set(keys)) == 1 and len(keys[0]) == 64


def test_a_key_file_others_can_read_is_refused(settings):
    audit.record(settings, "a", "note", {})
    os.chmod(audit.key_path(settings), 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        audit.verify(settings)


@pytest.mark.parametrize("key_hex", ["00" * 32, "ab" * 16, "not hex"], ids=["all-zero", "short", "not-hex"])
def test_weak_or_malformed_keys_are_refused(settings, key_hex):
    with pytest.raises(ConfigurationError, match="revisjonsnøkkelen"):
        audit.record(replace(settings, audit_key_hex=key_hex), "a", "note", {})


def test_the_environment_key_signs_the_chain(settings):
    keyed = replace(settings, audit_key_hex=hashlib.sha256(b"first").hexdigest())
    audit.record(keyed, "a", "note", {})
    assert audit.verify(keyed).ok
    assert not audit.key_path(settings).exists()
    assert audit.verify(replace(settings, audit_key_hex=hashlib.sha256(b"second").hexdigest())).first_broken_seq == 1


def test_entries_without_a_key_file_are_not_signed_with_a_new_key(logged):
    audit.key_path(logged).unlink()
    with pytest.raises(ConfigurationError, match="revisjonsnøkkelen mangler"):
        audit.record(logged, "a", "note", {})


# ------------------------------------------------------------------ the state tables against the log


@pytest.fixture
def room(settings):
    """Two permits (one revoked) and a rejected application, all made through the room."""
    kept = permit(settings, epsilon="2")
    gone = permit(settings, epsilon="1", researcher="forsker2")
    revoke(settings, gone, "admin", "prosjektet er avsluttet")
    app = apply(settings, "forsker3", "p", "vft_mottakere", "1")["application_id"]
    review(settings, app, "saksbehandler", approve=False, reason="mangler etisk godkjenning")
    return settings, kept, gone


def test_the_state_rebuilt_from_the_log_matches_the_tables(room):
    settings, _, _ = room
    result = audit.verify(settings)
    assert result.ok and result.differences == [] and result.entries == 7


@pytest.mark.parametrize(
    ("statements", "difference"),
    [
        ([("update permits set status = 'active', revoked_at = null, revoked_by = null, revoke_reason = null "
           "where permit_id = 'P000002'")], "permits P000002: status er 'active' i tabellen, men 'revoked'"),
        (["update permits set budget_num = '10' where permit_id = 'P000001'"],
         "permits P000001: budget_num er '10' i tabellen, men '2' etter revisjonsloggen (oppføring 2)"),
        (["update applications set researcher = 'saksbehandler' where application_id = 'A000001'"],
         "applications A000001: researcher er 'saksbehandler'"),
        (["update applications set status = 'submitted' where application_id = 'A000003'"],
         "applications A000003: status er 'submitted'"),
        ([("insert into permits values ('P000009', 'A000003', 'forsker3', '[\"vft_mottakere\"]', '10', '1', "
           "'2099-01-01', 'active', '2026-01-01', null, null, null)")],
         "permits P000009: finnes i tabellen, men ikke i revisjonsloggen"),
        (["delete from permits where permit_id = 'P000002'"], "permits P000002: mangler i tabellen"),
    ],
    ids=["un-revoked", "budget-raised", "applicant-changed", "rejection-undone", "permit-forged", "permit-deleted"],
)
def test_state_tampering_is_named_by_verify(room, statements, difference):
    settings, _, _ = room
    conn = sqlite3.connect(settings.state_db, isolation_level=None)
    conn.execute("pragma foreign_keys = off")
    for statement in statements:
        conn.execute(statement)
    conn.close()
    result = audit.verify(settings)
    assert not result.ok and result.first_broken_seq is None
    assert any(difference in d for d in result.differences), result.differences
    assert result.reason == result.differences[0]


def test_current_head_refuses_a_log_that_does_not_verify(room):
    settings, _, _ = room
    assert audit.current_head(settings) == audit.verify(settings).head_hash
    tamper(settings, "update audit_log set actor = 'mallory' where seq = 4")
    with pytest.raises(audit.AuditBroken, match="oppføring 4"):
        audit.current_head(settings)


def test_a_new_state_file_at_the_same_path_is_judged_from_its_first_entry(settings):
    """The room remembers what it verified per state file; a file replaced by a fresh one is
    not mistaken for a cut log (and a cut one is still compared with its own replay)."""
    from privacy.budget import parse_epsilon
    from privacy.room import QueryRequest, query

    def preview(pid):
        req = QueryRequest(pid, "forsker", "vft_mottakere", ("kjonn",), "count", parse_epsilon("1"))
        return query(settings, req, preview=True)["preview"]

    assert preview(permit(settings)) and preview(permit(settings))
    for path in settings.home.glob("state.sqlite*"):
        path.unlink()
    assert preview(permit(settings))
