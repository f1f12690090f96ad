"""What the portal shows and keeps beside the room: applications with their EHDS Art. 67 details,
permits, the audit trail, released results and the catalogue.

Reads of the room's tables are read-only views for pages; every change to them goes through
:mod:`privacy.room`. The portal's own tables (created in :mod:`portal.accounts`) hold what the
room does not: the Art. 67 fields of an application (keyed by ``application_id``) and released
query results, so a researcher can read and download a release again without spending ε twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from kernel.config import Settings
from kernel.errors import UserInputError
from portal.accounts import User, opened
from portal.formats import epsilon_input
from privacy import room
from privacy.budget import format_epsilon, from_columns
from privacy.catalogue import get_dataset, public_years
from privacy.state import transaction

#: EHDS (Regulation (EU) 2025/327) Art. 53(1): the purposes health data may be made available for.
PURPOSE_CATEGORIES: dict[str, str] = {
    "a": "Allmenn interesse innen folkehelse og arbeidshelse",
    "b": "Politikkutforming og forvaltning",
    "c": "Statistikk",
    "d": "Utdanning og undervisning i helse- og omsorgssektoren",
    "e": "Vitenskapelig forskning innen helse- og omsorgssektoren",
    "f": "Bedre helse- og omsorgstjenester og behandling",
}
#: The catalogue's datasets described in bokmål for the pages (the room's own descriptions are English).
DESCRIPTIONS_NB: dict[str, str] = {
    "vft_mottakere": "Mottakere av velferdsteknologi: én rad per person, år og teknologi personen hadde i året "
                     "(telling = antall personer, som i den publiserte serien).",
    "kpr_kontakter": "Kontakter med kommunale helse- og omsorgstjenester: én rad per kontakt (år = kontaktår).",
    "kpr_tjenester": "Kommunale pleie- og omsorgstjenester: én rad per tjenesteperiode (år = startår).",
    "person_aar": "Koblet analysedatasett: én rad per person og år med velferdsteknologi, kommunale tjenester "
                  "og KPR-kontakter (flagg og antall).",
}
#: Longest project a permit can serve (the room grants at most three years).
MAX_DURATION_MONTHS = 36
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_TEXT = 2000


@dataclass(frozen=True)
class ApplicationForm:
    """An application as a researcher states it: the room's fields and EHDS Art. 67's."""

    title: str
    purpose: str
    purpose_category: str
    legal_basis: str
    ethics_approval: str
    datasets: list[str]
    epsilon: str
    duration_months: int
    dpo_contact: str

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ApplicationForm:
        """Build from a JSON body or form; every field is required and checked here."""
        def text(name: str, label: str) -> str:
            value = data.get(name)
            value = value.strip() if isinstance(value, str) else ""
            if not value:
                raise UserInputError(f"{label} mangler")
            if len(value) > _MAX_TEXT:
                raise UserInputError(f"{label} er lengre enn {_MAX_TEXT} tegn")
            return value

        datasets = data.get("datasets")
        if isinstance(datasets, str):
            datasets = [datasets]
        if not isinstance(datasets, list) or not datasets or not all(isinstance(d, str) for d in datasets):
            raise UserInputError("velg minst ett datasett")
        category = text("purpose_category", "formålskategori (EHDS art. 53)")
        if category not in PURPOSE_CATEGORIES:
            raise UserInputError(f"formålskategori må være en av {', '.join(PURPOSE_CATEGORIES)} (EHDS art. 53 nr. 1)")
        try:
            months = int(str(data.get("duration_months", "")).strip())
        except ValueError:
            raise UserInputError("varighet må være et helt antall måneder") from None
        if not 1 <= months <= MAX_DURATION_MONTHS:
            raise UserInputError(f"varighet må være 1–{MAX_DURATION_MONTHS} måneder")
        contact = text("dpo_contact", "kontakt for personvernombud")
        if not _EMAIL.match(contact):
            raise UserInputError("kontakt for personvernombud må være en e-postadresse")
        epsilon = data.get("epsilon")
        if not isinstance(epsilon, str | int) or isinstance(epsilon, bool) or not str(epsilon).strip():
            raise UserInputError("ε mangler (desimaltall eller brøk, f.eks. 1 eller 1/2)")
        return cls(title=text("title", "prosjekttittel"), purpose=text("purpose", "formål"),
                   purpose_category=category, legal_basis=text("legal_basis", "rettslig grunnlag"),
                   ethics_approval=text("ethics_approval", "REK-referanse"), datasets=datasets,
                   epsilon=epsilon_input(str(epsilon)), duration_months=months, dpo_contact=contact)


def submit_application(settings: Settings, user: User, form: ApplicationForm) -> dict:
    """The room's :func:`privacy.room.apply` with the authenticated user, then the Art. 67 details.

    Every field is checked before the room is called; the details are stored after the room has
    committed the application (the room's rules and ids stay the room's).
    """
    result = room.apply(settings, user.username, form.purpose, form.datasets, form.epsilon)
    details = {k: v for k, v in asdict(form).items() if k not in ("purpose", "datasets", "epsilon")}
    with opened(settings) as conn, transaction(conn):
        conn.execute(
            "insert into portal_application_details (application_id, title, purpose_category, legal_basis,"
            " ethics_approval, duration_months, dpo_contact) values (:application_id, :title, :purpose_category,"
            " :legal_basis, :ethics_approval, :duration_months, :dpo_contact)",
            {"application_id": result["application_id"], **details})
    return result


_APPLICATIONS_SQL = """
select a.*, p.permit_id, d.title, d.purpose_category, d.legal_basis, d.ethics_approval, d.duration_months,
       d.dpo_contact
from applications a left join permits p using (application_id)
left join portal_application_details d using (application_id)
"""


def _application(row) -> dict:
    eps = from_columns(row["epsilon_num"], row["epsilon_den"])
    out = dict(row)
    out.update(datasets=json.loads(row["datasets"]), epsilon=float(eps), epsilon_exact=format_epsilon(eps),
               purpose_category_label=PURPOSE_CATEGORIES.get(row["purpose_category"] or "", ""))
    for key in ("epsilon_num", "epsilon_den"):
        out.pop(key)
    return out


def applications(settings: Settings, *, researcher: str | None = None, pending: bool = False) -> list[dict]:
    """Applications, oldest first: one researcher's, or the pending queue, or all."""
    where, params = [], []
    if researcher is not None:
        where.append("a.researcher = ?")
        params.append(researcher)
    if pending:
        where.append("a.status = 'submitted'")
    sql = _APPLICATIONS_SQL + (" where " + " and ".join(where) if where else "") + " order by a.application_id"
    with opened(settings) as conn:
        return [_application(r) for r in conn.execute(sql, params).fetchall()]


def application(settings: Settings, application_id: str) -> dict | None:
    with opened(settings) as conn:
        row = conn.execute(_APPLICATIONS_SQL + " where a.application_id = ?", (application_id,)).fetchone()
    return _application(row) if row else None


def permit_holder(settings: Settings, permit_id: str) -> str | None:
    """Who holds a permit (``None`` for an unknown permit)."""
    with opened(settings) as conn:
        row = conn.execute("select researcher from permits where permit_id = ?", (permit_id,)).fetchone()
    return row["researcher"] if row else None


def permits(settings: Settings, *, researcher: str | None = None, permit_id: str | None = None,
            active_only: bool = False) -> list[dict]:
    """Permits with their budget as :func:`privacy.room.budget` reports it."""
    where, params = [], []
    for column, value in (("researcher", researcher), ("permit_id", permit_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if active_only:
        where.append("status = 'active'")
    sql = ("select permit_id, application_id, researcher, datasets from permits"
           + (" where " + " and ".join(where) if where else "") + " order by permit_id")
    with opened(settings) as conn:
        rows = conn.execute(sql, params).fetchall()
    return [{"permit_id": r["permit_id"], "application_id": r["application_id"], "researcher": r["researcher"],
             "datasets": json.loads(r["datasets"]), **room.budget(settings, r["permit_id"])} for r in rows]


def audit_trail(settings: Settings, user: User) -> list[dict]:
    """Audit entries by the user, or about their account, applications and permits, newest first."""
    with opened(settings) as conn:
        rows = conn.execute(
            "select seq, timestamp, actor, action, details from audit_log"
            " where actor = :u or json_extract(details, '$.username') = :u"
            " or json_extract(details, '$.application_id') in (select application_id from applications where researcher = :u)"
            " or json_extract(details, '$.permit_id') in (select permit_id from permits where researcher = :u)"
            " order by seq desc", {"u": user.username}).fetchall()
    return [{"seq": r["seq"], "timestamp": r["timestamp"], "actor": r["actor"], "action": r["action"],
             "details": json.loads(r["details"])} for r in rows]


def save_result(settings: Settings, user: User, result: dict) -> str:
    """Keep a released result for its researcher; returns its id (``R000001``…)."""
    with opened(settings) as conn, transaction(conn):
        n = conn.execute("select count(*) from portal_results").fetchone()[0]
        result_id = f"R{n + 1:06d}"
        conn.execute("insert into portal_results (result_id, username, permit_id, created_at, result)"
                     " values (?, ?, ?, ?, ?)", (result_id, user.username, result["permit_id"],
                                                 datetime.now(UTC).isoformat(), json.dumps(result, default=str)))
    return result_id


def result(settings: Settings, result_id: str) -> tuple[str, dict] | None:
    """``(owner, result)`` of a kept release, or ``None``."""
    with opened(settings) as conn:
        row = conn.execute("select username, result from portal_results where result_id = ?", (result_id,)).fetchone()
    return (row["username"], json.loads(row["result"])) if row else None


def results(settings: Settings, user: User, permit_id: str) -> list[dict]:
    """A researcher's kept releases under one permit, newest first (id, time, what was asked)."""
    with opened(settings) as conn:
        rows = conn.execute("select result_id, created_at, result from portal_results where username = ? and"
                            " permit_id = ? order by result_id desc", (user.username, permit_id)).fetchall()
    return [{"result_id": r["result_id"], "created_at": r["created_at"], **{
        k: v for k, v in json.loads(r["result"]).items() if k in ("dataset", "by", "statistic", "epsilon_spent_exact")}}
        for r in rows]


def catalogue(settings: Settings, today: date | None = None) -> list[dict]:
    """The room's catalogue with the period a query can cover and the newest quality label."""
    labels = _quality_labels(settings)
    years = public_years(today or datetime.now(UTC).date())
    return [{**entry, "description": DESCRIPTIONS_NB.get(entry["name"], entry["description"]),
             "period": (years[0], years[-1]),
             "quality_label": labels.get(get_dataset(entry["name"]).table)} for entry in room.datasets()]


def _quality_labels(settings: Settings) -> dict[str, str]:
    """dataset → newest label from ``quality.labels`` (empty before the first quality run)."""
    import duckdb

    from kernel.warehouse import read_only

    if not settings.warehouse.exists():
        return {}
    try:
        with read_only(settings) as con:
            rows = con.execute("select dataset, label from quality.labels qualify row_number() over"
                               " (partition by dataset order by computed_at desc) = 1").fetchall()
    except duckdb.Error:  # no quality run yet (no table), or the builder holds the write lock
        return {}
    return dict(rows)
