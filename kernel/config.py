"""Where Helsedata keeps its state.

Everything lives under one folder, ``HELSEDATA_HOME`` (default ``./var``), so a whole platform can
be moved, backed up or thrown away as a unit. Paths are derived, never configured one by one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


@dataclass(frozen=True)
class Settings:
    """Resolved locations of one platform instance."""

    home: Path
    #: ``HELSEDATA_AUDIT_KEY`` (hex): the audit chain's HMAC key; ``None`` means the key file
    #: ``keys/audit.key`` (see :mod:`privacy.audit`).
    audit_key_hex: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        return cls(home=Path(environ.get("HELSEDATA_HOME", "var")).resolve(),
                   audit_key_hex=environ.get("HELSEDATA_AUDIT_KEY") or None)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder (manifest, run results, docs site) for this instance."""
        return self.home / "dbt" / "target"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def keys(self) -> Path:
        return self.home / "keys"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def state_db(self) -> Path:
        """SQLite file of the analysis room and audit log (applications, permits, ledger, audit)."""
        return self.home / "state.sqlite"

    def ensure(self) -> Settings:
        for folder in (self.home, self.landing, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        self.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self
