"""Data quality: Great Expectations suites on DuckDB, EHDS-style labels, and the publication gate.

Public API (called by the CLI and the DAGs):

* :func:`run_quality` — run every suite, store ``quality.results`` / ``quality.labels``, write
  ``reports/quality.html``; returns a :class:`QualityRun`.
* :func:`gate` — raise :class:`kernel.errors.PipelineFailure` when the newest results are stale
  (older than the latest load or data build) or a failing critical check blocks publication;
  ``override_reason=`` + ``actor=`` publish past a failing check (never past stale results), audited.
* :func:`grade` — the label rules (pure). Specs: :data:`quality.specs.MART_SPECS`,
  :func:`quality.specs.all_specs`.

Heavy imports (GX, SQLAlchemy) happen inside the functions that need them.
"""

from quality.gate import GateDecision, gate
from quality.labels import LABELS, Label, Outcome, grade
from quality.runner import CheckResult, DatasetResult, QualityRun, run_quality

__all__ = ["run_quality", "QualityRun", "DatasetResult", "CheckResult", "gate", "GateDecision", "grade",
           "Label", "Outcome", "LABELS"]
