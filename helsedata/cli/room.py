"""`helsedata room`: the secure analysis room (docs/analysis-room.md). Logic lives in :mod:`privacy.room`."""

from __future__ import annotations

import click

from helsedata.cli import emit, json_option, settings
from helsedata.errors import UserInputError


@click.group(name="room")
def room() -> None:
    """The analysis room: apply for a data permit, review, run DP queries, check budget and audit.

    Privacy loss is spoken as epsilon (ε). ε values may be decimals (0.1) or fractions (1/3);
    they are kept exactly, so the budget is never exceeded by rounding.
    """


@room.command(name="datasets")
@json_option
def datasets_cmd(as_json: bool) -> None:
    """List the datasets researchers can apply for, with their group-by and numeric columns."""
    from privacy.room import datasets

    result = datasets()
    human = "\n".join(
        f"{d['name']}: {d['description']}\n  group by: {', '.join(d['group_by'])}\n"
        f"  numeric: {', '.join(d['numeric'])}\n  at most {d['contribution_bound']} rows per person per query"
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
    emit(result, as_json, f"Application {result['application_id']} submitted.")


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
        raise UserInputError("choose --approve or --reject")
    result = review(settings(), application, reviewer, approve=decision == "approve",
                    epsilon=epsilon, expires=expires, reason=reason)
    human = (f"Approved: permit {result['permit_id']} (ε = {result['epsilon_budget_exact']}, "
             f"expires {result['expires']})." if decision == "approve" else f"Application {application} rejected.")
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
    emit(result, as_json, f"Permit {permit} revoked.")


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
@json_option
def query_cmd(permit: str, researcher: str, dataset: str, by: str, statistic: str | None,
              sum_col: str | None, mean_col: str | None, quantile_col: str | None, q: float | None,
              bounds: str | None, epsilon: str, preview: bool, as_json: bool) -> None:
    """Run one differentially private query under a permit."""
    from privacy.budget import parse_epsilon
    from privacy.room import QueryRequest, parse_bounds, query

    chosen = [(name, col) for name, col in (("count", statistic and "count"), ("sum", sum_col),
                                            ("mean", mean_col), ("quantile", quantile_col)) if col]
    if len(chosen) != 1:
        raise UserInputError("choose exactly one of --count, --sum COL, --mean COL, --quantile COL")
    stat, col = chosen[0]
    if stat != "count" and not bounds:
        raise UserInputError(f"--{stat} needs --bounds LO,HI")
    req = QueryRequest(
        permit_id=permit, researcher=researcher, dataset=dataset,
        by=tuple(c.strip() for c in by.split(",") if c.strip()), statistic=stat,
        epsilon=parse_epsilon(epsilon), column=None if stat == "count" else col,
        bounds=parse_bounds(bounds) if bounds else None, q=q,
    )
    result = query(settings(), req, preview=preview)
    if preview:
        human = (f"Preview: {result['mechanism']}, 95 % accuracy ±{result['accuracy_95']}, "
                 f"ε remaining {result['epsilon_remaining_exact']} (nothing spent).")
    else:
        lines = [", ".join(f"{k}={v}" for k, v in row.items()) for row in result["rows"]]
        human = "\n".join(lines + [f"ε spent {result['epsilon_spent_exact']}, remaining "
                                   f"{result['epsilon_remaining_exact']}; 95 % accuracy ±{result['accuracy_95']}"])
    emit(result, as_json, human)


@room.command(name="budget")
@click.option("--permit", required=True, help="Permit ID.")
@json_option
def budget_cmd(permit: str, as_json: bool) -> None:
    """Show a permit's budget, spent and remaining ε."""
    from privacy.room import budget

    r = budget(settings(), permit)
    emit(r, as_json, f"Permit {permit}: budget {r['epsilon_budget_exact']}, spent {r['epsilon_spent_exact']}, "
                     f"remaining {r['epsilon_remaining_exact']} ({r['status']}, expires {r['expires']}).")


@room.group(name="audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command(name="verify")
@json_option
def audit_verify(as_json: bool) -> None:
    """Check the audit chain; exit 2 naming the first broken entry."""
    from privacy.audit import verify

    result = verify(settings())
    if not result.ok:
        message = f"AuditBroken: audit log broken at entry {result.first_broken_seq}: {result.reason}"
        if as_json:
            emit({**result.as_dict(), "error": message, "status": 2}, True, "")
        click.echo(message, err=True)
        raise click.exceptions.Exit(2)
    emit(result.as_dict(), as_json,
         f"Audit log intact: {result.entries} entries, head {result.head_seq} {result.head_hash[:16]}…")
