"""`helsedata room`: the secure analysis room (docs/analysis-room.md). Logic lives in :mod:`privacy.room`.

``--json`` prints the shapes of docs/analysis-room.md unchanged; without it every command prints bokmål text with
Norwegian number and date formats ("1 234", "45,3", "30.06.2027"): counts as integers, means with
one decimal, accuracy rounded ("± 12"), exact ε as fractions, and no Python reprs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from helsedata.cli import emit, json_option, settings
from kernel.errors import ConfigurationError, UserInputError

#: Thousands separator in Norwegian numbers (narrow no-break space, as in the HTML report).
THOUSANDS = "\u202f"
MECHANISMS = {"discrete_laplace": "diskret Laplace", "exponential_quantile": "eksponensiell mekanisme"}
STATUSES = {"submitted": "venter på vurdering", "approved": "godkjent", "rejected": "avslått",
            "active": "aktiv", "revoked": "tilbakekalt"}
#: Column headings of a released statistic.
STATISTIC_HEADINGS = {"count": "antall", "sum": "sum", "mean": "gjennomsnitt", "quantile": "kvantil"}
#: What an accuracy bound is on ("± 12 på antallet").
ACCURACY_OF = {"count": "antallet", "sum": "summen"}


def integer(value: float) -> str:
    """A count, rounded, with Norwegian thousands separators.

    >>> integer(1234.6), integer(-3)
    ('1\u202f235', '-3')
    """
    return f"{round(value):,}".replace(",", THOUSANDS)


def decimal(value: float | None, digits: int = 1) -> str:
    """A measured value with a decimal comma (``–`` when there is none).

    >>> decimal(45.26), decimal(1234.5), decimal(None)
    ('45,3', '1\u202f234,5', '–')
    """
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", THOUSANDS).replace(".", ",")


def plus_minus(value: float) -> str:
    """An accuracy bound: whole numbers from 10 up, one decimal below.

    >>> plus_minus(120.34), plus_minus(2.345)
    ('± 120', '± 2,3')
    """
    return f"± {integer(value) if value >= 10 else decimal(value)}"


def norwegian_date(iso: str | None) -> str:
    """``2027-06-30`` → ``30.06.2027``; a UTC timestamp also gets its time of day.

    >>> norwegian_date("2027-06-30"), norwegian_date("2026-11-29T18:47:26.123456+00:00")
    ('30.06.2027', '29.11.2026 18:47 UTC')
    """
    if not iso:
        return "–"
    day = f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"
    return f"{day} {iso[11:16]} UTC" if len(iso) > 10 else day


def accuracy_text(accuracy: Any, statistic: str) -> str:
    """What ``accuracy_95`` promises, in words."""
    if accuracy is None:
        return "ingen lukket nøyaktighetsgrense for kvantilen"
    if isinstance(accuracy, dict):
        return (f"95 % nøyaktighet {plus_minus(accuracy['sum'])} på {ACCURACY_OF['sum']} og "
                f"{plus_minus(accuracy['count'])} på {ACCURACY_OF['count']} i hver celle")
    return f"95 % nøyaktighet {plus_minus(accuracy)} på {ACCURACY_OF[statistic]} i hver celle"


def table(headings: Sequence[str], rows: Sequence[Sequence[str]], numbers: int = 0) -> str:
    """Text columns two spaces apart; the last ``numbers`` columns (figures) right-aligned.

    >>> print(table(["kjonn", "antall"], [["K", "1\u202f234"], ["M", "12"]], numbers=1))
    kjonn  antall
    K       1\u202f234
    M          12
    """
    widths = [max(len(c) for c in column) for column in zip(headings, *rows)]
    first_number = len(headings) - numbers
    return "\n".join(
        "  ".join(c.rjust(w) if i >= first_number else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        for row in [headings, *rows])


def _release_rows(result: dict) -> str:
    """The released cells as a table: public keys, then the statistic (and a mean's count)."""
    statistic, rows = result["statistic"], result["rows"]
    keys = list(result["by"])
    columns = {"count": ["count"], "sum": ["sum"], "mean": ["mean", "count"], "quantile": ["quantile"]}[statistic]
    headings = keys + [STATISTIC_HEADINGS[c] for c in columns]
    cells = [[str(r[k]) for k in keys] + [decimal(r[c]) if c == "mean" else integer(r[c]) for c in columns]
             for r in rows]
    return table(headings, cells, numbers=len(columns))


#: Room commands that need no warehouse: the catalogue is declared, not read from the data.
_WITHOUT_WAREHOUSE = {"datasets"}
def where_option(command):
    """``--where KEY=VALUE[,KEY=VALUE]``, shared by ``query`` and ``release request``."""
    return click.option(
        "--where", help="Filters on public keys and flags, all of which a row must match, "
                        "e.g. has_vft=true,aldersgruppe=80+ (values from the public domains).")(command)


@click.group(name="room")
@click.pass_context
def room(ctx: click.Context) -> None:
    """The analysis room: apply for a data permit, review, run DP queries, check budget and audit.

    Privacy loss is spoken as epsilon (ε). ε values may be decimals (0.1) or fractions (1/3);
    they are kept exactly, so the budget is never exceeded by rounding.
    """
    home = settings(ctx)
    if ctx.invoked_subcommand not in _WITHOUT_WAREHOUSE and not home.warehouse.exists():
        # Without this, a command run in the wrong folder answers "no such permit" from a new, empty room.
        raise ConfigurationError(
            f"fant ikke noe varehus i {home.home}: sett HELSEDATA_HOME til plattformens mappe "
            "(eller kjør `helsedata run --demo` for å lage en demo)"
        )


@room.command(name="datasets")
@json_option
def datasets_cmd(as_json: bool) -> None:
    """List the datasets researchers can apply for, with their group-by and numeric columns."""
    from privacy.room import datasets

    result = datasets()
    human = "\n".join(
        f"{d['name']}: {d['description']}\n  grupper etter: {', '.join(d['group_by'])}\n"
        f"  numeriske kolonner: {', '.join(d['numeric']) or '–'}\n"
        f"  høyst {d['contribution_bound']} rader per person per spørring"
        + ("; --count teller ulike personer" if d.get("counts") == "persons" else "")
        for d in result
    )
    emit(result, as_json, human)


@room.command(name="apply")
@click.option("--researcher", required=True, help="Your researcher ID (the permit holder).")
@click.option("--purpose", required=True, help="What the data will be used for.")
@click.option("--datasets", required=True, help="Comma-separated catalogue names (see 'room datasets').")
@click.option("--epsilon", required=True, help="Total privacy budget requested, e.g. 1 or 1/2.")
@json_option
def apply_cmd(researcher: str, purpose: str, datasets: str, epsilon: str, as_json: bool) -> None:
    """Apply for a data permit."""
    from privacy.room import apply

    result = apply(settings(), researcher, purpose, datasets, epsilon)
    emit(result, as_json, f"Søknad {result['application_id']} er sendt inn.")


@room.command(name="review")
@click.argument("application")
@click.option("--reviewer", required=True, help="Your reviewer ID; must differ from the applicant's.")
@click.option("--approve", "decision", flag_value="approve", help="Approve and create a permit.")
@click.option("--reject", "decision", flag_value="reject", help="Reject (needs --reason).")
@click.option("--epsilon", help="Budget granted (default: as requested; never more).")
@click.option("--expires", help="Last valid day of the permit, YYYY-MM-DD (default: one year).")
@click.option("--reason", help="Why the application is rejected (required with --reject).")
@json_option
def review_cmd(application: str, reviewer: str, decision: str | None, epsilon: str | None,
               expires: str | None, reason: str | None, as_json: bool) -> None:
    """Approve or reject APPLICATION."""
    from privacy.room import review

    if decision is None:
        raise UserInputError("velg --approve eller --reject")
    result = review(settings(), application, reviewer, approve=decision == "approve",
                    epsilon=epsilon, expires=expires, reason=reason)
    human = (f"Godkjent: tillatelse {result['permit_id']} (ε = {result['epsilon_budget_exact']}, "
             f"gyldig til og med {norwegian_date(result['expires'])})." if decision == "approve"
             else f"Søknad {application} er avslått.")
    emit(result, as_json, human)


@room.command(name="revoke")
@click.argument("permit")
@click.option("--by", "by", required=True, help="ID of the person revoking the permit.")
@click.option("--reason", required=True, help="Why the permit is revoked.")
@json_option
def revoke_cmd(permit: str, by: str, reason: str, as_json: bool) -> None:
    """Revoke PERMIT; later queries under it are refused (spent ε stays spent)."""
    from privacy.room import revoke

    result = revoke(settings(), permit, by, reason)
    emit(result, as_json, f"Tillatelse {permit} er tilbakekalt.")


@room.command(name="query")
@click.option("--permit", required=True, help="Permit ID.")
@click.option("--researcher", required=True, help="Your researcher ID (must hold the permit).")
@click.option("--dataset", required=True, help="Dataset name (must be in the permit).")
@click.option("--by", "by", default="", help="Comma-separated group-by columns (public keys only).")
@click.option("--count", "statistic", flag_value="count", help="Count rows per group.")
@click.option("--sum", "sum_col", help="Sum of COL per group (needs --bounds).")
@click.option("--mean", "mean_col", help="Mean of COL per group (needs --bounds).")
@click.option("--quantile", "quantile_col", help="Quantile of COL per group (needs --q and --bounds).")
@click.option("--q", type=float, help="Quantile level, strictly between 0 and 1 (e.g. 0.5).")
@click.option("--bounds", help="Integer clipping bounds LO,HI for --sum/--mean/--quantile.")
@click.option("--epsilon", required=True, help="ε this query spends, e.g. 0.1 or 1/3.")
@click.option("--preview", is_flag=True, help="Show accuracy and cost without spending or reading data.")
@where_option
@json_option
def query_cmd(permit: str, researcher: str, dataset: str, by: str, statistic: str | None,
              sum_col: str | None, mean_col: str | None, quantile_col: str | None, q: float | None,
              bounds: str | None, epsilon: str, preview: bool, where: str | None, as_json: bool) -> None:
    """Run one differentially private query under a permit."""
    from privacy.budget import format_epsilon, parse_epsilon
    from privacy.room import QueryRequest, parse_bounds, parse_where, query

    chosen = [(name, col) for name, col in (("count", statistic and "count"), ("sum", sum_col),
                                            ("mean", mean_col), ("quantile", quantile_col)) if col]
    if len(chosen) != 1:
        raise UserInputError("velg nøyaktig én av --count, --sum COL, --mean COL, --quantile COL")
    stat, col = chosen[0]
    if stat != "count" and not bounds:
        raise UserInputError(f"--{stat} trenger --bounds LO,HI")
    req = QueryRequest(
        permit_id=permit, researcher=researcher, dataset=dataset,
        by=tuple(c.strip() for c in by.split(",") if c.strip()), statistic=stat,
        epsilon=parse_epsilon(epsilon), column=None if stat == "count" else col,
        bounds=parse_bounds(bounds) if bounds else None, q=q, where=parse_where(where),
    )
    result = query(settings(), req, preview=preview)
    mechanism = MECHANISMS.get(result["mechanism"], result["mechanism"])
    accuracy = accuracy_text(result["accuracy_95"], result["statistic"])
    if preview:
        verdict = "er innenfor" if result["affordable"] else "overstiger"
        human = (f"Forhåndsvisning, ingenting brukt: {mechanism}; {accuracy}.\n"
                 f"Spørringen koster ε = {format_epsilon(req.epsilon)} og {verdict} det som er igjen "
                 f"(ε = {result['epsilon_remaining_exact']}).")
    else:
        filters = ", ".join(f"{k}={v}" for k, v in result.get("where", {}).items())
        human = (f"{_release_rows(result)}\n\n" + (f"Filter: {filters}.\n" if filters else "")
                 + f"{mechanism}; {accuracy}.\n"
                 f"ε brukt {result['epsilon_spent_exact']}, igjen {result['epsilon_remaining_exact']}.")
    emit(result, as_json, human)


@room.command(name="budget")
@click.option("--permit", required=True, help="Permit ID.")
@json_option
def budget_cmd(permit: str, as_json: bool) -> None:
    """Show a permit's budget, spent and remaining ε."""
    from privacy.room import budget

    r = budget(settings(), permit)
    emit(r, as_json, f"Tillatelse {permit}: budsjett ε = {r['epsilon_budget_exact']}, brukt {r['epsilon_spent_exact']}, "
                     f"igjen {r['epsilon_remaining_exact']} ({STATUSES[r['status']]}, gyldig til og med "
                     f"{norwegian_date(r['expires'])}).")


@room.command(name="applications")
@click.option("--pending", is_flag=True, help="Only applications awaiting review (the reviewers' queue).")
@json_option
def applications_cmd(pending: bool, as_json: bool) -> None:
    """List applications, oldest first; --pending shows only those awaiting review."""
    from privacy.room import applications

    result = applications(settings(), pending=pending)
    if not result:
        human = "Ingen søknader venter på vurdering." if pending else "Ingen søknader."
    else:
        human = table(
            ["søknad", "forsker", "datasett", "ε", "sendt inn", "status", "formål"],
            [[a["application_id"], a["researcher"], ", ".join(a["datasets"]), a["epsilon_exact"],
              norwegian_date(a["submitted_at"]),
              STATUSES[a["status"]] + (f" ({a['permit_id']})" if a["permit_id"] else ""), a["purpose"]]
             for a in result])
    emit(result, as_json, human)


@room.group(name="audit")
def audit_group() -> None:
    """The keyed, hash-chained audit log and the state it must match."""


@audit_group.command(name="verify")
@click.option("--expect-head", "expect_head", metavar="HASH",
              help="A head hash recorded elsewhere (e.g. by a publication); the log must still contain it.")
@json_option
def audit_verify(expect_head: str | None, as_json: bool) -> None:
    """Check the chain, rebuild the room's state from it and compare; exit 2 naming what is broken."""
    from privacy.audit import verify

    result = verify(settings(), expect_head=expect_head)
    if not result.ok:
        where = f"ved oppføring {result.first_broken_seq}" if result.first_broken_seq else "mot tilstandstabellene"
        message = f"AuditBroken: revisjonsloggen holder ikke {where}: {result.reason}"
        if as_json:
            emit({**result.as_dict(), "error": message, "status": 2}, True, "")
        click.echo("\n".join([message, *(f"  {d}" for d in result.differences[1:])]), err=True)
        raise click.exceptions.Exit(2)
    emit(result.as_dict(), as_json,
         f"Revisjonsloggen er intakt: {result.entries} oppføringer, tilstanden stemmer, "
         f"hode {result.head_seq} {result.head_hash}")


@room.group(name="release")
def release_group() -> None:
    """Exact aggregate tables, released after disclosure control and two reviewers' approval.

    A researcher requests an exact count table under a permit; it is disclosure-controlled at once
    (suppression of small counts, secondary suppression against the margins, rounding) and refused
    if too much must be hidden. Two different reviewers, neither the requester, must approve it
    before the requester can download it. Every step is in the audit log.
    """


@release_group.command(name="request")
@click.option("--permit", required=True, help="Permit ID (must cover the dataset).")
@click.option("--researcher", required=True, help="Your researcher ID (must hold the permit).")
@click.option("--dataset", required=True, help="Dataset name.")
@click.option("--by", "by", required=True, help="Comma-separated group-by columns (public keys only).")
@click.option("--count", "count", is_flag=True, required=True, help="Count per group (the only statistic released).")
@where_option
@json_option
def release_request_cmd(permit: str, researcher: str, dataset: str, by: str, count: bool, where: str | None,
                        as_json: bool) -> None:
    """Request the release of an exact count table (disclosure-controlled before anyone sees it)."""
    from privacy.release import ReleaseRequest, request
    from privacy.room import parse_where

    req = ReleaseRequest(permit_id=permit, researcher=researcher, dataset=dataset,
                         by=tuple(c.strip() for c in by.split(",") if c.strip()), where=parse_where(where))
    result = request(settings(), req)
    s = result["summary"]
    emit(result, as_json,
         f"Utlevering {result['release_id']} venter på to saksbehandlere. Utleveringskontroll: "
         f"{integer(s['suppressed'])} av {integer(s['nonzero'])} celler med personer skjult, "
         f"antall avrundet til nærmeste {s['rounding_base']}.")


@release_group.command(name="list")
@click.option("--pending", is_flag=True, help="Only releases awaiting review.")
@json_option
def release_list_cmd(pending: bool, as_json: bool) -> None:
    """List release requests, oldest first."""
    from privacy.release import STATUS_WORDS, releases

    result = releases(settings(), pending=pending)
    if not result:
        human = "Ingen utleveringer venter på vurdering." if pending else "Ingen utleveringer."
    else:
        human = table(
            ["utlevering", "forsker", "datasett", "grupper etter", "filtre", "bedt om", "status", "godkjent"],
            [[r["release_id"], r["requester"], r["dataset"], ",".join(r["by"]),
              ",".join(f"{k}={v}" for k, v in r["where"].items()) or "–", norwegian_date(r["requested_at"]),
              STATUS_WORDS[r["status"]], f"{r['approvals']} av {r['approvals_needed']}"] for r in result])
    emit(result, as_json, human)


@release_group.command(name="review")
@click.argument("release")
@click.option("--reviewer", required=True, help="Your reviewer ID; not the requester, and once per release.")
@click.option("--approve", "decision", flag_value="approve", help="Approve the disclosure-controlled table.")
@click.option("--reject", "decision", flag_value="reject", help="Reject it (needs --reason).")
@click.option("--reason", help="Why the release is rejected (required with --reject).")
@json_option
def release_review_cmd(release: str, reviewer: str, decision: str | None, reason: str | None, as_json: bool) -> None:
    """Approve or reject RELEASE."""
    from privacy.release import STATUS_WORDS, review

    if decision is None:
        raise UserInputError("velg --approve eller --reject")
    result = review(settings(), release, reviewer, approve=decision == "approve", reason=reason)
    emit(result, as_json, f"Utlevering {release}: {STATUS_WORDS[result['status']]} "
                          f"({result['approvals']} av {result['approvals_needed']} godkjenninger).")


@release_group.command(name="download")
@click.argument("release")
@click.option("--researcher", required=True, help="Your researcher ID (the requester).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write the table as CSV to FILE.")
@json_option
def release_download_cmd(release: str, researcher: str, out: str | None, as_json: bool) -> None:
    """Download an approved RELEASE (exit 2 until two reviewers other than you have approved it)."""
    from pathlib import Path

    from privacy.release import download

    result = download(settings(), release, researcher, out=Path(out) if out else None)
    cells = [[str(r[k]) for k in result["by"]] + [":" if r["count"] is None else integer(r["count"])]
             for r in result["rows"]]
    human = table([*result["by"], "antall"], cells, numbers=1) + "\n\n: skjult av utleveringskontrollen."
    if out:
        human += f"\nSkrevet til {out}."
    emit(result, as_json, human)
