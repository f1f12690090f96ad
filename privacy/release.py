"""Two-person review of exact (non-DP) aggregate releases: OpenSAFELY's output-checking model.

A researcher with a permit asks for an aggregate table computed in the room with **exact**
counts (:func:`request`). Before anyone sees it, the table passes the same disclosure control as
the public tables (:mod:`privacy.disclosure`: primary suppression of counts 1 to the threshold,
secondary suppression against the table's margins, rounding); only the protected table is kept.
A table in which disclosure control hides too much (:data:`MAX_SUPPRESSED_SHARE` of its non-zero
cells) or that is too large (:data:`MAX_RELEASE_CELLS`) fails it and is refused. The protected
table then needs the approval of :data:`privacy.state.RELEASE_APPROVALS_NEEDED` different
reviewers, none of them the requester (:func:`review`), before its requester can download it
(:func:`download`); one rejection closes it.

States (one vocabulary, :data:`STATUS_WORDS`): ``pending`` → ``approved`` | ``rejected``. Who may
act (:func:`check_can_review`, :func:`check_can_download`) is separate from what the state allows,
and both are checked again when the audit log is replayed. Every step, and every refusal, is an
audit entry; the ``releases`` and ``release_reviews`` tables are rebuilt from those entries by
:func:`privacy.state.apply_change`, exactly as permits and the ledger are.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from privacy import audit
from privacy.aggregate import AggregateSpec, all_keys, key_domains, run_aggregate
from privacy.catalogue import get_dataset
from privacy.disclosure import ROUNDING_BASE, SUPPRESSION_THRESHOLD, protect_count, protect_table
from privacy.room import _check_use, _permit_state, _refuse, _today, check_filters, identity
from privacy.state import RELEASE_APPROVALS_NEEDED, opened, transaction

#: The margin code of a released table ("all values of this key").
TOTAL = "alle"
#: Most cells (with margins) one release may have; a bigger table is refused, not trimmed.
MAX_RELEASE_CELLS = 2_000
#: A release fails disclosure control when more than this share of its non-zero cells is
#: suppressed: such a table says little and its pattern of holes says the most.
MAX_SUPPRESSED_SHARE = 0.5
STATUS_WORDS = {"pending": "venter på vurdering", "approved": "godkjent", "rejected": "avvist"}


@dataclass(frozen=True)
class ReleaseRequest:
    """An exact aggregate as a researcher asks for it (``room release request``)."""

    permit_id: str
    researcher: str
    dataset: str
    by: tuple[str, ...]
    where: tuple[tuple[str, str], ...] = ()
    statistic: str = "count"

    def describe(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "by": list(self.by), "where": dict(self.where), "statistic": self.statistic}


def protected_rows(by: tuple[str, ...], domains: list[tuple[str, ...]],
                   exact: dict[tuple[str, ...], tuple]) -> tuple[list[dict], dict[str, int]]:
    """The exact counts with margins, disclosure-controlled: rows with ``count`` (``None`` = hidden).

    Every public key and a :data:`TOTAL` margin per key are cells, so secondary suppression
    protects hidden cells against the margins (:func:`privacy.disclosure.protect_table`, then
    :func:`privacy.disclosure.protect_count` for the rounding). Returns the rows and a summary.

    >>> rows, summary = protected_rows(("kjonn",), [("K", "M")], {("K",): (3,), ("M",): (40,)})
    >>> [(r["kjonn"], r["count"]) for r in rows], summary["suppressed"]
    ([('K', None), ('M', None), ('alle', 45)], 2)
    """
    keys = all_keys([(*d, TOTAL) for d in domains])
    cells: dict[tuple[str, ...], list[int]] = {}
    for key in keys:
        cells[key] = [sum(int(n[0]) for k, n in exact.items()
                          if all(part == TOTAL or part == k[i] for i, part in enumerate(key)))]
    hierarchies = [{**{code: TOTAL for code in d}, TOTAL: None} for d in domains]
    protection = protect_table(cells, hierarchies)
    rows = [{**dict(zip(by, key)), "count": protect_count(cells[key][0], suppressed=key in protection.suppressed)}
            for key in keys]
    nonzero = [k for k in keys if cells[k][0] > 0]
    hidden = [k for k in nonzero if k in protection.suppressed]
    return rows, {"cells": len(keys), "nonzero": len(nonzero), "suppressed": len(hidden),
                  "threshold": SUPPRESSION_THRESHOLD, "rounding_base": ROUNDING_BASE}


def _check_disclosure(summary: dict[str, int]) -> None:
    if summary["nonzero"] and summary["suppressed"] > MAX_SUPPRESSED_SHARE * summary["nonzero"]:
        raise RefusedError(
            f"tabellen består ikke utleveringskontrollen: {summary['suppressed']} av {summary['nonzero']} celler "
            f"med personer må skjules (mer enn {round(MAX_SUPPRESSED_SHARE * 100)} %); bruk grovere nøkler eller færre filtre")


def request(settings: Settings, req: ReleaseRequest, *, today: date | None = None) -> dict:
    """Compute an exact aggregate under a permit, disclosure-control it, and queue it for review.

    Returns ``{"release_id", "status", "summary"}``. Refused (exit 2): a permit that does not allow
    the dataset or is not the researcher's, a table that fails disclosure control. Nothing exact
    is stored or shown: only the protected table enters the audit log and the ``releases`` table.
    """
    today = _today(today)
    researcher = identity(req.researcher, "--researcher")
    if req.statistic != "count":
        raise UserInputError("en utlevering kan bare være antall (--count)")
    ds = get_dataset(req.dataset)
    for column in req.by:
        ds.group_column(column)
    if not req.by:
        raise UserInputError("en utlevering trenger minst én --by-kolonne")
    if len(set(req.by)) != len(req.by):
        raise UserInputError("--by nevner en kolonne to ganger")
    check_filters(ds, req.where, today)
    spec = AggregateSpec(ds, req.by, "count", where=req.where, today=today)
    domains = key_domains(spec)
    cells = 1
    for d in domains:
        cells *= len(d) + 1
    if cells > MAX_RELEASE_CELLS:
        raise UserInputError(f"--by {','.join(req.by)} gir {cells} celler med marginer; høyst {MAX_RELEASE_CELLS}"
                             " per utlevering")
    details: dict[str, Any] = {"permit_id": req.permit_id, **req.describe()}
    with opened(settings) as conn:
        try:
            permit, _, _ = _permit_state(settings, conn, req.permit_id)
            _check_use(permit, researcher, req.dataset, today)
            rows, summary = protected_rows(req.by, domains, run_aggregate(settings, spec))
            details["summary"] = summary
            _check_disclosure(summary)
            with transaction(conn):
                permit, _, _ = _permit_state(settings, conn, req.permit_id)
                _check_use(permit, researcher, req.dataset, today)
                n = conn.execute("select count(*) from releases").fetchone()[0]
                release_id = f"R{n + 1:06d}"
                audit.append(conn, audit.chain_key(settings, conn), researcher, "release_request", {
                    "release_id": release_id, "permit_id": req.permit_id, "dataset": req.dataset,
                    "query": req.describe(), "rows": rows, "summary": summary})
        except RefusedError as e:
            raise _refuse(settings, researcher, "release_request", details, e) from None
    return {"release_id": release_id, "status": "pending", "summary": summary}


def check_can_review(release: sqlite3.Row, reviewer: str, reviewers: set[str]) -> None:
    """May ``reviewer`` vote on ``release``? Not its requester, not twice, only while pending."""
    if release["requester"] == reviewer:
        raise RefusedError(f"utlevering {release['release_id']} kan ikke vurderes av den som ba om den")
    if reviewer in reviewers:
        raise RefusedError(f"{reviewer} har allerede vurdert utlevering {release['release_id']}; "
                           "den trenger en annen saksbehandler")
    if release["status"] != "pending":
        raise RefusedError(f"utlevering {release['release_id']} er allerede {STATUS_WORDS[release['status']]}")


def check_can_download(release: sqlite3.Row, researcher: str, approvers: set[str]) -> None:
    """May ``researcher`` download ``release``? Its requester, after two approvals by others."""
    if release["requester"] != researcher:
        raise RefusedError(f"utlevering {release['release_id']} tilhører en annen forsker")
    independent = approvers - {release["requester"]}
    if release["status"] != "approved" or len(independent) < RELEASE_APPROVALS_NEEDED:
        raise RefusedError(
            f"utlevering {release['release_id']} kan ikke lastes ned før {RELEASE_APPROVALS_NEEDED} ulike "
            f"saksbehandlere, ingen av dem forskeren selv, har godkjent den ({len(independent)} så langt; "
            f"status: {STATUS_WORDS[release['status']]})")


def _load(settings: Settings, conn: sqlite3.Connection, release_id: str) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
    release = conn.execute("select * from releases where release_id = ?", (release_id,)).fetchone()
    if release is None:
        raise UserInputError(f"finner ingen utlevering {release_id!r}")
    audit.check(settings, conn, release_id=release_id)
    reviews = conn.execute("select * from release_reviews where release_id = ? order by review_id",
                           (release_id,)).fetchall()
    return release, reviews


def review(settings: Settings, release_id: str, reviewer: str, *, approve: bool, reason: str | None = None) -> dict:
    """One reviewer's approval or rejection (a rejection needs a reason).

    Returns ``{"release_id", "status", "approvals", "approvals_needed"}``. Refused (exit 2): the
    requester, a reviewer who already voted, a release no longer pending.
    """
    reviewer = identity(reviewer, "--reviewer")
    if not approve and not (reason or "").strip():
        raise UserInputError("en avvisning trenger en begrunnelse (--reason) forskeren kan handle etter")
    details: dict[str, Any] = {"release_id": release_id}
    with opened(settings) as conn:
        try:
            with transaction(conn):
                release, reviews = _load(settings, conn, release_id)
                check_can_review(release, reviewer, {r["reviewer"] for r in reviews})
                action = "release_approve" if approve else "release_reject"
                audit.append(conn, audit.chain_key(settings, conn), reviewer, action,
                             details if approve else {**details, "reason": reason.strip()})
                status = conn.execute("select status from releases where release_id = ?", (release_id,)).fetchone()[0]
                approvals = conn.execute("select count(*) from release_reviews where release_id = ?"
                                         " and decision = 'approve'", (release_id,)).fetchone()[0]
        except RefusedError as e:
            raise _refuse(settings, reviewer, "release_review", details, e) from None
    return {"release_id": release_id, "status": status, "approvals": approvals,
            "approvals_needed": RELEASE_APPROVALS_NEEDED}


def _public(release: sqlite3.Row, reviews: list[sqlite3.Row], *, with_rows: bool) -> dict:
    query = json.loads(release["query"])
    out = {"release_id": release["release_id"], "permit_id": release["permit_id"], "requester": release["requester"],
           "dataset": release["dataset"], "by": query["by"], "where": query["where"], "statistic": query["statistic"],
           "requested_at": release["requested_at"], "status": release["status"], "decided_at": release["decided_at"],
           "approvals": sum(r["decision"] == "approve" for r in reviews),
           "approvals_needed": RELEASE_APPROVALS_NEEDED,
           "reviews": [{"reviewer": r["reviewer"], "decision": r["decision"], "reason": r["reason"],
                        "reviewed_at": r["reviewed_at"]} for r in reviews]}
    if with_rows:
        out["rows"] = json.loads(release["result"])
    return out


def releases(settings: Settings, *, pending: bool = False) -> list[dict]:
    """Every release request (or only those awaiting review), oldest first, without their tables."""
    where = " where status = 'pending'" if pending else ""
    with opened(settings) as conn:
        rows = conn.execute(f"select * from releases{where} order by release_id").fetchall()
        reviews = conn.execute("select * from release_reviews order by review_id").fetchall()
    return [_public(r, [v for v in reviews if v["release_id"] == r["release_id"]], with_rows=False) for r in rows]


def download(settings: Settings, release_id: str, researcher: str, *, out: Path | None = None) -> dict:
    """The approved, disclosure-controlled table for its requester (and a CSV at ``out``).

    Refused (exit 2) until :data:`privacy.state.RELEASE_APPROVALS_NEEDED` different reviewers,
    none the requester, have approved it. The download is audited.
    """
    researcher = identity(researcher, "--researcher")
    details: dict[str, Any] = {"release_id": release_id}
    with opened(settings) as conn:
        try:
            with transaction(conn):
                release, reviews = _load(settings, conn, release_id)
                check_can_download(release, researcher,
                                   {r["reviewer"] for r in reviews if r["decision"] == "approve"})
                audit.append(conn, audit.chain_key(settings, conn), researcher, "release_download",
                             {**details, "file": str(out) if out else None})
        except RefusedError as e:
            raise _refuse(settings, researcher, "release_download", details, e) from None
    result = _public(release, reviews, with_rows=True)
    if out is not None:
        out.write_text(to_csv(result), encoding="utf-8")
        result["file"] = str(out)
    return result


def to_csv(result: dict) -> str:
    """The released table as CSV; a hidden cell is empty (SSB writes ':')."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*result["by"], "antall"])
    for row in result["rows"]:
        writer.writerow([*(row[k] for k in result["by"]), "" if row["count"] is None else row["count"]])
    return buffer.getvalue()


__all__ = ["MAX_RELEASE_CELLS", "MAX_SUPPRESSED_SHARE", "ReleaseRequest", "check_can_download", "check_can_review",
           "download", "protected_rows", "releases", "request", "review", "to_csv"]
