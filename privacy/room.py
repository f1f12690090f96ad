"""The secure analysis room (docs/analysis-room.md): applications, permits, ledger-charged DP queries.

Public entry points, used by ``helsedata room`` and the build step:

* :func:`apply`, :func:`review`, :func:`revoke` — the permit workflow;
* :func:`query` — one DP release under a permit (or a free ``preview`` of its accuracy);
* :func:`budget` — a permit's budget, spent and remaining ε;
* :func:`datasets` — the catalogue;
* :func:`export_applications` — applications → ``raw.room_applications`` for the data-access
  indicator.

Permit rules (named constants below): a reviewer may not review their own application; a
rejection needs a reason; an approval grants at most the requested ε (default: all of it) and
expires on a day after today (default :data:`DEFAULT_PERMIT_DAYS`); a permit is usable by its
holder, for its datasets, while active and not expired. Every action, including each refusal, is
appended to the audit log (:mod:`privacy.audit`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from helsedata.config import Settings
from helsedata.errors import RefusedError, UserInputError
from privacy import audit
from privacy.aggregate import STATISTICS, AggregateSpec, all_keys, key_domains, run_aggregate
from privacy.budget import (
    MAX_PERMIT_EPSILON,
    add_charge,
    format_epsilon,
    from_columns,
    parse_epsilon,
    spent,
    to_columns,
)
from privacy.catalogue import DATASETS, catalogue, get_dataset
from privacy.state import opened, transaction

#: Days a permit lasts when the reviewer gives no ``--expires``.
DEFAULT_PERMIT_DAYS = 365
#: Longest permit a reviewer may grant, in days (renewal is a new application).
MAX_PERMIT_DAYS = 3 * 365
#: Most cells (public-key combinations) one query may release; more is a table of mostly noise.
MAX_CELLS = 50_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def _ident(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UserInputError(f"{what} must not be empty")
    return value


def _dataset_list(names: str | list[str]) -> list[str]:
    items = names.split(",") if isinstance(names, str) else list(names)
    items = sorted({n.strip() for n in items if n.strip()})
    if not items:
        raise UserInputError("name at least one dataset (see 'helsedata room datasets')")
    for name in items:
        get_dataset(name)
    return items


def _refuse(settings: Settings, actor: str, action: str, details: dict[str, Any], message: str) -> RefusedError:
    """Log a refusal in its own transaction (the refused change was rolled back) and build it."""
    audit.record(settings, actor or "unknown", "refusal", {"refused": action, "reason": message, **details})
    return RefusedError(message)


# ---------------------------------------------------------------- applications and permits


def apply(settings: Settings, researcher: str, purpose: str, datasets: str | list[str], epsilon: str | Fraction) -> dict:
    """Submit an application; returns ``{"application_id": ...}``.

    >>> import tempfile, pathlib
    >>> s = Settings(home=pathlib.Path(tempfile.mkdtemp()))
    >>> apply(s, "forsker1", "Trends in welfare technology", "vft_mottakere", "1/2")
    {'application_id': 'A000001'}
    """
    researcher = _ident(researcher, "researcher")
    purpose = _ident(purpose, "purpose")
    names = _dataset_list(datasets)
    eps = parse_epsilon(epsilon)
    if eps > MAX_PERMIT_EPSILON:
        raise UserInputError(f"a permit's budget may be at most ε = {format_epsilon(MAX_PERMIT_EPSILON)}")
    num, den = to_columns(eps)
    with opened(settings) as conn, transaction(conn):
        n = conn.execute("select count(*) from applications").fetchone()[0]
        application_id = f"A{n + 1:06d}"
        conn.execute(
            "insert into applications (application_id, researcher, purpose, datasets, epsilon_num, epsilon_den,"
            " submitted_at, status) values (?, ?, ?, ?, ?, ?, ?, 'submitted')",
            (application_id, researcher, purpose, json.dumps(names), num, den, _now()),
        )
        audit.append(conn, researcher, "apply", {"application_id": application_id, "datasets": names,
                                                 "epsilon": format_epsilon(eps), "purpose": purpose})
    return {"application_id": application_id}


def review(
    settings: Settings, application_id: str, reviewer: str, *, approve: bool,
    epsilon: str | Fraction | None = None, expires: str | date | None = None,
    reason: str | None = None, today: date | None = None,
) -> dict:
    """Approve (creating a permit) or reject an application.

    Returns ``{"application_id", "status", "permit_id"?, "epsilon_budget"?, "expires"?}``.
    Refused (exit 2): self-review, an application already decided, an unknown application.
    """
    reviewer = _ident(reviewer, "reviewer")
    today = _today(today)
    granted = parse_epsilon(epsilon) if epsilon is not None else None
    expires_on: date | None = None
    if approve:
        if expires is None:
            expires_on = today + timedelta(days=DEFAULT_PERMIT_DAYS)
        else:
            try:
                expires_on = expires if isinstance(expires, date) else date.fromisoformat(str(expires))
            except ValueError:
                raise UserInputError(f"--expires must be a date YYYY-MM-DD, not {expires!r}") from None
            if expires_on <= today:
                raise UserInputError(f"a permit must expire after today ({today.isoformat()})")
            if expires_on > today + timedelta(days=MAX_PERMIT_DAYS):
                raise UserInputError(f"a permit may last at most {MAX_PERMIT_DAYS} days")
    elif not (reason or "").strip():
        raise UserInputError("a rejection needs a --reason the applicant can act on")
    details = {"application_id": application_id}
    with opened(settings) as conn:
        try:
            with transaction(conn):
                app = conn.execute("select * from applications where application_id = ?", (application_id,)).fetchone()
                if app is None:
                    raise UserInputError(f"no application {application_id!r}")
                if app["researcher"] == reviewer:
                    raise RefusedError("a reviewer may not review their own application")
                if app["status"] != "submitted":
                    raise RefusedError(f"application {application_id} is already {app['status']}")
                decided = _now()
                if not approve:
                    conn.execute(
                        "update applications set status = 'rejected', reviewer = ?, decided_at = ?, reason = ?"
                        " where application_id = ?", (reviewer, decided, reason.strip(), application_id))
                    audit.append(conn, reviewer, "reject", {**details, "reason": reason.strip()})
                    return {"application_id": application_id, "status": "rejected"}
                requested = from_columns(app["epsilon_num"], app["epsilon_den"])
                budget = requested if granted is None else granted
                if budget > requested:
                    raise UserInputError(
                        f"the granted ε ({format_epsilon(budget)}) exceeds the requested ε ({format_epsilon(requested)})")
                n = conn.execute("select count(*) from permits").fetchone()[0]
                permit_id = f"P{n + 1:06d}"
                num, den = to_columns(budget)
                conn.execute(
                    "update applications set status = 'approved', reviewer = ?, decided_at = ? where application_id = ?",
                    (reviewer, decided, application_id))
                conn.execute(
                    "insert into permits (permit_id, application_id, researcher, datasets, budget_num, budget_den,"
                    " expires_on, status, created_at) values (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
                    (permit_id, application_id, app["researcher"], app["datasets"], num, den,
                     expires_on.isoformat(), decided))
                audit.append(conn, reviewer, "approve", {**details, "permit_id": permit_id,
                                                         "epsilon_budget": format_epsilon(budget),
                                                         "expires": expires_on.isoformat()})
        except RefusedError as e:
            raise _refuse(settings, reviewer, "review", details, str(e)) from None
    return {"application_id": application_id, "status": "approved", "permit_id": permit_id,
            "epsilon_budget": float(budget), "epsilon_budget_exact": format_epsilon(budget),
            "expires": expires_on.isoformat()}


def revoke(settings: Settings, permit_id: str, by: str, reason: str) -> dict:
    """Revoke a permit for good; later queries under it are refused. Spent ε stays spent."""
    by = _ident(by, "--by")
    reason = _ident(reason, "reason")
    with opened(settings) as conn, transaction(conn):
        permit = conn.execute("select status from permits where permit_id = ?", (permit_id,)).fetchone()
        if permit is None:
            raise UserInputError(f"no permit {permit_id!r}")
        if permit["status"] == "revoked":
            return {"permit_id": permit_id, "status": "revoked"}
        conn.execute("update permits set status = 'revoked', revoked_at = ?, revoked_by = ?, revoke_reason = ?"
                     " where permit_id = ?", (_now(), by, reason, permit_id))
        audit.append(conn, by, "revoke", {"permit_id": permit_id, "reason": reason})
    return {"permit_id": permit_id, "status": "revoked"}


def _permit_state(conn: sqlite3.Connection, permit_id: str) -> tuple[sqlite3.Row, Fraction, Fraction]:
    permit = conn.execute("select * from permits where permit_id = ?", (permit_id,)).fetchone()
    if permit is None:
        raise RefusedError(f"no permit {permit_id!r}")
    total = from_columns(permit["budget_num"], permit["budget_den"])
    return permit, total, spent(conn, permit_id)


def _check_use(permit: sqlite3.Row, researcher: str, dataset: str, today: date) -> None:
    """The refusal rules for using a permit (any one refuses)."""
    if permit["researcher"] != researcher:
        raise RefusedError(f"permit {permit['permit_id']} belongs to another researcher")
    if permit["status"] != "active":
        raise RefusedError(f"permit {permit['permit_id']} is {permit['status']}")
    if today > date.fromisoformat(permit["expires_on"]):
        raise RefusedError(f"permit {permit['permit_id']} expired on {permit['expires_on']}")
    if dataset not in json.loads(permit["datasets"]):
        raise RefusedError(f"dataset {dataset!r} is not covered by permit {permit['permit_id']}")


def budget(settings: Settings, permit_id: str) -> dict:
    """A permit's budget, spent and remaining ε (floats, plus exact ``*_exact`` strings)."""
    with opened(settings) as conn:
        try:
            permit, total, used = _permit_state(conn, permit_id)
        except RefusedError as e:
            raise UserInputError(str(e)) from None
    return {"permit_id": permit_id, **_budget_fields("epsilon_budget", total),
            **_budget_fields("epsilon_spent", used), **_budget_fields("epsilon_remaining", total - used),
            "status": permit["status"], "expires": permit["expires_on"]}


def _budget_fields(name: str, value: Fraction) -> dict:
    return {name: float(value), f"{name}_exact": format_epsilon(value)}


def datasets() -> list[dict]:
    """The catalogue (the shape of ``room datasets --json``, docs/analysis-room.md)."""
    return catalogue()


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class QueryRequest:
    """One DP query as a researcher states it (CLI options map 1:1 onto the fields)."""

    permit_id: str
    researcher: str
    dataset: str
    by: tuple[str, ...]
    statistic: str
    epsilon: Fraction
    column: str | None = None
    bounds: tuple[int, int] | None = None
    q: float | None = None
    extra: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {"dataset": self.dataset, "by": list(self.by), "statistic": self.statistic,
                "column": self.column, "bounds": list(self.bounds) if self.bounds else None, "q": self.q,
                "epsilon": format_epsilon(self.epsilon)}


def parse_bounds(text: str) -> tuple[int, int]:
    """``"LO,HI"`` as integers with LO ≤ HI.

    >>> parse_bounds("0,120")
    (0, 120)
    """
    try:
        lo, hi = (int(p.strip()) for p in str(text).split(","))
    except ValueError:
        raise UserInputError(f"--bounds must be two integers LO,HI, not {text!r}") from None
    if lo > hi:
        raise UserInputError(f"--bounds must have LO <= HI, got {lo},{hi}")
    return lo, hi


def _plan(req: QueryRequest):
    """Validate the request and build its calibrated OpenDP measurement (no data touched)."""
    from privacy import mechanisms as mech

    ds = get_dataset(req.dataset)
    if req.statistic not in STATISTICS:
        raise UserInputError(f"statistic must be one of {', '.join(STATISTICS)}")
    for col in req.by:
        ds.group_column(col)
    if len(set(req.by)) != len(req.by):
        raise UserInputError("--by names a column twice")
    spec = AggregateSpec(ds, tuple(req.by), req.statistic, req.column, req.bounds)
    cells = 1
    for d in key_domains(spec):
        cells *= len(d)
    if cells > MAX_CELLS:
        raise UserInputError(f"--by {','.join(req.by)} gives {cells} cells; at most {MAX_CELLS} per query")
    k = ds.rows_per_person
    bound: dict[str, Any] = {"rows_per_person": k, "privacy_unit": "person_id"}
    if req.statistic != "count":
        if req.column is None or req.bounds is None:
            raise UserInputError(f"--{req.statistic} needs a column and --bounds LO,HI")
        ds.numeric_column(req.column)
        bound["value_bounds"] = list(req.bounds)
    lo, hi = req.bounds or (0, 0)
    if req.statistic == "count":
        d_in = mech.count_sensitivity(k)
        meas = mech.laplace_measurement(d_in, req.epsilon)
        accuracy: Any = mech.laplace_accuracy(meas.scale)
        mechanism = "discrete_laplace"
    elif req.statistic == "sum":
        d_in = mech.sum_sensitivity(k, lo, hi)
        meas = mech.laplace_measurement(d_in, req.epsilon)
        accuracy = mech.laplace_accuracy(meas.scale)
        mechanism = "discrete_laplace"
    elif req.statistic == "mean":
        d_in = mech.mean_sensitivity(k, lo, hi)
        meas = mech.laplace_measurement(d_in, req.epsilon)
        acc = mech.laplace_accuracy(meas.scale)
        accuracy = {"sum": acc, "count": acc / mech.mean_magnitude(lo, hi)}
        mechanism = "discrete_laplace"
    else:
        if req.q is None or not 0 < req.q < 1:
            raise UserInputError("--q must be strictly between 0 and 1")
        d_in = k
        meas = mech.quantile_measurement(k, lo, hi, req.q, req.epsilon)
        accuracy = None
        mechanism = "exponential_quantile"
    bound["sensitivity"] = d_in
    return spec, meas, mechanism, accuracy, bound


def _release(req: QueryRequest, spec: AggregateSpec, meas, exact: dict) -> list[dict]:
    """Apply the OpenDP measurement to the zero-filled exact aggregate of every public key."""
    from privacy.mechanisms import mean_centre, mean_magnitude

    keys = all_keys(key_domains(spec))
    names = list(req.by)
    if req.statistic == "count":
        noisy = meas([int(exact.get(k, (0,))[0]) for k in keys])
        return [{**dict(zip(names, k)), "count": int(v)} for k, v in zip(keys, noisy)]
    if req.statistic == "sum":
        noisy = meas([int(exact.get(k, (0, 0))[1] or 0) for k in keys])
        return [{**dict(zip(names, k)), "sum": int(v)} for k, v in zip(keys, noisy)]
    if req.statistic == "mean":
        lo, hi = req.bounds
        centre, m = mean_centre(lo, hi), mean_magnitude(lo, hi)
        ns = [int(exact.get(k, (0, 0))[0]) for k in keys]
        centred = [int(exact.get(k, (0, 0))[1] or 0) - centre * n for k, n in zip(keys, ns)]
        noisy = meas(centred + [m * n for n in ns])
        rows = []
        for i, k in enumerate(keys):
            s, c = noisy[i], noisy[len(keys) + i] / m
            mean = min(max(centre + s / c, lo), hi) if c > 0 else None
            rows.append({**dict(zip(names, k)), "mean": mean, "count": c})
        return rows
    rows = []
    for k in keys:
        values = [int(v) for v in (exact.get(k, (0, []))[1] or [])]
        rows.append({**dict(zip(names, k)), "quantile": int(meas(values))})
    return rows


def query(settings: Settings, req: QueryRequest, *, preview: bool = False, today: date | None = None) -> dict:
    """Run one DP query under a permit, or preview its accuracy for free.

    Order of work: validate and calibrate (no data) → check the permit and budget (refusals
    happen here, before any computation on data) → bounded aggregate in DuckDB (exact, never
    returned) → in one ``BEGIN IMMEDIATE`` transaction re-check and commit the charge with its
    audit entry → only then draw the noise and return. A failure after the commit does not refund.
    """
    today = _today(today)
    researcher = _ident(req.researcher, "researcher")
    details = {"permit_id": req.permit_id, **req.describe()}
    spec, meas, mechanism, accuracy, bound = _plan(req)

    def refused(e: RefusedError) -> RefusedError:
        return _refuse(settings, researcher, "preview" if preview else "query", details, str(e))

    with opened(settings) as conn:
        try:
            permit, total, used = _permit_state(conn, req.permit_id)
            _check_use(permit, researcher, req.dataset, today)
            if not preview and used + req.epsilon > total:
                raise RefusedError(_over_budget(req.epsilon, total - used))
        except RefusedError as e:
            raise refused(e) from None
        result = {
            "rows": [], "mechanism": mechanism, "epsilon_spent": 0.0, "epsilon_remaining": float(total - used),
            "accuracy_95": accuracy, "contribution_bound": bound, "delta": 0.0, "scale": meas.scale,
            "epsilon_spent_exact": "0", "epsilon_remaining_exact": format_epsilon(total - used),
            "permit_id": req.permit_id, **{k: v for k, v in req.describe().items() if k != "epsilon"},
            "preview": preview,
        }
        if mechanism == "exponential_quantile":
            result["accuracy_note"] = "no closed-form accuracy for the exponential-mechanism quantile"
        if preview:
            with transaction(conn):
                audit.append(conn, researcher, "preview", {**details, "cost": "0"})
            result["epsilon_requested"] = float(req.epsilon)
            result["affordable"] = used + req.epsilon <= total
            return result

        exact = run_aggregate(settings.warehouse, spec)

        try:
            with transaction(conn):
                permit, total, used = _permit_state(conn, req.permit_id)
                _check_use(permit, researcher, req.dataset, today)
                if used + req.epsilon > total:
                    raise RefusedError(_over_budget(req.epsilon, total - used))
                charged_at = _now()
                add_charge(conn, permit_id=req.permit_id, epsilon=req.epsilon, charged_at=charged_at,
                           researcher=researcher, dataset=req.dataset, query_json=json.dumps(req.describe()))
                audit.append(conn, researcher, "query", {**details, "cost": format_epsilon(req.epsilon),
                                                         "mechanism": mechanism, "scale": meas.scale})
        except RefusedError as e:
            raise refused(e) from None
    remaining = total - used - req.epsilon
    result.update({
        "rows": _release(req, spec, meas, exact),
        "epsilon_spent": float(req.epsilon), "epsilon_spent_exact": format_epsilon(req.epsilon),
        "epsilon_remaining": float(remaining), "epsilon_remaining_exact": format_epsilon(remaining),
    })
    return result


def _over_budget(cost: Fraction, left: Fraction) -> str:
    return (f"this query costs ε = {format_epsilon(cost)} but only ε = {format_epsilon(left)} "
            f"(≈{float(left):.6g}) is left on the permit")


# ---------------------------------------------------------------- export for the indicator


def export_applications(settings: Settings) -> int:
    """Replace ``raw.room_applications`` with the current applications, in one DuckDB transaction.

    Only application metadata leaves the room: id, submitted/decided time, status and number of
    datasets — enough for the data-access indicator (count and processing time). Returns rows
    written.
    """
    from helsedata.warehouse import ensure_shared_tables, writer

    with opened(settings) as conn:
        apps = conn.execute(
            "select application_id, submitted_at, decided_at, status, datasets from applications order by application_id"
        ).fetchall()

    def ts(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None) if text else None

    rows = [(a["application_id"], ts(a["submitted_at"]), ts(a["decided_at"]), a["status"],
             len(json.loads(a["datasets"]))) for a in apps]
    with writer(settings.warehouse) as con:
        ensure_shared_tables(con)
        con.execute("begin transaction")
        try:
            con.execute("delete from raw.room_applications")
            if rows:
                con.executemany("insert into raw.room_applications values (?, ?, ?, ?, ?)", rows)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    audit.record(settings, "system", "export", {"table": "raw.room_applications", "rows": len(rows)})
    return len(rows)


__all__ = ["DATASETS", "QueryRequest", "apply", "budget", "datasets", "export_applications",
           "parse_bounds", "query", "review", "revoke"]
