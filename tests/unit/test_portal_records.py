"""What the portal shows beside the room: the catalogue with quality labels, Art. 67 details, formats."""

from __future__ import annotations

import datetime as dt

import pytest

from kernel.errors import UserInputError
from kernel.warehouse import ensure_shared_tables, writer
from portal import records
from portal.accounts import Role, User
from privacy import room

FORM = {"title": "T", "purpose": "P", "purpose_category": "e", "legal_basis": "GDPR", "ethics_approval": "REK 1",
        "datasets": ["vft_mottakere"], "epsilon": "1/2", "duration_months": "12", "dpo_contact": "a@example.no"}


def test_catalogue_has_bokmal_descriptions_period_and_newest_quality_label(settings):
    assert {d["name"] for d in records.catalogue(settings)} == set(records.DESCRIPTIONS_NB)
    assert all(d["quality_label"] is None for d in records.catalogue(settings))  # no warehouse yet
    with writer(settings) as con:
        ensure_shared_tables(con)
        con.execute("insert into quality.labels (run_id, dataset, label, reasons, computed_at) values"
                    " ('r1', 'raw.vft_mottakere', 'silver', '', '2026-01-01'),"
                    " ('r2', 'raw.vft_mottakere', 'gold', '', '2026-02-01')")
    entry = next(d for d in records.catalogue(settings, today=dt.date(2025, 6, 1)) if d["name"] == "vft_mottakere")
    assert (entry["quality_label"], entry["period"]) == ("gold", (2015, 2026))
    assert entry["description"].startswith("Mottakere av velferdsteknologi")


def test_application_details_are_stored_beside_the_room_application(settings):
    kari = User("kari", Role.RESEARCHER)
    application_id = records.submit_application(settings, kari, records.ApplicationForm.from_mapping(FORM))["application_id"]
    app = records.application(settings, application_id)
    assert (app["researcher"], app["purpose"], app["epsilon_exact"], app["status"]) == ("kari", "P", "1/2", "submitted")
    assert (app["title"], app["ethics_approval"], app["duration_months"], app["purpose_category_label"]) == (
        "T", "REK 1", 12, records.PURPOSE_CATEGORIES["e"])
    room.review(settings, application_id, "ola", approve=True)
    assert [p["researcher"] for p in records.permits(settings, researcher="kari")] == ["kari"]
    assert records.applications(settings, pending=True) == []


def test_a_refused_application_leaves_no_details(settings):
    with pytest.raises(UserInputError):
        records.submit_application(settings, User("kari", Role.RESEARCHER),
                                   records.ApplicationForm.from_mapping({**FORM, "epsilon": "nan"}))
    assert records.applications(settings) == []


def test_audit_trail_shows_own_actions_and_actions_on_own_applications_only(settings):
    kari, per = User("kari", Role.RESEARCHER), User("per", Role.RESEARCHER)
    mine = records.submit_application(settings, kari, records.ApplicationForm.from_mapping(FORM))["application_id"]
    records.submit_application(settings, per, records.ApplicationForm.from_mapping(FORM))
    permit_id = room.review(settings, mine, "ola", approve=True)["permit_id"]
    room.revoke(settings, permit_id, "ola", "avsluttet")
    trail = records.audit_trail(settings, kari)
    assert [(e["actor"], e["action"]) for e in trail] == [("ola", "revoke"), ("ola", "approve"), ("kari", "apply")]
    assert [e["action"] for e in records.audit_trail(settings, per)] == ["apply"]


def test_a_decimal_comma_is_accepted_for_epsilon(settings):
    form = records.ApplicationForm.from_mapping({**FORM, "epsilon": "0,5"})
    application_id = records.submit_application(settings, User("kari", Role.RESEARCHER), form)["application_id"]
    assert records.application(settings, application_id)["epsilon_exact"] == "1/2"
