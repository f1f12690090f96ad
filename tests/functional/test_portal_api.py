"""The portal's JSON API (/api/v1) against a real `helsedata serve` on loopback (docs/portal.md, "API")."""

from __future__ import annotations

import json
import threading
from fractions import Fraction

import httpx
import pytest

from privacy.audit import verify
from privacy.state import connect
from tests.functional.portal_server import running_portal

APPLICATION = {"title": "Velferdsteknologi i kommunene", "purpose": "Hvem får trygghetsalarm?",
               "purpose_category": "e", "legal_basis": "GDPR art. 6 nr. 1 e og art. 9 nr. 2 j",
               "ethics_approval": "REK 2026/12345", "datasets": ["vft_mottakere"], "epsilon": "1",
               "duration_months": 12, "dpo_contact": "personvern@example.no"}


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with running_portal(tmp_path_factory.mktemp("home")) as p:
        yield p


@pytest.fixture(scope="module")
def tokens(portal):
    return {name: portal.token(name) for name in ("kari", "per", "ola", "admin", "eier")}


def call(portal, method: str, path: str, token: str | None = None, body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, portal.url + "/api/v1" + path, headers=headers, json=body, timeout=120)


def apply(portal, token, **changes) -> str:
    r = call(portal, "POST", "/applications", token, {**APPLICATION, **changes})
    assert r.status_code == 200, r.text
    return r.json()["application_id"]


def approve(portal, token, application_id, epsilon: str | None = None) -> str:
    """Approve (ε as requested unless given) until the end of next year."""
    decision = {"approve": True, "expires": "2027-12-31", **({"epsilon": epsilon} if epsilon else {})}
    r = call(portal, "POST", f"/applications/{application_id}/decision", token, decision)
    assert r.status_code == 200, r.text
    return r.json()["permit_id"]


@pytest.mark.parametrize("method,path", [("POST", "/applications"), ("GET", "/applications?status=pending"),
                                         ("POST", "/applications/A000001/decision"),
                                         ("POST", "/permits/P000001/queries"), ("GET", "/permits/P000001/budget")])
@pytest.mark.parametrize("token", [None, "hd_not-a-token"], ids=["no-token", "unknown-token"])
def test_every_endpoint_needs_a_valid_token(portal, method, path, token):
    r = call(portal, method, path, token, {} if method == "POST" else None)
    assert r.status_code == 401
    assert set(r.json()) == {"error", "message"} and r.headers["www-authenticate"] == "Bearer"


def test_identity_comes_from_the_token_not_the_body(portal, tokens):
    application_id = apply(portal, tokens["kari"], researcher="per", reviewer="ola")
    queue = call(portal, "GET", "/applications?status=pending", tokens["ola"]).json()
    mine = next(a for a in queue if a["application_id"] == application_id)
    assert mine["researcher"] == "kari"
    assert (mine["title"], mine["ethics_approval"], mine["duration_months"]) == (
        APPLICATION["title"], "REK 2026/12345", 12)
    with connect(portal.settings.state_db) as conn:
        entry = conn.execute("select actor from audit_log where action = 'apply' and details like ?",
                             (f'%{application_id}%',)).fetchone()
    assert entry["actor"] == "kari"


def test_roles_and_permit_holders_are_enforced(portal, tokens):
    application_id = apply(portal, tokens["kari"])
    # a researcher cannot see the queue or decide; a registry owner may see the queue but not decide
    assert call(portal, "GET", "/applications?status=pending", tokens["kari"]).status_code == 403
    assert call(portal, "GET", "/applications?status=pending", tokens["eier"]).status_code == 200
    for who in ("kari", "eier"):
        r = call(portal, "POST", f"/applications/{application_id}/decision", tokens[who], {"approve": True})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    # a reviewer cannot apply
    assert call(portal, "POST", "/applications", tokens["ola"], APPLICATION).status_code == 403
    permit_id = approve(portal, tokens["ola"], application_id)
    query = {"dataset": "vft_mottakere", "by": ["kjonn"], "statistic": "count", "epsilon": "1/10"}
    # another researcher's permit: 403, and nothing is spent
    assert call(portal, "POST", f"/permits/{permit_id}/queries", tokens["per"], query).status_code == 403
    assert call(portal, "GET", f"/permits/{permit_id}/budget", tokens["per"]).status_code == 403
    assert call(portal, "GET", f"/permits/{permit_id}/budget", tokens["kari"]).json()["epsilon_spent"] == 0
    # the reviewer may read the budget but not query
    assert call(portal, "GET", f"/permits/{permit_id}/budget", tokens["ola"]).status_code == 200
    assert call(portal, "POST", f"/permits/{permit_id}/queries", tokens["ola"], query).status_code == 403
    assert call(portal, "GET", "/permits/P999999/budget", tokens["kari"]).status_code == 404


def test_query_and_budget_answer_as_the_cli(portal, tokens, run_cli):
    permit_id = approve(portal, tokens["ola"], apply(portal, tokens["kari"]), epsilon="1/2")
    r = call(portal, "POST", f"/permits/{permit_id}/queries", tokens["kari"],
             {"dataset": "vft_mottakere", "by": ["kjonn", "tjenestetype"], "statistic": "count", "epsilon": "1/4"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"rows", "mechanism", "epsilon_spent", "epsilon_remaining", "accuracy_95", "contribution_bound"} <= set(body)
    assert (body["epsilon_spent_exact"], body["epsilon_remaining_exact"], len(body["rows"])) == ("1/4", "1/4", 8)
    mean = call(portal, "POST", f"/permits/{permit_id}/queries", tokens["kari"],
                {"dataset": "vft_mottakere", "by": ["kjonn"], "statistic": "mean", "column": "alder",
                 "bounds": [0, 120], "epsilon": "0,125"})  # a decimal comma is read as a point
    assert mean.status_code == 200 and set(mean.json()["rows"][0]) == {"kjonn", "mean", "count"}
    budget = call(portal, "GET", f"/permits/{permit_id}/budget", tokens["kari"]).json()
    cli = run_cli("room", "budget", "--permit", permit_id, "--json", environ={"HELSEDATA_HOME": str(portal.settings.home)})
    assert cli.exit_code == 0 and budget == cli.json()
    assert (budget["epsilon_spent_exact"], budget["epsilon_remaining_exact"]) == ("3/8", "1/8")


@pytest.mark.parametrize("body,status", [
    ({"epsilon": "1/2"}, 409),                                  # more than is left
    ({"epsilon": "nan"}, 422),
    ({"epsilon": "0"}, 422),
    ({"by": ["person_id"]}, 422),                               # not a public key
    ({"statistic": "sum", "column": "alder"}, 422),             # no bounds
    ({"dataset": "kpr_kontakter"}, 409),                        # outside the permit
    ({"statistic": "median"}, 422),
], ids=["over-budget", "nan", "zero", "not-public-key", "no-bounds", "outside-permit", "unknown-statistic"])
def test_refusals_are_409_bad_input_422_and_spend_nothing(portal, tokens, body, status):
    permit_id = approve(portal, tokens["ola"], apply(portal, tokens["kari"], epsilon="1/4"))
    query = {"dataset": "vft_mottakere", "by": ["kjonn"], "statistic": "count", "epsilon": "1/10", **body}
    r = call(portal, "POST", f"/permits/{permit_id}/queries", tokens["kari"], query)
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error", "message"} and r.json()["message"]
    assert call(portal, "GET", f"/permits/{permit_id}/budget", tokens["kari"]).json()["epsilon_spent"] == 0


@pytest.mark.parametrize("body", [{"approve": "yes"}, {"approve": False, "reason": ["x"]},
                                  {"approve": True, "expires": {"d": 1}}, {"approve": True, "epsilon": "abc"}])
def test_malformed_decisions_are_422(portal, tokens, body):
    application_id = apply(portal, tokens["kari"])
    r = call(portal, "POST", f"/applications/{application_id}/decision", tokens["ola"], body)
    assert r.status_code == 422 and r.json()["error"] == "bad_input", r.text


@pytest.mark.parametrize("body", [{"column": ["alder"], "statistic": "sum", "bounds": [0, 1]},
                                  {"bounds": {"lo": 0}, "statistic": "sum", "column": "alder"},
                                  {"by": "kjonn,kjonn"}, {"q": "halv", "statistic": "quantile"}])
def test_malformed_queries_are_422(portal, tokens, body):
    permit_id = approve(portal, tokens["ola"], apply(portal, tokens["kari"]))
    query = {"dataset": "vft_mottakere", "by": ["kjonn"], "statistic": "count", "epsilon": "1/10", **body}
    r = call(portal, "POST", f"/permits/{permit_id}/queries", tokens["kari"], query)
    assert r.status_code == 422 and r.json()["error"] == "bad_input", r.text


def test_self_review_is_refused_with_409(portal, tokens):
    application_id = apply(portal, tokens["admin"])
    r = call(portal, "POST", f"/applications/{application_id}/decision", tokens["admin"], {"approve": True})
    assert r.status_code == 409 and r.json()["error"] == "refused"
    pending = call(portal, "GET", "/applications?status=pending", tokens["admin"]).json()
    assert application_id in {a["application_id"] for a in pending}
    r = call(portal, "POST", f"/applications/{application_id}/decision", tokens["ola"],
             {"approve": False, "reason": "Mangler REK-godkjenning"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = call(portal, "POST", f"/applications/{application_id}/decision", tokens["ola"], {"approve": True})
    assert r.status_code == 409  # already decided


@pytest.mark.parametrize("change,message", [
    ({"purpose_category": "z"}, "art. 53"), ({"ethics_approval": ""}, "REK"), ({"duration_months": 0}, "måneder"),
    ({"dpo_contact": "ikke-epost"}, "e-post"), ({"datasets": []}, "datasett"), ({"datasets": ["finnes_ikke"]}, "finnes_ikke"),
    ({"epsilon": "11"}, "ε = 10"), ({"title": "  "}, "tittel"),
], ids=["category", "ethics", "duration", "dpo", "no-datasets", "unknown-dataset", "too-much-epsilon", "title"])
def test_application_fields_are_checked(portal, tokens, change, message):
    r = call(portal, "POST", "/applications", tokens["kari"], {**APPLICATION, **change})
    assert r.status_code == 422 and message in r.json()["message"], r.text


def test_thirty_concurrent_queries_never_overspend(portal, tokens):
    """30 threads against the real server spend ε = 1/10 each from a budget of 1: exactly 10 succeed."""
    permit_id = approve(portal, tokens["ola"], apply(portal, tokens["kari"], epsilon="1"))
    query = {"dataset": "vft_mottakere", "by": ["kjonn"], "statistic": "count", "epsilon": "1/10"}
    start = threading.Barrier(30)
    statuses: list[int] = []

    def one() -> None:
        start.wait()
        statuses.append(call(portal, "POST", f"/permits/{permit_id}/queries", tokens["kari"], query).status_code)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 10 + [409] * 20
    budget = call(portal, "GET", f"/permits/{permit_id}/budget", tokens["kari"]).json()
    assert (budget["epsilon_spent_exact"], budget["epsilon_remaining_exact"]) == ("1", "0")
    with connect(portal.settings.state_db) as conn:
        charges = conn.execute("select epsilon_num, epsilon_den from ledger where permit_id = ?", (permit_id,)).fetchall()
    assert sum(Fraction(int(n), int(d)) for n, d in charges) == 1 and len(charges) == 10
    assert verify(portal.settings).ok


def test_account_changes_are_audited(portal, tokens):
    with connect(portal.settings.state_db) as conn:
        rows = conn.execute("select actor, action, details from audit_log where action in"
                            " ('user_add', 'token_issue')").fetchall()
    added = {json.loads(r["details"])["username"] for r in rows if r["action"] == "user_add"}
    assert added == {"admin", "kari", "per", "ola", "eier"}
    assert {json.loads(r["details"])["username"] for r in rows if r["action"] == "token_issue"} >= set(tokens)
