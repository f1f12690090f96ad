"""Permit workflow and refusal rules (privacy/room.py). No warehouse is needed: every refusal
happens before data is read, which these tests also prove (there is no warehouse to read)."""

import json
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import RefusedError, UserInputError
from privacy import audit
from privacy.budget import parse_epsilon
from privacy.room import QueryRequest, apply, budget, identity, query, review, revoke
from privacy.state import connect
from privacy.testing import permit

TODAY = date(2026, 6, 1)


def count(permit_id, researcher="forsker", dataset="vft_mottakere", epsilon="0.1"):
    return QueryRequest(permit_id, researcher, dataset, ("kjonn",), "count", parse_epsilon(epsilon))


def ledger_rows(settings):
    return connect(settings.state_db).execute("select count(*) from ledger").fetchone()[0]


def actions(settings):
    rows = connect(settings.state_db).execute("select action, details from audit_log order by seq").fetchall()
    return [(r["action"], json.loads(r["details"])) for r in rows]


def test_approval_creates_a_permit_with_the_requested_budget(settings):
    app = apply(settings, "forsker", "purpose", "vft_mottakere,kpr_kontakter", "1/2")["application_id"]
    result = review(settings, app, "saksbehandler", approve=True, expires="2026-12-31", today=TODAY)
    assert result["status"] == "approved" and result["expires"] == "2026-12-31"
    b = budget(settings, result["permit_id"])
    assert (b["epsilon_budget_exact"], b["epsilon_spent_exact"], b["status"]) == ("1/2", "0", "active")


def test_reviewer_may_grant_less_but_not_more(settings):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(UserInputError, match="større enn søkt"):
        review(settings, app, "rev", approve=True, epsilon="2")
    assert review(settings, app, "rev", approve=True, epsilon="1/4")["epsilon_budget_exact"] == "1/4"


def test_self_review_is_refused_and_logged(settings):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(RefusedError, match="sin egen søknad"):
        review(settings, app, "forsker", approve=True)
    assert actions(settings)[-1][0] == "refusal"
    assert budget_free(settings, app)


def budget_free(settings, app):
    row = connect(settings.state_db).execute("select status from applications where application_id = ?", (app,)).fetchone()
    return row["status"] == "submitted"


def test_rejection_needs_a_reason(settings):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(UserInputError, match="begrunnelse"):
        review(settings, app, "rev", approve=False, reason="  ")
    assert review(settings, app, "rev", approve=False, reason="purpose too vague")["status"] == "rejected"
    with pytest.raises(RefusedError, match="allerede avslått"):
        review(settings, app, "rev2", approve=True)


@pytest.mark.parametrize("expires", [TODAY, TODAY - timedelta(days=1), TODAY + timedelta(days=5000), "31.12.2026"])
def test_expiry_must_be_a_date_after_today_within_the_maximum(settings, expires):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(UserInputError):
        review(settings, app, "rev", approve=True, expires=expires, today=TODAY)


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "11"])
def test_application_budget_must_be_positive_finite_and_capped(settings, bad):
    with pytest.raises(UserInputError):
        apply(settings, "forsker", "p", "vft_mottakere", bad)


def test_unknown_dataset_in_application_is_bad_input(settings):
    with pytest.raises(UserInputError, match="ukjent datasett"):
        apply(settings, "forsker", "p", "vft_mottakere,secret_table", "1")


@pytest.mark.parametrize(
    ("case", "message"),
    [("expired", "gjaldt til og med 11.06.2026"), ("revoked", "er tilbakekalt"), ("other_dataset", "ikke dekket"),
     ("other_researcher", "en annen forsker"), ("over_budget", "bare ε = 1/2"), ("unknown_permit", "ingen tillatelse")],
)
def test_refused_queries_change_nothing_in_the_ledger(settings, case, message):
    pid = permit(settings, epsilon="1/2", expires=TODAY + timedelta(days=10), today=TODAY)
    today = TODAY
    req = count(pid)
    if case == "expired":
        today = TODAY + timedelta(days=11)
    elif case == "revoked":
        revoke(settings, pid, "admin", "misuse")
    elif case == "other_dataset":
        req = count(pid, dataset="kpr_kontakter")
    elif case == "other_researcher":
        req = count(pid, researcher="someone-else")
    elif case == "over_budget":
        req = count(pid, epsilon="0.5000001")
    else:
        req = count("P999999")
    with pytest.raises(RefusedError, match=message):
        query(settings, req, today=today)
    assert ledger_rows(settings) == 0
    assert actions(settings)[-1][0] == "refusal"
    assert audit.verify(settings).ok


def test_last_valid_day_is_inclusive(settings):
    pid = permit(settings, expires=TODAY + timedelta(days=1), today=TODAY)
    result = query(settings, count(pid), preview=True, today=TODAY + timedelta(days=1))
    assert result["preview"] is True


def test_preview_spends_nothing_and_reads_no_data(settings):
    pid = permit(settings, epsilon="1")
    result = query(settings, count(pid, epsilon="2"), preview=True)
    assert result["epsilon_spent"] == 0 and result["affordable"] is False
    assert result["accuracy_95"] > 0 and result["rows"] == []
    assert not settings.warehouse.exists()
    assert ledger_rows(settings) == 0


def test_every_action_is_audited(settings):
    pid = permit(settings)
    query(settings, count(pid), preview=True)
    revoke(settings, pid, "admin", "project ended")
    assert [a for a, _ in actions(settings)] == ["apply", "approve", "preview", "revoke"]


@pytest.mark.parametrize(
    "variant",
    ["Forsker", "FORSKER", "Ｆｏｒｓｋｅｒ", "ＦＯＲＳＫＥＲ"],
    ids=["title-case", "upper-case", "fullwidth-nfkc", "fullwidth-upper"],
)
def test_self_review_by_a_name_variant_is_refused(settings, variant):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(RefusedError, match="sin egen søknad"):
        review(settings, app, variant, approve=True)
    assert budget_free(settings, app)


@pytest.mark.parametrize(
    "name",
    ["forsker\u200b", "for\u200dsker", "\ufeffforsker", "forsker ", " forsker", "for sker", "forsker\u00a0",
     "forsker\t", "forsker\u2060", "forsker\u00ad", "forsker\u3164", "forsker\ufe0f", "forsker\u202e", ""],
    ids=["zero-width-space", "zero-width-joiner", "bom", "trailing-space", "leading-space", "inner-space",
         "no-break-space", "tab", "word-joiner", "soft-hyphen", "hangul-filler", "variation-selector",
         "bidi-override", "empty"],
)
def test_names_with_whitespace_or_invisible_characters_are_refused(settings, name):
    app = apply(settings, "forsker", "p", "vft_mottakere", "1")["application_id"]
    with pytest.raises(UserInputError, match="usynlig tegn eller mellomrom|tomt"):
        review(settings, app, name, approve=True)
    with pytest.raises(UserInputError, match="usynlig tegn eller mellomrom|tomt"):
        apply(settings, name, "p", "vft_mottakere", "1")
    assert budget_free(settings, app)


def test_identities_are_stored_canonical_so_the_holder_matches_any_variant(settings):
    pid = permit(settings, researcher="Kari", reviewer="Ola")
    row = connect(settings.state_db).execute("select researcher from permits").fetchone()
    assert row["researcher"] == "kari"
    assert query(settings, count(pid, researcher="KARI"), preview=True)["preview"] is True


@given(name=st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12),
       invisible=st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), position=st.integers(0, 12))
def test_any_name_with_an_invisible_or_space_character_is_refused(name, invisible, position):
    with pytest.raises(UserInputError, match="usynlig tegn eller mellomrom"):
        identity(name[:position] + invisible + name[position:], "--reviewer")


@given(name=st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12))
def test_case_folded_and_decomposed_variants_are_one_identity(name):
    canonical = identity(name, "--researcher")
    for variant in (name.casefold(), unicodedata.normalize("NFKD", name), unicodedata.normalize("NFD", name.upper())
                    if name.upper().casefold() == name.casefold() else name):
        assert identity(variant, "--reviewer") == canonical, variant
    assert identity(canonical, "--reviewer") == canonical  # stable: the stored form maps to itself
