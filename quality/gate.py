"""The publication gate: a failing critical check blocks everything built from its dataset.

:func:`gate` reads the newest quality results of every dataset from the warehouse (running the
suites first if there are none at all) and refuses publication

* when a result is **stale**: computed on other data than the warehouse holds now, because a file
  was loaded or the marts were built after it (:func:`quality.store.stale_datasets` compares the
  :class:`~quality.store.WarehouseState` each run recorded with the current one). No override
  passes a stale result; the answer is to run ``helsedata quality``;
* when a **critical check fails**: the dataset and everything built from it downstream (dbt
  lineage from dbt's manifest, :func:`quality.catalogue.downstream`) are
  blocked, unless the caller overrides with a reason that says something
  (:func:`check_override_reason`), written to the audit log (:func:`privacy.audit.record`).

Refusals raise :class:`~kernel.errors.PipelineFailure` (exit 1) with a message in bokmål.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from kernel.config import Settings
from kernel.errors import PipelineFailure, UserInputError
from kernel.warehouse import read_only
from quality import catalogue, store
from quality.labels import format_percent
from quality.specs import all_specs

#: Audit-log action of a gate override.
OVERRIDE_ACTION = "quality_gate_override"
#: An override reason must say something: this many words with letters in them ...
MIN_REASON_WORDS = 3
#: ... and this many letters in all (ten dots, or "ok ok ok", say nothing).
MIN_REASON_LETTERS = 15

_WORD = re.compile(r"[^\W\d_]+")  # a run of letters (any script)


@dataclass(frozen=True)
class Blocker:
    dataset: str
    check: str
    unexpected_percent: float | None
    threshold: float
    error: str | None = None

    def describe(self) -> str:
        share = (f"feiler for {format_percent(self.unexpected_percent)} av radene (tillatt {format_percent(self.threshold)})"
                 if self.unexpected_percent is not None else f"kunne ikke kjøres ({self.error or 'feilet'})")
        return f"{self.dataset}: den kritiske kontrollen '{self.check}' {share}"


@dataclass(frozen=True)
class GateDecision:
    run_id: str  # the newest run the decision read
    blockers: tuple[Blocker, ...] = ()
    #: dataset → the failing datasets that block it (itself or upstream).
    blocked: dict[str, list[str]] = field(default_factory=dict)
    overridden: bool = False
    reason: str | None = None
    #: datasets whose newest result does not describe the current data.
    stale: tuple[store.Stale, ...] = ()
    #: the loads and data build the warehouse holds now.
    state: store.WarehouseState | None = None

    @property
    def open(self) -> bool:
        """Publication may go ahead (results current, and nothing blocked or overridden)."""
        return not self.stale and (not self.blocked or self.overridden)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "open": self.open, "overridden": self.overridden, "reason": self.reason,
                "blockers": [b.__dict__ for b in self.blockers], "blocked": self.blocked,
                "stale": [s.dataset for s in self.stale]}


def check_override_reason(reason: str) -> str:
    """The reason, stripped, if it says something; else :class:`UserInputError`.

    >>> check_override_reason("  Kjent kodefeil, rettes i neste leveranse ")
    'Kjent kodefeil, rettes i neste leveranse'
    >>> check_override_reason("..........")
    Traceback (most recent call last):
    ...
    kernel.errors.UserInputError: En overstyring av kvalitetsporten trenger en begrunnelse på minst 3 ord og 15 bokstaver som sier hvorfor publisering er trygg (fikk «..........»).
    """
    text = reason.strip()
    words = _WORD.findall(text)
    if len(words) < MIN_REASON_WORDS or sum(map(len, words)) < MIN_REASON_LETTERS:
        raise UserInputError(
            f"En overstyring av kvalitetsporten trenger en begrunnelse på minst {MIN_REASON_WORDS} ord og "
            f"{MIN_REASON_LETTERS} bokstaver som sier hvorfor publisering er trygg (fikk «{text[:80]}»).")
    return text


def evaluate(settings: Settings) -> GateDecision:
    """What the latest results of each dataset block, and which are stale.

    Runs the quality suites first when no result is stored at all (a first publication).
    """
    run_id = None
    if settings.warehouse.exists():
        with read_only(settings) as con:
            run_id = store.latest_run_id(con)
    if run_id is None:
        from quality.runner import run_quality

        run_id = run_quality(settings).run_id
    with read_only(settings) as con:
        failing = store.failed_critical(con)
        state = store.warehouse_state(con)
        stale = store.stale_datasets(con, [s.name for s in all_specs()], state)
    blockers = tuple(Blocker(f["dataset"], f["check"], f["unexpected_percent"], f["threshold"], f["error"])
                     for f in failing)
    manifest = catalogue.load_manifest(catalogue.manifest_path(settings))
    blocked: dict[str, list[str]] = {}
    for dataset in dict.fromkeys(b.dataset for b in blockers):
        for target in [dataset, *catalogue.downstream(dataset, manifest)]:
            blocked.setdefault(target, []).append(dataset)
    return GateDecision(run_id, blockers, blocked, stale=tuple(stale), state=state)


def gate(settings: Settings, override_reason: str | None = None, actor: str | None = None) -> GateDecision:
    """Raise :class:`PipelineFailure` if stale results or a failing critical check block publication.

    :param override_reason: publish anyway, for this reason, although a critical check fails.
        Overriding requires ``actor`` too and is recorded in the audit log; it is the *only* way
        past a failing critical check, and no way past a stale result.
    :param actor: who overrides (a user id), written to the audit log.

    Returns the decision when publication may go ahead.
    """
    if override_reason is not None:
        override_reason = check_override_reason(override_reason)
        if not actor or not actor.strip():
            raise UserInputError("En overstyring av kvalitetsporten må oppgi hvem som overstyrer (--actor), "
                                 "for revisjonsloggen.")
    decision = evaluate(settings)
    if decision.blocked and override_reason is None:
        raise PipelineFailure(_blocked_message(decision))
    if decision.stale:
        raise PipelineFailure(_stale_message(decision.stale, decision.state))
    if not decision.blocked:
        return decision
    from privacy.audit import record

    record(settings, actor.strip(), OVERRIDE_ACTION, {
        "run_id": decision.run_id, "reason": override_reason,
        "blockers": [b.__dict__ for b in decision.blockers], "blocked": sorted(decision.blocked)})
    return GateDecision(decision.run_id, decision.blockers, decision.blocked, overridden=True,
                        reason=override_reason)


def _blocked_message(decision: GateDecision) -> str:
    message = ("Kvalitetsporten er stengt (kjøring " + decision.run_id + "): "
               + "; ".join(b.describe() for b in decision.blockers)
               + ". Stoppet fra publisering: " + ", ".join(sorted(decision.blocked))
               + ". Rett dataene, eller overstyr med --override-quality-gate --reason TEKST (revideres).")
    if decision.stale:
        message += (f" Merk: resultatene for {len(decision.stale)} datasett er utdaterte; "
                    "kjør 'helsedata quality' først.")
    return message


def _stale_message(stale: tuple[store.Stale, ...], now: store.WarehouseState) -> str:
    never = [s.dataset for s in stale if s.run_id is None]
    unrecorded = [s.dataset for s in stale if s.run_id is not None and s.checked is None]
    changed = [s for s in stale if s.checked is not None]
    parts = []
    if never:
        parts.append("aldri kontrollert: " + ", ".join(never))
    if unrecorded:
        parts.append("kontrollert av en eldre versjon som ikke registrerte hvilke data den så: "
                     + ", ".join(unrecorded))
    if changed:
        loaded = [s for s in changed if (s.checked.loaded_files, s.checked.last_load_at)
                  != (now.loaded_files, now.last_load_at)]
        built = [s for s in changed if s.checked.last_build_seq != now.last_build_seq]
        if loaded:
            parts.append(f"nye data er lastet inn (sist {_when(now.last_load_at)}) etter siste kontroll av "
                         + ", ".join(s.dataset for s in loaded))
        if built:
            parts.append(f"martene er bygget på nytt (bygg nr. {now.last_build_seq}, {_when(now.last_build_at)}) "
                         "etter siste kontroll av " + ", ".join(s.dataset for s in built))
    return ("Kvalitetsporten er stengt fordi kvalitetsresultatene ikke gjelder dataene slik de er nå: "
            + "; ".join(parts) + ". Kjør 'helsedata quality' og publiser deretter på nytt.")


def _when(moment: dt.datetime | None) -> str:
    """A UTC timestamp as Norwegians write it: ``29.11.2026 kl. 18.55 UTC``."""
    return "ukjent tidspunkt" if moment is None else f"{moment:%d.%m.%Y kl. %H.%M} UTC"
