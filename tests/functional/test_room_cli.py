"""`helsedata room ...` end to end: JSON shapes and exit codes (docs/analysis-room.md)."""

import hashlib
import re
import sqlite3

import pytest

from kernel.config import Settings
from kernel.warehouse import writer
from privacy.testing import vft_rows, write_rows


@pytest.fixture
def warehouse(home):
    """An empty warehouse: room commands refuse to run without one."""
    with writer(Settings(home=home)):
        pass


@pytest.fixture
def permit_id(run_cli, home):
    write_rows(Settings(home=home), "vft_mottakere", vft_rows(100))
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
    assert {e["name"] for e in entries} == {"vft_mottakere", "kpr_kontakter", "kpr_tjenester", "person_aar"}
    assert all({"name", "description", "group_by", "numeric"} <= set(e) for e in entries)
    person_aar = next(e for e in entries if e["name"] == "person_aar")
    assert person_aar["group_by"][:5] == ["aar", "kommunenummer", "fylke", "kjonn", "aldersgruppe"]
    assert "has_vft" in person_aar["group_by"] and {"n_tjenester", "n_kontakter"} <= set(person_aar["numeric"])
    assert person_aar["contribution_bound"] == 10


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
    assert "RefusedError" in over.json()["error"] and "bare ε = 0" in over.json()["error"]

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


def test_self_review_and_reject_without_reason_exit_2(run_cli, warehouse):
    app = run_cli("room", "apply", "--researcher", "a", "--purpose", "p", "--datasets", "kpr_kontakter",
                  "--epsilon", "1", "--json").json()["application_id"]
    r = run_cli("room", "review", app, "--reviewer", "a", "--approve")
    assert r.exit_code == 2 and "sin egen søknad" in r.stderr
    r = run_cli("room", "review", app, "--reviewer", "b", "--reject", "--json")
    assert r.exit_code == 2 and "begrunnelse" in r.json()["error"]
    r = run_cli("room", "review", app, "--reviewer", "b", "--reject", "--reason", "no ethics approval", "--json")
    assert r.exit_code == 0 and r.json()["status"] == "rejected"


def test_revoked_permit_is_refused(run_cli, permit_id):
    assert run_cli("room", "revoke", permit_id, "--by", "admin", "--reason", "ended").exit_code == 0
    r = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--count", "--epsilon", "0.1")
    assert r.exit_code == 2 and "tilbakekalt" in r.stderr


def test_audit_verify_names_the_broken_entry(run_cli, permit_id, home):
    conn = sqlite3.connect(Settings(home=home).state_db, isolation_level=None)
    conn.execute("drop trigger audit_no_update")
    conn.execute("update audit_log set actor = 'mallory' where seq = 2")
    conn.close()
    r = run_cli("room", "audit", "verify", "--json")
    assert r.exit_code == 2
    assert r.json()["first_broken_seq"] == 2 and r.json()["ok"] is False
    assert "oppføring 2" in r.stderr


def test_audit_verify_names_a_state_table_that_disagrees_with_the_log(run_cli, permit_id, home):
    conn = sqlite3.connect(Settings(home=home).state_db, isolation_level=None)
    conn.execute("update permits set budget_num = '5', budget_den = '1'")
    conn.close()
    r = run_cli("room", "audit", "verify", "--json")
    assert r.exit_code == 2 and r.json()["ok"] is False and r.json()["first_broken_seq"] is None
    assert r.json()["differences"] == [
        f"permits {permit_id}: budget_num er '5' i tabellen, men '1' etter revisjonsloggen (oppføring 2)",
        f"permits {permit_id}: budget_den er '1' i tabellen, men '2' etter revisjonsloggen (oppføring 2)"]
    assert "mot tilstandstabellene" in r.stderr and f"permits {permit_id}: budget_den" in r.stderr
    q = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--count", "--epsilon", "5", "--json")
    assert q.exit_code == 2 and q.json()["error"].startswith("AuditBroken: tillatelse")


def test_audit_verify_against_a_head_kept_elsewhere(run_cli, permit_id, home):
    from privacy.audit import current_head

    head = current_head(Settings(home=home))
    assert run_cli("room", "audit", "verify", "--expect-head", head).exit_code == 0
    assert run_cli("room", "revoke", permit_id, "--by", "admin", "--reason", "ended").exit_code == 0
    assert run_cli("room", "audit", "verify", "--expect-head", head.upper()).exit_code == 0  # log grew: fine
    r = run_cli("room", "audit", "verify", "--expect-head", "ab" * 32, "--json")
    assert r.exit_code == 2 and r.json()["expected_head"] == "ab" * 32
    assert "kuttet eller skrevet om" in r.json()["error"]


def test_the_audit_key_comes_from_the_environment(run_cli, home, warehouse):
    env = {"HELSEDATA_AUDIT_KEY": hashlib.sha256(b"audit key from the environment").hexdigest()}
    assert run_cli("room", "apply", "--researcher", "a", "--purpose", "p", "--datasets", "kpr_kontakter",
                   "--epsilon", "1", environ=env).exit_code == 0
    assert not (home / "keys" / "audit.key").exists()
    assert run_cli("room", "audit", "verify", environ=env).exit_code == 0
    weak = run_cli("room", "audit", "verify", "--json", environ={"HELSEDATA_AUDIT_KEY": "00" * 32})
    assert weak.exit_code == 2 and "ulike byteverdier" in weak.json()["error"]


# ------------------------------------------------------------------ readable output (bokmål, Norwegian numbers)

NORWEGIAN_INTEGER = r"-?\d{1,3}(?:\u202f\d{3})*"


def test_query_text_is_a_table_of_integers_with_a_rounded_accuracy(run_cli, permit_id):
    r = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn,tjenestetype", "--count", "--epsilon", "1/4")
    assert r.exit_code == 0, r.stderr
    table, _, footer = r.stdout.partition("\n\n")
    lines = table.splitlines()
    assert lines[0].split() == ["kjonn", "tjenestetype", "antall"] and len(lines) == 9
    assert all(re.fullmatch(NORWEGIAN_INTEGER, line.split()[-1]) for line in lines[1:]), table
    assert re.search(r"diskret Laplace; 95 % nøyaktighet ± \d+ på antallet i hver celle\.", footer), footer
    assert "ε brukt 1/4, igjen 1/4." in footer
    assert not re.search(r"[{}\[\]']|None|\d\.\d", r.stdout), r.stdout


def test_mean_text_has_one_decimal_and_integer_counts(run_cli, permit_id):
    r = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn", "--mean", "alder", "--bounds", "0,120", "--epsilon", "1/4")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["kjonn", "gjennomsnitt", "antall"]
    for line in lines[1:3]:
        _, mean, count = line.split()
        assert re.fullmatch(r"-?\d+,\d|–", mean) and re.fullmatch(NORWEGIAN_INTEGER, count), line
    assert re.search(rf"± {NORWEGIAN_INTEGER} på summen og ± {NORWEGIAN_INTEGER} på antallet", r.stdout)
    assert "{" not in r.stdout and "None" not in r.stdout


def test_preview_quantile_and_budget_text(run_cli, permit_id):
    q = run_cli("room", "query", "--permit", permit_id, "--researcher", "forsker", "--dataset", "vft_mottakere",
                "--by", "kjonn", "--quantile", "alder", "--q", "0.5", "--bounds", "0,120", "--epsilon", "1",
                "--preview")
    assert q.exit_code == 0
    assert q.stdout.splitlines() == [
        "Forhåndsvisning, ingenting brukt: eksponensiell mekanisme; ingen lukket nøyaktighetsgrense for kvantilen.",
        "Spørringen koster ε = 1 og overstiger det som er igjen (ε = 1/2)."]
    b = run_cli("room", "budget", "--permit", permit_id)
    assert b.stdout.startswith(f"Tillatelse {permit_id}: budsjett ε = 1/2, brukt 0, igjen 1/2 (aktiv, gyldig til og med ")
    assert re.search(r"\d{2}\.\d{2}\.\d{4}\)\.$", b.stdout.strip())


def test_applications_pending_is_the_reviewers_queue(run_cli, permit_id):
    waiting = run_cli("room", "apply", "--researcher", "Kari", "--purpose", "Kontakter 80+", "--datasets",
                      "kpr_kontakter,vft_mottakere", "--epsilon", "0.5", "--json").json()["application_id"]
    pending = run_cli("room", "applications", "--pending", "--json")
    assert pending.exit_code == 0
    assert [(a["application_id"], a["researcher"], a["status"], a["epsilon_exact"], a["datasets"], a["permit_id"])
            for a in pending.json()] == [(waiting, "kari", "submitted", "1/2", ["kpr_kontakter", "vft_mottakere"], None)]
    everything = run_cli("room", "applications", "--json").json()
    assert [(a["status"], a["permit_id"], a["reviewer"]) for a in everything] == [
        ("approved", permit_id, "rev"), ("submitted", None, None)]
    text = run_cli("room", "applications", "--pending").stdout.splitlines()
    assert text[0].split()[:5] == ["søknad", "forsker", "datasett", "ε", "sendt"]
    assert text[1].split()[:5] == [waiting, "kari", "kpr_kontakter,", "vft_mottakere", "1/2"]
    assert "venter på vurdering" in text[1] and len(text) == 2
    run_cli("room", "review", waiting, "--reviewer", "rev", "--reject", "--reason", "mangler etisk godkjenning")
    assert run_cli("room", "applications", "--pending").stdout.strip() == "Ingen søknader venter på vurdering."


def test_room_commands_refuse_without_a_warehouse(run_cli, home):
    result = run_cli("room", "budget", "--permit", "P000001", "--json")
    assert result.exit_code == 2
    assert "fant ikke noe varehus" in result.json()["error"]
    assert not (home / "state.sqlite").exists()  # no empty room was made on the way
