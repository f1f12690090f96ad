"""`helsedata room ...` end to end: JSON shapes and exit codes (docs/analysis-room.md)."""

import sqlite3

import pytest

from helsedata.config import Settings
from privacy.testing import vft_rows, write_rows


@pytest.fixture
def permit_id(run_cli, home):
    write_rows(Settings(home=home).warehouse, "vft_mottakere", vft_rows(100))
    app = run_cli("room", "apply", "--researcher", "forsker", "--purpose", "Study", "--datasets",
                  "vft_mottakere", "--epsilon", "1", "--json")
    assert app.exit_code == 0, app.stderr
    review = run_cli("room", "review", app.json()["application_id"], "--reviewer", "rev", "--approve",
                     "--epsilon", "1/2", "--expires", "2099-01-01", "--json")
    # 2099 is beyond the longest permit: bad input, exit 2
    assert review.exit_code == 2 and review.json()["ok"] is False
    review = run_cli("room", "review", app.json()["application_id"], "--reviewer", "rev", "--approve",
                     "--epsilon", "1/2", "--json")
    assert review.exit_code == 0, review.stderr
    return review.json()["permit_id"]


def test_datasets_catalogue_shape(run_cli):
    result = run_cli("room", "datasets", "--json")
    assert result.exit_code == 0
    entries = result.json()
    assert {e["name"] for e in entries} == {"vft_mottakere", "kpr_kontakter", "kpr_tjenester"}
    assert all({"name", "description", "group_by", "numeric"} <= set(e) for e in entries)


def test_apply_review_query_budget_audit(run_cli, permit_id):
    q = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn,tjenestetype", "--count", "--epsilon", "1/4", "--json")
    assert q.exit_code == 0, q.stderr
    body = q.json()
    assert {"rows", "mechanism", "epsilon_spent", "epsilon_remaining", "accuracy_95", "contribution_bound"} <= set(body)
    assert (body["epsilon_spent"], body["epsilon_remaining"], len(body["rows"])) == (0.25, 0.25, 8)

    m = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn", "--mean", "alder", "--bounds", "0,120", "--epsilon", "0.25", "--json")
    assert m.exit_code == 0, m.stderr
    assert set(m.json()["rows"][0]) == {"kjonn", "mean", "count"}

    b = run_cli("room", "budget", "--permit", permit_id, "--json")
    assert b.exit_code == 0
    assert {k: b.json()[k] for k in ("epsilon_budget", "epsilon_spent", "epsilon_remaining")} == {
        "epsilon_budget": 0.5, "epsilon_spent": 0.5, "epsilon_remaining": 0.0}

    over = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                   "--count", "--epsilon", "0.001", "--json")
    assert over.exit_code == 2
    assert over.json() == {"ok": False, "error": over.json()["error"], "errors": [over.json()["error"]], "status": 2}
    assert "RefusedError" in over.json()["error"] and "only ε = 0" in over.json()["error"]

    v = run_cli("room", "audit", "verify", "--json")
    assert v.exit_code == 0 and v.json()["ok"] is True and v.json()["entries"] == 5  # apply, approve, 2 queries, 1 refusal


def test_preview_spends_nothing(run_cli, permit_id):
    p = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn", "--quantile", "alder", "--q", "0.5", "--bounds", "0,120", "--epsilon", "0.1",
                "--preview", "--json")
    assert p.exit_code == 0, p.stderr
    assert p.json()["epsilon_spent"] == 0 and p.json()["mechanism"] == "exponential_quantile"
    assert run_cli("room", "budget", "--permit", permit_id, "--json").json()["epsilon_spent"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("--count", "--epsilon", "0"),
        ("--count", "--epsilon", "nan"),
        ("--count", "--epsilon", "-1"),
        ("--count", "--epsilon", "inf"),
        ("--count", "--sum", "alder", "--bounds", "0,1", "--epsilon", "0.1"),
        ("--sum", "alder", "--epsilon", "0.1"),
        ("--sum", "fodselsaar", "--bounds", "0,1", "--epsilon", "0.1"),
        ("--count", "--by", "person_id", "--epsilon", "0.1"),
        ("--count", "--researcher", "someone-else", "--epsilon", "0.1"),
        ("--count", "--dataset", "kpr_kontakter", "--epsilon", "0.1"),
    ],
    ids=["zero", "nan", "negative", "inf", "two-statistics", "no-bounds", "not-numeric", "not-public-key",
         "not-holder", "dataset-outside-permit"],
)
def test_bad_queries_exit_2_and_spend_nothing(run_cli, permit_id, args):
    base = {"--researcher": "forsker", "--dataset": "vft_mottakere"}
    args = list(args)
    for option, value in base.items():
        if option not in args:
            args += [option, value]
    r = run_cli("room", "query", "--permit", permit_id, *args, "--json")
    assert r.exit_code == 2, r.stdout + r.stderr
    assert r.json()["ok"] is False
    assert run_cli("room", "budget", "--permit", permit_id, "--json").json()["epsilon_spent"] == 0


def test_self_review_and_reject_without_reason_exit_2(run_cli):
    app = run_cli("room", "apply", "--researcher", "a", "--purpose", "p", "--datasets", "kpr_kontakter",
                  "--epsilon", "1", "--json").json()["application_id"]
    r = run_cli("room", "review", app, "--reviewer", "a", "--approve")
    assert r.exit_code == 2 and "own application" in r.stderr
    r = run_cli("room", "review", app, "--reviewer", "b", "--reject", "--json")
    assert r.exit_code == 2 and "reason" in r.json()["error"]
    r = run_cli("room", "review", app, "--reviewer", "b", "--reject", "--reason", "no ethics approval", "--json")
    assert r.exit_code == 0 and r.json()["status"] == "rejected"


def test_revoked_permit_is_refused(run_cli, permit_id):
    assert run_cli("room", "revoke", permit_id, "--by", "admin", "--reason", "ended").exit_code == 0
    r = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--count", "--epsilon", "0.1")
    assert r.exit_code == 2 and "revoked" in r.stderr


def test_audit_verify_names_the_broken_entry(run_cli, permit_id, home):
    conn = sqlite3.connect(Settings(home=home).state_db, isolation_level=None)
    conn.execute("drop trigger audit_no_update")
    conn.execute("update audit_log set actor = 'mallory' where seq = 2")
    conn.close()
    r = run_cli("room", "audit", "verify", "--json")
    assert r.exit_code == 2
    assert r.json()["first_broken_seq"] == 2 and r.json()["ok"] is False
    assert "entry 2" in r.stderr
