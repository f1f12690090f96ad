"""The secure analysis room (docs/analysis-room.md): applications, permits, ledger-charged DP queries.

Public entry points, used by ``helsedata room`` and the build step:

* :func:`apply`, :func:`review`, :func:`revoke` — the permit workflow; :func:`applications` — the
  reviewers' queue;
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
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from privacy import audit
from privacy.aggregate import STATISTICS, AggregateSpec, all_keys, key_domains, run_aggregate
from privacy.budget import (
    MAX_PERMIT_EPSILON,
    format_epsilon,
    from_columns,
    parse_epsilon,
    spent,
)
from privacy.catalogue import DATASETS, Dataset, catalogue, get_dataset
from privacy.state import opened, transaction

#: How an application's and a permit's status read in a sentence ("søknad A000001 er allerede …").
APPLICATION_STATUS_WORDS = {"submitted": "sendt inn", "approved": "godkjent", "rejected": "avslått"}
PERMIT_STATUS_WORDS = {"active": "aktiv", "revoked": "tilbakekalt"}
#: Days a permit lasts when the reviewer gives no ``--expires``.
DEFAULT_PERMIT_DAYS = 365
#: Longest permit a reviewer may grant, in days (renewal is a new application).
MAX_PERMIT_DAYS = 3 * 365
#: Most cells (public-key combinations) one query may release; more is a table of mostly noise.
MAX_CELLS = 50_000


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


#: Unicode general categories refused in a person's identity: controls, formats (zero-width
#: space and joiner, BOM, bidi marks), surrogates, private use, unassigned, and all separators.
REFUSED_IDENTITY_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
#: Characters that render as nothing although their category is a letter, mark or symbol
#: (Unicode's Default_Ignorable_Code_Point outside the categories above, and the braille blank).
INVISIBLE_CHARACTERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10))) + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


def identity(value: str | None, option: str) -> str:
    """The canonical form of a researcher's or reviewer's ID: NFKC, case-folded, NFKC again.

    Two spellings of one person ("Kari", "KARI", fullwidth "Ｋａｒｉ") are one identity, so the
    four-eyes rule cannot be dodged by a name variant. Whitespace and invisible characters are
    refused rather than stripped: "kari" followed by a zero-width space must not pass for a second
    person, nor silently become "kari" in one place and stay distinct in another.

    >>> identity("Ｋａｒｉ", "--reviewer"), identity("Strauß", "--researcher")
    ('kari', 'strauss')
    >>> identity("kari\u200b", "--reviewer")
    Traceback (most recent call last):
    ...
    kernel.errors.UserInputError: --reviewer inneholder et usynlig tegn eller mellomrom (U+200B); bruk et ID uten mellomrom og usynlige tegn
    """
    value = value or ""
    canonical = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    for char in value + canonical:
        if unicodedata.category(char) in REFUSED_IDENTITY_CATEGORIES or char in INVISIBLE_CHARACTERS:
            raise UserInputError(f"{option} inneholder et usynlig tegn eller mellomrom (U+{ord(char):04X}); "
                                 "bruk et ID uten mellomrom og usynlige tegn")
    if not canonical:
        raise UserInputError(f"{option} kan ikke være tomt")
    return canonical


def _text(value: str | None, what: str) -> str:
    """Free text (a purpose, a reason), trimmed; empty is refused."""
    value = (value or "").strip()
    if not value:
        raise UserInputError(f"{what} kan ikke være tom")
    return value


def _dataset_list(names: str | list[str]) -> list[str]:
    items = names.split(",") if isinstance(names, str) else list(names)
    items = sorted({n.strip() for n in items if n.strip()})
    if not items:
        raise UserInputError("oppgi minst ett datasett (se 'helsedata room datasets')")
    for name in items:
        get_dataset(name)
    return items


def _refuse(settings: Settings, actor: str, action: str, details: dict[str, Any], error: RefusedError) -> RefusedError:
    """Log a refusal in its own transaction (the refused change was rolled back); return it to raise."""
    audit.record(settings, actor or "unknown", "refusal", {"refused": action, "reason": str(error), **details})
    return error


# ---------------------------------------------------------------- applications and permits


def apply(settings: Settings, researcher: str, purpose: str, datasets: str | list[str], epsilon: str | Fraction) -> dict:
    """Submit an application; returns ``{"application_id": ...}``.

    >>> import tempfile, pathlib
    >>> s = Settings(home=pathlib.Path(tempfile.mkdtemp()))
    >>> apply(s, "forsker1", "Trends in welfare technology", "vft_mottakere", "1/2")
    {'application_id': 'A000001'}
    """
    researcher = identity(researcher, "--researcher")
    purpose = _text(purpose, "--purpose")
    names = _dataset_list(datasets)
    eps = parse_epsilon(epsilon)
    if eps > MAX_PERMIT_EPSILON:
        raise UserInputError(f"en tillatelses budsjett kan være høyst ε = {format_epsilon(MAX_PERMIT_EPSILON)}")
    with opened(settings) as conn, transaction(conn):
        n = conn.execute("select count(*) from applications").fetchone()[0]
        application_id = f"A{n + 1:06d}"
        audit.append(conn, audit.chain_key(settings, conn), researcher, "apply", {
            "application_id": application_id, "datasets": names, "epsilon": format_epsilon(eps), "purpose": purpose})
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
    reviewer = identity(reviewer, "--reviewer")
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
                raise UserInputError(f"--expires må være en dato ÅÅÅÅ-MM-DD, ikke {expires!r}") from None
            if expires_on <= today:
                raise UserInputError(f"en tillatelse må gjelde lenger enn i dag ({today:%d.%m.%Y})")
            if expires_on > today + timedelta(days=MAX_PERMIT_DAYS):
                raise UserInputError(f"en tillatelse kan gjelde i høyst {MAX_PERMIT_DAYS} dager")
    elif not (reason or "").strip():
        raise UserInputError("et avslag trenger en begrunnelse (--reason) søkeren kan handle etter")
    details = {"application_id": application_id}
    with opened(settings) as conn:
        try:
            with transaction(conn):
                app = conn.execute("select * from applications where application_id = ?", (application_id,)).fetchone()
                if app is None:
                    raise UserInputError(f"finner ingen søknad {application_id!r}")
                key = audit.chain_key(settings, conn)
                audit.check(settings, conn, application_id=application_id)
                if app["researcher"] == reviewer:
                    raise RefusedError("en saksbehandler kan ikke vurdere sin egen søknad")
                if app["status"] != "submitted":
                    raise RefusedError(f"søknad {application_id} er allerede {APPLICATION_STATUS_WORDS[app['status']]}")
                if not approve:
                    audit.append(conn, key, reviewer, "reject", {**details, "reason": reason.strip()})
                    return {"application_id": application_id, "status": "rejected"}
                requested = from_columns(app["epsilon_num"], app["epsilon_den"])
                budget = requested if granted is None else granted
                if budget > requested:
                    raise UserInputError(
                        f"innvilget ε ({format_epsilon(budget)}) er større enn søkt ε ({format_epsilon(requested)})")
                n = conn.execute("select count(*) from permits").fetchone()[0]
                permit_id = f"P{n + 1:06d}"
                audit.append(conn, key, reviewer, "approve", {**details, "permit_id": permit_id,
                                                              "epsilon_budget": format_epsilon(budget),
                                                              "expires": expires_on.isoformat()})
        except RefusedError as e:
            raise _refuse(settings, reviewer, "review", details, e) from None
    return {"application_id": application_id, "status": "approved", "permit_id": permit_id,
            "epsilon_budget": float(budget), "epsilon_budget_exact": format_epsilon(budget),
            "expires": expires_on.isoformat()}


def revoke(settings: Settings, permit_id: str, by: str, reason: str) -> dict:
    """Revoke a permit for good; later queries under it are refused. Spent ε stays spent."""
    by = identity(by, "--by")
    reason = _text(reason, "--reason")
    with opened(settings) as conn, transaction(conn):
        permit = conn.execute("select status from permits where permit_id = ?", (permit_id,)).fetchone()
        if permit is None:
            raise UserInputError(f"finner ingen tillatelse {permit_id!r}")
        audit.check(settings, conn, permit_id=permit_id)
        if permit["status"] == "revoked":
            return {"permit_id": permit_id, "status": "revoked"}
        audit.append(conn, audit.chain_key(settings, conn), by, "revoke", {"permit_id": permit_id, "reason": reason})
    return {"permit_id": permit_id, "status": "revoked"}


def applications(settings: Settings, *, pending: bool = False) -> list[dict]:
    """Every application (or only those awaiting review), oldest first: the reviewers' queue.

    Each has ``application_id``, ``researcher``, ``purpose``, ``datasets``, ``epsilon`` (float),
    ``epsilon_exact``, ``submitted_at``, ``status``, ``reviewer``, ``decided_at``, ``reason`` and
    ``permit_id`` (``None`` unless approved).

    >>> import tempfile, pathlib
    >>> s = Settings(home=pathlib.Path(tempfile.mkdtemp()))
    >>> _ = apply(s, "forsker1", "Trends", "vft_mottakere", "1/2")
    >>> [(a["application_id"], a["status"], a["epsilon_exact"]) for a in applications(s, pending=True)]
    [('A000001', 'submitted', '1/2')]
    """
    where = " where a.status = 'submitted'" if pending else ""
    with opened(settings) as conn:
        rows = conn.execute(
            "select a.*, p.permit_id from applications a left join permits p using (application_id)"
            f"{where} order by a.application_id").fetchall()
    out = []
    for r in rows:
        eps = from_columns(r["epsilon_num"], r["epsilon_den"])
        out.append({"application_id": r["application_id"], "researcher": r["researcher"], "purpose": r["purpose"],
                    "datasets": json.loads(r["datasets"]), "epsilon": float(eps), "epsilon_exact": format_epsilon(eps),
                    "submitted_at": r["submitted_at"], "status": r["status"], "reviewer": r["reviewer"],
                    "decided_at": r["decided_at"], "reason": r["reason"], "permit_id": r["permit_id"]})
    return out


def _permit_state(settings: Settings, conn: sqlite3.Connection, permit_id: str) -> tuple[sqlite3.Row, Fraction, Fraction]:
    """The permit, its budget and what is spent, once its rows are proven to match the audit log."""
    permit = conn.execute("select * from permits where permit_id = ?", (permit_id,)).fetchone()
    if permit is None:
        raise RefusedError(f"finner ingen tillatelse {permit_id!r}")
    audit.check(settings, conn, permit_id=permit_id)
    total = from_columns(permit["budget_num"], permit["budget_den"])
    return permit, total, spent(conn, permit_id)


def _check_use(permit: sqlite3.Row, researcher: str, dataset: str, today: date) -> None:
    """The refusal rules for using a permit (any one refuses)."""
    if permit["researcher"] != researcher:
        raise RefusedError(f"tillatelse {permit['permit_id']} tilhører en annen forsker")
    if permit["status"] != "active":
        raise RefusedError(f"tillatelse {permit['permit_id']} er {PERMIT_STATUS_WORDS[permit['status']]}")
    if today > date.fromisoformat(permit["expires_on"]):
        raise RefusedError(f"tillatelse {permit['permit_id']} gjaldt til og med {date.fromisoformat(permit['expires_on']):%d.%m.%Y}")
    if dataset not in json.loads(permit["datasets"]):
        raise RefusedError(f"datasettet {dataset!r} er ikke dekket av tillatelse {permit['permit_id']}")


def budget(settings: Settings, permit_id: str) -> dict:
    """A permit's budget, spent and remaining ε (floats, plus exact ``*_exact`` strings)."""
    with opened(settings) as conn:
        try:
            permit, total, used = _permit_state(settings, conn, permit_id)
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
    #: Filters (``--where``): (group-by column, public key) pairs a row must all match.
    where: tuple[tuple[str, str], ...] = ()

    def describe(self) -> dict:
        out = {"dataset": self.dataset, "by": list(self.by), "statistic": self.statistic,
               "column": self.column, "bounds": list(self.bounds) if self.bounds else None, "q": self.q,
               "epsilon": format_epsilon(self.epsilon)}
        if self.where:
            out["where"] = dict(self.where)
        return out


def parse_where(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"KEY=VALUE[,KEY=VALUE]"`` as pairs; each key once.

    >>> parse_where("has_vft=true, aldersgruppe=80+")
    (('has_vft', 'true'), ('aldersgruppe', '80+'))
    >>> parse_where(None)
    ()
    """
    if text is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for part in str(text).split(","):
        key, sep, value = (p.strip() for p in part.partition("="))
        if not sep or not key or not value:
            raise UserInputError(f"--where må være KOLONNE=VERDI[,KOLONNE=VERDI], ikke {text!r}")
        if key in dict(pairs):
            raise UserInputError(f"--where nevner {key!r} to ganger")
        pairs.append((key, value))
    return tuple(pairs)


def check_filters(ds: Dataset, where: tuple[tuple[str, str], ...], today: date) -> None:
    """Each filter names a group-by column and a key of its public domain (else a user error).

    A value outside the domain is refused rather than answered with zeros, so a typo is seen.
    """
    from privacy.catalogue import domain

    for key, value in where:
        column = ds.group_column(key)
        keys = domain(column.domain, today)
        if value not in keys:
            shown = ", ".join(keys) if len(keys) <= 12 else f"{keys[0]} … {keys[-1]}"
            raise UserInputError(f"--where {key}={value}: {value!r} er ikke en offentlig verdi av {key} ({shown})")


def parse_bounds(text: str) -> tuple[int, int]:
    """``"LO,HI"`` as integers with LO ≤ HI.

    >>> parse_bounds("0,120")
    (0, 120)
    """
    try:
        lo, hi = (int(p.strip()) for p in str(text).split(","))
    except ValueError:
        raise UserInputError(f"--bounds må være to heltall LO,HI, ikke {text!r}") from None
    if lo > hi:
        raise UserInputError(f"--bounds må ha LO <= HI, fikk {lo},{hi}")
    return lo, hi


def _plan(req: QueryRequest, today: date):
    """Validate the request and build its calibrated OpenDP measurement (no data touched).

    Filters do not enter the calibration: a filter is a stable transformation (see
    :mod:`privacy.aggregate`), so the sensitivity and the scale are those of the unfiltered query.
    """
    from privacy import mechanisms as mech

    ds = get_dataset(req.dataset)
    if req.statistic not in STATISTICS:
        raise UserInputError(f"statistikken må være en av {', '.join(STATISTICS)}")
    for col in req.by:
        ds.group_column(col)
    if len(set(req.by)) != len(req.by):
        raise UserInputError("--by nevner en kolonne to ganger")
    check_filters(ds, req.where, today)
    spec = AggregateSpec(ds, tuple(req.by), req.statistic, req.column, req.bounds, req.where, today)
    cells = 1
    for d in key_domains(spec):
        cells *= len(d)
    if cells > MAX_CELLS:
        raise UserInputError(f"--by {','.join(req.by)} gir {cells} celler; høyst {MAX_CELLS} per spørring")
    k = ds.rows_per_person
    bound: dict[str, Any] = {"rows_per_person": k, "privacy_unit": "person_id", "counts": ds.counts}
    if req.statistic != "count":
        if req.column is None or req.bounds is None:
            raise UserInputError(f"--{req.statistic} trenger en kolonne og --bounds LO,HI")
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
            raise UserInputError("--q må ligge strengt mellom 0 og 1")
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
    researcher = identity(req.researcher, "--researcher")
    details = {"permit_id": req.permit_id, **req.describe()}
    spec, meas, mechanism, accuracy, bound = _plan(req, today)

    def refused(e: RefusedError) -> RefusedError:
        return _refuse(settings, researcher, "preview" if preview else "query", details, e)

    with opened(settings) as conn:
        try:
            permit, total, used = _permit_state(settings, conn, req.permit_id)
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
                audit.append(conn, audit.chain_key(settings, conn), researcher, "preview", {**details, "cost": "0"})
            result["epsilon_requested"] = float(req.epsilon)
            result["affordable"] = used + req.epsilon <= total
            return result

        exact = run_aggregate(settings, spec)

        try:
            with transaction(conn):
                permit, total, used = _permit_state(settings, conn, req.permit_id)
                _check_use(permit, researcher, req.dataset, today)
                if used + req.epsilon > total:
                    raise RefusedError(_over_budget(req.epsilon, total - used))
                audit.append(conn, audit.chain_key(settings, conn), researcher, "query", {
                    **details, "cost": format_epsilon(req.epsilon), "mechanism": mechanism, "scale": meas.scale})
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
    return (f"spørringen koster ε = {format_epsilon(cost)}, men bare ε = {format_epsilon(left)} "
            f"(≈ {f'{float(left):.6g}'.replace('.', ',')}) er igjen på tillatelsen")


# ---------------------------------------------------------------- export for the indicator


def export_applications(settings: Settings) -> int:
    """Replace ``raw.room_applications`` with the current applications, in one DuckDB transaction.

    Only application metadata leaves the room: id, submitted/decided time, status and number of
    datasets — enough for the data-access indicator (count and processing time). Returns rows
    written.
    """
    from kernel.warehouse import ensure_shared_tables, writer

    with opened(settings) as conn:
        apps = conn.execute(
            "select application_id, submitted_at, decided_at, status, datasets from applications order by application_id"
        ).fetchall()

    def ts(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None) if text else None

    rows = [(a["application_id"], ts(a["submitted_at"]), ts(a["decided_at"]), a["status"],
             len(json.loads(a["datasets"]))) for a in apps]
    with writer(settings) as con:
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


__all__ = ["DATASETS", "QueryRequest", "applications", "apply", "budget", "datasets", "export_applications",
           "parse_bounds", "parse_where", "query", "review", "revoke"]
