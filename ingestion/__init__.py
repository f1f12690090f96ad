"""Ingestion: parse → validate → pseudonymise → quarantine → load ``raw.*`` (docs/ingestion.md).

Public API (the CLI and the Airflow DAGs both call it):

* :func:`ingest_files` — load extract files of one source; returns one :class:`IngestResult` each.
* :data:`RULES` — the named row rules a quarantined row can carry.

See ``docs/ingestion.md``. The names are imported on first use, so reading the light modules
(``kernel.sources``, ``ingestion.fnr``) does not pull in Polars and DuckDB.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["IngestResult", "RULES", "ingest_files"]

_LAZY = {"IngestResult": "ingestion.pipeline", "ingest_files": "ingestion.pipeline", "RULES": "ingestion.rules"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ingestion' has no attribute {name!r}")
