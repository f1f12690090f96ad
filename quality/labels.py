"""Quality labels: bronze / silver / gold / platinum, by written rules (docs/quality.md, "Labels").

In the spirit of the EHDS data quality and utility label (Regulation (EU) 2025/327, Art. 78) and
graded the way HDR UK's Data Utility Framework grades datasets. A label is computed per dataset and
per quality run by :func:`grade`, a pure function of what the data show:

* the dataset's **check results** (Kahn category and severity of each, passed or not);
* its **documentation completeness** in the dbt catalogue (share of the model/source and its
  columns with a description, 0–1; :mod:`quality.catalogue`);
* its **timeliness**: the newest month *in the data* against the source's expected reporting lag
  (:func:`quality.measures.measure`; for marts the latest of their raw inputs);
* its **coverage**: the share of the expected kommuner or reporting units present in the newest
  period (:func:`quality.measures.measure`; for marts the lowest of their raw inputs).

=========  ==================================================================================
label      rule (each grade includes all rules of the grades below it)
=========  ==================================================================================
bronze     always — a dataset that meets nothing still gets bronze and stays visible
silver     no critical check fails; documentation ≥ 50 %
gold       no check fails (warnings included); documentation ≥ 80 %; the data are on time (the
           next period is not overdue); coverage ≥ 95 % of the expected units
platinum   documentation 100 %; coverage 100 %; checks cover all three Kahn categories
           (conformance, completeness, plausibility)
=========  ==================================================================================

The labels and their order come from the dbt seed ``codelist_quality_label`` (dbt ranks an
indicator's inputs by it too), written only there. Access and provision, and what changed since
the previous label, are part of the label as published (:mod:`quality.runner`, the catalogue) but
do not move the grade.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kernel.codelists import read_seed
from quality.measures import Coverage, Timeliness
from quality.specs import CATEGORIES

#: Worst first: ("bronze", "silver", "gold", "platinum").
LABELS = tuple(r["label"] for r in sorted(read_seed("codelist_quality_label"), key=lambda r: int(r["rank"])))
#: The labels in bokmål, as the reports and the catalogue show them.
LABEL_NAMES = {"bronze": "bronse", "silver": "sølv", "gold": "gull", "platinum": "platina"}
SILVER_MIN_DOCUMENTATION = 0.5
GOLD_MIN_DOCUMENTATION = 0.8
PLATINUM_MIN_DOCUMENTATION = 1.0
GOLD_MIN_COVERAGE = 0.95
PLATINUM_MIN_COVERAGE = 1.0


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


def grade(outcomes: Iterable[Outcome], documentation: float | None, timeliness: Timeliness | None,
          coverage: Coverage | None) -> Label:
    """The label of one dataset in one run.

    >>> import datetime as dt
    >>> ok = [Outcome("a", "conformance", "critical", True), Outcome("b", "completeness", "critical", True),
    ...       Outcome("c", "plausibility", "warning", True)]
    >>> on_time, late = Timeliness("2024-12", dt.date(2025, 4, 1), -30), Timeliness("2024-12", dt.date(2025, 4, 1), 600)
    >>> full, partial = Coverage("2024", 10, 10, ()), Coverage("2024", 10, 9, ("4601",))
    >>> grade(ok, documentation=1.0, timeliness=on_time, coverage=full).label
    'platinum'
    >>> grade(ok, documentation=1.0, timeliness=on_time, coverage=partial).label
    'silver'
    >>> grade(ok, documentation=0.9, timeliness=late, coverage=full).label
    'silver'
    >>> grade([Outcome("a", "conformance", "critical", False)], 1.0, on_time, full).label
    'bronze'
    """
    outcomes = list(outcomes)
    if documentation is not None and not 0.0 <= documentation <= 1.0:
        raise ValueError(f"documentation is a share between 0 and 1, got {documentation}")
    doc = documentation or 0.0
    doc_text = "ukjent" if documentation is None else format_share(doc)
    reasons: list[str] = []
    failed_critical = [o.check for o in outcomes if o.severity == "critical" and not o.passed]
    failed_warning = [o.check for o in outcomes if o.severity != "critical" and not o.passed]

    # silver
    missing: list[str] = []
    if not outcomes:
        missing.append("ingen kontroller ble kjørt")
    if failed_critical:
        missing.append(f"{len(failed_critical)} kritiske kontroller feiler: {', '.join(failed_critical[:5])}")
    if doc < SILVER_MIN_DOCUMENTATION:
        missing.append(f"dokumentasjon {doc_text} < {format_share(SILVER_MIN_DOCUMENTATION)}")
    if missing:
        return Label("bronze", tuple(["ikke sølv: " + m for m in missing]))
    reasons.append(f"sølv: alle kritiske kontroller består; dokumentasjon {doc_text}")

    # gold
    if failed_warning:
        missing.append(f"{len(failed_warning)} varselkontroller feiler: {', '.join(failed_warning[:5])}")
    if doc < GOLD_MIN_DOCUMENTATION:
        missing.append(f"dokumentasjon {doc_text} < {format_share(GOLD_MIN_DOCUMENTATION)}")
    if timeliness is None:
        missing.append("aktualitet ukjent (ingen datoer i dataene)")
    elif not timeliness.timely:
        missing.append(f"nyeste periode {timeliness.newest_period}; neste periode var ventet innen "
                       f"{timeliness.due:%d.%m.%Y}, {timeliness.late_days} dager forsinket")
    if coverage is None:
        missing.append("dekning ukjent (under to perioder med data)")
    elif coverage.share < GOLD_MIN_COVERAGE:
        missing.append(_coverage_text(coverage) + f" < {format_share(GOLD_MIN_COVERAGE)}")
    if missing:
        return Label("silver", tuple(reasons + ["ikke gull: " + m for m in missing]))
    reasons.append(f"gull: alle kontroller består; nyeste periode {timeliness.newest_period} i tide "
                   f"(neste ventet innen {timeliness.due:%d.%m.%Y}); {_coverage_text(coverage)}")

    # platinum
    if doc < PLATINUM_MIN_DOCUMENTATION:
        missing.append(f"dokumentasjon {doc_text} < {format_share(PLATINUM_MIN_DOCUMENTATION)}")
    if coverage.share < PLATINUM_MIN_COVERAGE:
        missing.append(_coverage_text(coverage) + f" < {format_share(PLATINUM_MIN_COVERAGE)}")
    uncovered = [c for c in CATEGORIES if not any(o.category == c for o in outcomes)]
    if uncovered:
        missing.append(f"ingen kontroller av {', '.join(uncovered)}")
    if missing:
        return Label("gold", tuple(reasons + ["ikke platina: " + m for m in missing]))
    reasons.append("platina: fullt dokumentert, full dekning; conformance, completeness og plausibility kontrollert")
    return Label("platinum", tuple(reasons))


def format_share(share: float) -> str:
    """A share as Norwegian per cent: ``0.955`` → ``95,5 %``.

    >>> format_share(0.5), format_share(0.955)
    ('50 %', '95,5 %')
    """
    return f"{share * 100:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


def format_percent(value: float) -> str:
    """A percentage (0–100) with three significant digits, Norwegian style.

    >>> format_percent(12.5), format_percent(10.0), format_percent(0.01234)
    ('12,5 %', '10 %', '0,0123 %')
    """
    return f"{value:.3g}".replace(".", ",") + " %"


def _coverage_text(coverage: Coverage) -> str:
    text = (f"dekning {format_share(coverage.share)} i {coverage.period} "
            f"({coverage.present} av {coverage.expected} forventede enheter")
    if coverage.missing:
        text += "; mangler " + ", ".join(coverage.missing)
    return text + ")"


def worst(labels: Iterable[str]) -> str:
    """The lowest of some labels (an indicator is as good as its worst input).

    >>> worst(["gold", "silver", "platinum"])
    'silver'
    """
    return min(labels, key=LABELS.index)
