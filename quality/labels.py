"""Quality labels: bronze / silver / gold / platinum, by written rules (docs/quality.md, "Labels").

In the spirit of the EHDS data quality and utility label (Regulation (EU) 2025/327, Art. 78) and
graded the way HDR UK's Data Utility Framework grades datasets. A label is computed per dataset and
per quality run by :func:`grade`, a pure function of three things:

* the dataset's **check results** (Kahn category and severity of each, passed or not);
* its **documentation completeness** in the dbt catalogue (share of the model/source and its
  columns with a description, 0–1; :mod:`quality.catalogue`);
* its **timeliness**: age in days of the newest load (``ingest.manifest``; for marts the stalest
  of their raw inputs; :mod:`quality.runner`).

=========  ==================================================================================
label      rule (each grade includes all rules of the grades below it)
=========  ==================================================================================
bronze     always — a dataset that meets nothing still gets bronze and stays visible
silver     no critical check fails; documentation ≥ 50 %
gold       no check fails (warnings included); documentation ≥ 80 %; newest load ≤ 35 days old
platinum   documentation 100 %; checks cover all three Kahn categories (conformance,
           completeness, plausibility)
=========  ==================================================================================

The labels and their order come from the dbt seed ``codelist_quality_label`` (dbt ranks an
indicator's inputs by it too), and the 35 days are dbt's source-freshness ``warn_after`` for raw
tables (monthly extracts); both are written only there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kernel.codelists import read_seed
from quality.catalogue import raw_freshness_warn_days
from quality.specs import CATEGORIES

#: Worst first: ("bronze", "silver", "gold", "platinum").
LABELS = tuple(r["label"] for r in sorted(read_seed("codelist_quality_label"), key=lambda r: int(r["rank"])))
SILVER_MIN_DOCUMENTATION = 0.5
GOLD_MIN_DOCUMENTATION = 0.8
PLATINUM_MIN_DOCUMENTATION = 1.0
GOLD_MAX_AGE_DAYS = float(raw_freshness_warn_days())


@dataclass(frozen=True)
class Outcome:
    """What a label needs to know about one check result."""

    check: str
    category: str
    severity: str
    passed: bool


@dataclass(frozen=True)
class Label:
    label: str
    #: Why the dataset got this label and what stops the next one.
    reasons: tuple[str, ...] = field(default=())

    @property
    def rank(self) -> int:
        return LABELS.index(self.label)


def grade(outcomes: Iterable[Outcome], documentation: float | None, age_days: float | None) -> Label:
    """The label of one dataset in one run.

    >>> ok = [Outcome("a", "conformance", "critical", True), Outcome("b", "completeness", "critical", True),
    ...       Outcome("c", "plausibility", "warning", True)]
    >>> grade(ok, documentation=1.0, age_days=2).label
    'platinum'
    >>> grade(ok, documentation=0.9, age_days=2).label
    'gold'
    >>> grade(ok, documentation=0.9, age_days=60).label
    'silver'
    >>> grade([Outcome("a", "conformance", "critical", False)], documentation=1.0, age_days=0).label
    'bronze'
    """
    outcomes = list(outcomes)
    if documentation is not None and not 0.0 <= documentation <= 1.0:
        raise ValueError(f"documentation is a share between 0 and 1, got {documentation}")
    if age_days is not None and age_days < 0:
        age_days = 0.0  # a load stamped slightly in the future (clock skew) counts as fresh
    doc = documentation or 0.0
    doc_text = "unknown" if documentation is None else f"{doc:.0%}"
    reasons: list[str] = []
    failed_critical = [o.check for o in outcomes if o.severity == "critical" and not o.passed]
    failed_warning = [o.check for o in outcomes if o.severity != "critical" and not o.passed]

    # silver
    missing: list[str] = []
    if not outcomes:
        missing.append("no checks ran")
    if failed_critical:
        missing.append(f"{len(failed_critical)} critical check(s) fail: {', '.join(failed_critical[:5])}")
    if doc < SILVER_MIN_DOCUMENTATION:
        missing.append(f"documentation {doc_text} < {SILVER_MIN_DOCUMENTATION:.0%}")
    if missing:
        return Label("bronze", tuple(["not silver: " + m for m in missing]))
    reasons.append(f"silver: all critical checks pass; documentation {doc_text}")

    # gold
    if failed_warning:
        missing.append(f"{len(failed_warning)} warning check(s) fail: {', '.join(failed_warning[:5])}")
    if doc < GOLD_MIN_DOCUMENTATION:
        missing.append(f"documentation {doc_text} < {GOLD_MIN_DOCUMENTATION:.0%}")
    if age_days is None:
        missing.append("timeliness unknown (no load recorded)")
    elif age_days > GOLD_MAX_AGE_DAYS:
        missing.append(f"newest load {age_days:.0f} days old > {GOLD_MAX_AGE_DAYS:.0f}")
    if missing:
        return Label("silver", tuple(reasons + ["not gold: " + m for m in missing]))
    reasons.append(f"gold: all checks pass; newest load {age_days:.0f} days old")

    # platinum
    if doc < PLATINUM_MIN_DOCUMENTATION:
        missing.append(f"documentation {doc_text} < {PLATINUM_MIN_DOCUMENTATION:.0%}")
    uncovered = [c for c in CATEGORIES if not any(o.category == c for o in outcomes)]
    if uncovered:
        missing.append(f"no {', '.join(uncovered)} checks")
    if missing:
        return Label("gold", tuple(reasons + ["not platinum: " + m for m in missing]))
    reasons.append("platinum: fully documented; conformance, completeness and plausibility all checked")
    return Label("platinum", tuple(reasons))


def worst(labels: Iterable[str]) -> str:
    """The lowest of some labels (an indicator is as good as its worst input).

    >>> worst(["gold", "silver", "platinum"])
    'silver'
    """
    return min(labels, key=LABELS.index)
