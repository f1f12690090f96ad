"""A real portal for tests: a small warehouse, accounts made with the CLI, ``helsedata serve`` on loopback.

The server is the real command in its own process (uvicorn, SQLite, DuckDB, OpenDP), listening
on a free port of 127.0.0.1; tests talk to it over HTTP or drive Debian's chromium at it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helsedata.cli import main
from kernel.config import PROJECT_ROOT, Settings
from privacy.testing import kontakter_rows, vft_rows, write_rows

PASSWORD = "et-langt-testpassord"
#: Debian's chromium, driven by Playwright through ``executable_path`` (no browser is downloaded).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: username → role of the accounts every portal test starts with.
ACCOUNTS = {"admin": "admin", "kari": "researcher", "per": "researcher", "ola": "reviewer",
            "eier": "registry_owner"}


@dataclass(frozen=True)
class Portal:
    url: str
    settings: Settings

    def token(self, username: str) -> str:
        """A fresh API token, issued with the CLI exactly as an administrator would."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["users", "token", username, "--json"], environ={"HELSEDATA_HOME": str(self.settings.home)})
        assert code == 0, out.getvalue()
        return json.loads(out.getvalue())["token"]


def text(page) -> str:
    """A page's main content as a person reads it (no-break spaces as spaces)."""
    return page.inner_text("main").replace("\u00a0", " ")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the login page until the server answers (or the process died)."""
    for _ in range(1200):
        if process.poll() is not None:
            raise RuntimeError(f"helsedata serve exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login") as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"helsedata serve did not start: {log.read_text()}")


@contextlib.contextmanager
def running_portal(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Portal]:
    """Build the warehouse and accounts in ``home`` and serve the portal until the block ends."""
    settings = Settings(home=home).ensure()
    write_rows(settings, "vft_mottakere", vft_rows(200, seed=3))
    write_rows(settings, "kpr_kontakter", kontakter_rows(100, seed=4))
    environ = {"HELSEDATA_HOME": str(home)}
    for username, role in ACCOUNTS.items():
        assert main(["users", "add", username, "--role", role], environ={**environ, "HELSEDATA_NEW_PASSWORD": PASSWORD}) == 0
    port = free_port()
    env = {**os.environ, **environ, "PYTHONPATH": str(PROJECT_ROOT), **(extra_env or {})}
    log = home / "serve.log"
    with log.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "helsedata", "serve", "--port", str(port)], env=env,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Portal(url, settings)
    finally:
        process.terminate()
        process.wait(timeout=30)
