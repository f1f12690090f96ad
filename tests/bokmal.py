"""The list of English interface words that no page, message or text shown to users may contain.

Identifiers (dataset, check and column names) are exempt: pages show them in ``<code>``, and the
scans leave ``<code>`` out.
"""

from __future__ import annotations

import re

#: English words that must not appear in text users read ("trend", "status", "data" and "register"
#: are bokmål too).
ENGLISH_WORDS = (
    "the", "and", "of", "with", "report", "published", "publication", "target", "value", "values", "share",
    "coverage", "registry", "registries", "quality", "check", "checks", "failed", "fail", "fails", "passed",
    "pass", "unknown", "summary", "dataset", "label", "documentation", "newest", "days", "month", "months",
    "year", "years", "none", "behind", "track", "within", "tolerance", "recipients", "suppressed", "table",
    "rows", "chart", "overall", "warning", "critical", "silver", "gold", "bronze", "platinum", "load",
    "examples", "allowed", "each", "municipal", "health", "timeliness", "deliveries", "received", "expected",
    "below", "threshold", "missing", "illustrative", "definition", "numerator", "denominator", "goal",
)
_ENGLISH = re.compile(r"\b(" + "|".join(ENGLISH_WORDS) + r")\b", re.IGNORECASE)


def english_words(text: str, context: int = 0) -> list[str]:
    """The English words in ``text`` (with ``context`` characters around each, when asked).

    >>> english_words("Publisert 29.11.2026, quality gate passed")
    ['quality', 'passed']
    """
    return [text[max(0, m.start() - context): m.end() + context] if context else m.group(0)
            for m in _ENGLISH.finditer(text)]
