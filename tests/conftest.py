"""Fixtures shared by every test category.

Tests use real, cheap components: a DuckDB file in ``tmp_path``, the real CLI through
:func:`helsedata.cli.main`, and small generated extracts. Nothing here mocks the platform.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from helsedata.cli import main
from kernel.config import Settings

# Tests never time things: a property test on a loaded 2-core machine must not fail on a deadline.
hypothesis_settings.register_profile("helsedata", deadline=None)
hypothesis_settings.load_profile("helsedata")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HELSEDATA_HOME for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home).ensure()


@pytest.fixture
def run_cli(home: Path, capsys) -> Callable[..., CliResult]:
    """Run ``helsedata ARGS...`` in-process against the test's HELSEDATA_HOME."""

    def run(*args: str, environ: dict[str, str] | None = None) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args], environ={"HELSEDATA_HOME": str(home), **(environ or {})})
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
