"""The publication gate: a failing critical check blocks everything built from its dataset.

:func:`gate` reads the latest quality run from the warehouse (running one first if there is none),
finds datasets with failing critical checks, and expands each to its downstream datasets (dbt
lineage from dbt's manifest, :func:`quality.catalogue.downstream`). If
anything is blocked it raises :class:`~kernel.errors.PipelineFailure` naming the dataset, the
check and the failing share — unless the caller overrides the gate with an explicit reason, which
is written to the hash-chained audit log (:func:`privacy.audit.record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.config import Settings
from kernel.errors import PipelineFailure, UserInputError
from kernel.warehouse import read_only
from quality import catalogue, store

#: Audit-log action of a gate override.
OVERRIDE_ACTION = "quality_gate_override"
#: A reason must say something: at least this many characters.
MIN_REASON_LENGTH = 10


@dataclass(frozen=True)
class Blocker:
    dataset: str
    check: str
    unexpected_percent: float | None
    threshold: float
    error: str | None = None

    def describe(self) -> str:
        share = (f"fails for {self.unexpected_percent:.3g} % of rows (allowed {self.threshold:g} %)"
                 if self.unexpected_percent is not None else f"could not pass ({self.error or 'failed'})")
        return f"{self.dataset}: critical check '{self.check}' {share}"


@dataclass(frozen=True)
class GateDecision:
    run_id: str  # the newest run the decision read
    blockers: tuple[Blocker, ...] = ()
    #: dataset → the failing datasets that block it (itself or upstream).
    blocked: dict[str, list[str]] = field(default_factory=dict)
    overridden: bool = False
    reason: str | None = None

    @property
    def open(self) -> bool:
        """Publication may go ahead (nothing blocked, or overridden)."""
        return not self.blocked or self.overridden

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "open": self.open, "overridden": self.overridden, "reason": self.reason,
                "blockers": [b.__dict__ for b in self.blockers], "blocked": self.blocked}


def evaluate(settings: Settings) -> GateDecision:
    """What the latest results of each dataset block (runs the quality suites first if none are stored)."""
    run_id = None
    if settings.warehouse.exists():
        with read_only(settings) as con:
            run_id = store.latest_run_id(con)
    if run_id is None:
        from quality.runner import run_quality

        run_id = run_quality(settings).run_id
    with read_only(settings) as con:
        failing = store.failed_critical(con)
    blockers = tuple(Blocker(f["dataset"], f["check"], f["unexpected_percent"], f["threshold"], f["error"])
                     for f in failing)
    manifest = catalogue.load_manifest(catalogue.manifest_path(settings))
    blocked: dict[str, list[str]] = {}
    for dataset in dict.fromkeys(b.dataset for b in blockers):
        for target in [dataset, *catalogue.downstream(dataset, manifest)]:
            blocked.setdefault(target, []).append(dataset)
    return GateDecision(run_id, blockers, blocked)


def gate(settings: Settings, override_reason: str | None = None, actor: str | None = None) -> GateDecision:
    """Raise :class:`PipelineFailure` if a failing critical check blocks publication.

    :param override_reason: publish anyway, for this reason. Overriding requires ``actor`` too and
        is recorded in the audit log; it is the *only* way past a failing critical check.
    :param actor: who overrides (a user id), written to the audit log.

    Returns the decision when publication may go ahead.
    """
    if override_reason is not None:
        override_reason = override_reason.strip()
        if len(override_reason) < MIN_REASON_LENGTH:
            raise UserInputError(f"An override of the quality gate needs a reason of at least "
                                 f"{MIN_REASON_LENGTH} characters saying why publishing is safe.")
        if not actor or not actor.strip():
            raise UserInputError("An override of the quality gate needs the actor (who overrides) for the audit log.")
    decision = evaluate(settings)
    if not decision.blocked:
        return decision
    if override_reason is None:
        lines = [b.describe() for b in decision.blockers]
        raise PipelineFailure(
            "Quality gate closed (run " + decision.run_id + "): " + "; ".join(lines)
            + ". Blocked from publication: " + ", ".join(sorted(decision.blocked))
            + ". Fix the data, or override with --override-quality-gate --reason TEXT (audited).")
    from privacy.audit import record

    record(settings, actor.strip(), OVERRIDE_ACTION, {
        "run_id": decision.run_id, "reason": override_reason,
        "blockers": [b.__dict__ for b in decision.blockers], "blocked": sorted(decision.blocked)})
    return GateDecision(decision.run_id, decision.blockers, decision.blocked, overridden=True, reason=override_reason)
