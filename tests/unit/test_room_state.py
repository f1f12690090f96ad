"""The room's SQLite state (privacy/state.py): the schema script runs as SQLite parses it."""

import sqlite3

import pytest

from privacy.state import connect, execute_script


def test_schema_script_keeps_double_dashes_inside_strings(tmp_path):
    """The schema runs through SQLite's own parser, not a line splitter that cuts at ``--``."""
    conn = connect(tmp_path / "state.sqlite")
    execute_script(conn, "create table notes (text text not null default 'a -- b'); -- a comment\n"
                         "insert into notes default values;")
    assert conn.execute("select text from notes").fetchone()[0] == "a -- b"
    assert {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")} >= {
        "applications", "permits", "ledger", "audit_log", "audit_head", "notes"}


def test_a_failing_script_changes_nothing(tmp_path):
    conn = connect(tmp_path / "state.sqlite")
    with pytest.raises(sqlite3.OperationalError):
        execute_script(conn, "create table first (x); create table first (y);")
    assert not conn.in_transaction
    assert conn.execute("select count(*) from sqlite_master where name = 'first'").fetchone()[0] == 0
