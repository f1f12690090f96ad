"""Where Helsedata keeps its state, and every knob the environment can turn.

Everything lives under one folder, ``HELSEDATA_HOME`` (default ``./var``), so a whole platform can
be moved, backed up or thrown away as a unit. Paths are derived, never configured one by one.

:meth:`Settings.from_environ` is the one place that reads environment variables: the CLI's
``main(args, environ)`` and the DAGs pass their environment to it, and every step gets the
resulting :class:`Settings`. No other module reads ``os.environ``, so a test (or a second platform
in the same process) sets a knob by building a ``Settings``, not by patching the process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kernel.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

#: DuckDB memory per warehouse connection, one limit for every step (ingest, dbt, GX, room).
#: Beyond it DuckDB spills to ``warehouse.duckdb.tmp/``; DuckDB's own default (80 % of RAM) once
#: took a national-scale quality run to 21 GiB.
DEFAULT_MEMORY_LIMIT = "2GB"
#: Bytes of extract text per ingestion batch.
DEFAULT_BATCH_BYTES = 16 << 20
#: Seconds a load waits for another process's hold on the warehouse before giving up.
DEFAULT_LOCK_TIMEOUT = 300.0

_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


@dataclass(frozen=True)
class SupersetSettings:
    """Where ``helsedata publish`` sends the dashboards (only when ``HELSEDATA_SUPERSET_URL`` is set)."""

    url: str
    username: str
    password: str = field(repr=False)
    provider: str = "db"


@dataclass(frozen=True)
class Settings:
    """One platform instance: its folder and the knobs read from the environment."""

    home: Path
    #: True when HELSEDATA_HOME was not set and ``./var`` was taken (commands then say where they write).
    home_is_default: bool = False
    #: ``HELSEDATA_PSEUDONYM_KEY`` (hex); ``None`` means the key file ``keys/pseudonym.key``.
    pseudonym_key_hex: str | None = field(default=None, repr=False)
    #: ``HELSEDATA_AUDIT_KEY`` (hex): the audit chain's HMAC key; ``None`` means the key file
    #: ``keys/audit.key`` (see :mod:`privacy.audit`).
    audit_key_hex: str | None = field(default=None, repr=False)
    #: ``HELSEDATA_DUCKDB_MEMORY_LIMIT``: DuckDB's memory limit on every warehouse connection.
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    #: ``HELSEDATA_INGEST_BATCH_BYTES``: bytes of extract text per ingestion batch.
    ingest_batch_bytes: int = DEFAULT_BATCH_BYTES
    #: ``HELSEDATA_INGEST_LOCK_TIMEOUT``: seconds a load waits for the warehouse.
    ingest_lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    #: ``HELSEDATA_DBT_TARGET`` / ``HELSEDATA_DBT_THREADS``: dbt profile target and threads.
    dbt_target_name: str = "duckdb"
    dbt_threads: int = 1
    #: ``HELSEDATA_SUPERSET_URL``, ``_USERNAME``, ``_PASSWORD``, ``_PROVIDER``.
    superset: SupersetSettings | None = None
    #: Every other variable of the environment the settings came from, for the tools that read
    #: their own (dbt's ``env_var`` for Trino/Spark profiles, Airflow, Superset's client).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """The settings of ``environ``; a knob with a malformed value is a :class:`ConfigurationError`."""
        home = environ.get("HELSEDATA_HOME", "").strip()
        return cls(
            home=Path(home or "var").resolve(),
            home_is_default=not home,
            pseudonym_key_hex=environ.get("HELSEDATA_PSEUDONYM_KEY") or None,
            audit_key_hex=environ.get("HELSEDATA_AUDIT_KEY") or None,
            duckdb_memory_limit=_size(environ, "HELSEDATA_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
            ingest_batch_bytes=int(_number(environ, "HELSEDATA_INGEST_BATCH_BYTES", DEFAULT_BATCH_BYTES, minimum=1)),
            ingest_lock_timeout=_number(environ, "HELSEDATA_INGEST_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT, minimum=0),
            dbt_target_name=environ.get("HELSEDATA_DBT_TARGET") or "duckdb",
            dbt_threads=int(_number(environ, "HELSEDATA_DBT_THREADS", 1, minimum=1)),
            superset=_superset(environ),
            environ=dict(environ),
        )

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


def _size(environ: Mapping[str, str], name: str, default: str) -> str:
    value = (environ.get(name) or default).strip()
    if not _SIZE.match(value):
        raise ConfigurationError(f"{name}={value!r} er ikke en minnestørrelse som 2GB eller 512MiB")
    return value


def _number(environ: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} er ikke et tall") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={text!r} må være minst {minimum:g}")
    return value


def _superset(environ: Mapping[str, str]) -> SupersetSettings | None:
    url = environ.get("HELSEDATA_SUPERSET_URL", "").strip()
    if not url:
        return None
    username = environ.get("HELSEDATA_SUPERSET_USERNAME", "")
    password = environ.get("HELSEDATA_SUPERSET_PASSWORD", "")
    if not username or not password:
        raise ConfigurationError(
            "HELSEDATA_SUPERSET_URL er satt, men ikke HELSEDATA_SUPERSET_USERNAME og HELSEDATA_SUPERSET_PASSWORD; "
            "sett begge, eller fjern URL-en for å hoppe over Superset"
        )
    return SupersetSettings(url.rstrip("/"), username, password, environ.get("HELSEDATA_SUPERSET_PROVIDER") or "db")
