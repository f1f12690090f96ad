"""``scripts/airflow-local.sh`` as a user runs it, with real Airflow on SQLite in ``tmp``.

* After ``init``, ``airflow dags list`` (serialized DAGs in the metadata DB) and ``airflow dags list
  --local`` (the DAG files parsed in the calling process, where the DAG folder is not on
  ``sys.path``) both show every DAG, and there are no import errors.
* ``airflow standalone`` on this machine forks one LocalExecutor worker per core (not Airflow's
  default of 32), and Ctrl-C (SIGINT to the script's process group, as a terminal sends it) or
  SIGTERM to the script leaves no process behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from kernel.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "airflow-local.sh"
EXPECTED_DAGS = {*(f"ingest_{s}" for s in SOURCES), "build_marts", "quality_gate", "publish", "demo_data"}
#: Generous bounds on waiting for a real Airflow on a busy 2-core machine (not measurements).
READY_WITHIN_S, STOPPED_WITHIN_S = 300, 120

pytestmark = pytest.mark.slow


def _env(home: Path, port: int = 8080) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HELSEDATA"))}
    env.update(HELSEDATA_HOME=str(home), AIRFLOW__API__PORT=str(port),
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=REPO, capture_output=True, text=True, check=False,
                          timeout=600)


def _json_lines(stdout: str) -> list[dict]:
    """The JSON list an ``airflow ... -o json`` printed (warnings may come before it on stdout)."""
    return json.loads(next(line for line in reversed(stdout.splitlines()) if line.startswith("[")))


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> dict[str, str]:
    env = _env(tmp_path_factory.mktemp("airflow-local"))
    done = _script(env, "init")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.mark.parametrize("flags", [(), ("--local",)], ids=["metadata-db", "local"])
def test_dags_list_shows_every_dag_and_no_import_error_after_init(initialised, flags):
    listed = _script(initialised, "airflow", "dags", "list", *flags, "-o", "json")
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    assert {d["dag_id"] for d in _json_lines(listed.stdout)} == EXPECTED_DAGS

    errors = _script(initialised, "airflow", "dags", "list-import-errors", *flags, "-o", "json")
    assert errors.returncode == 0 and _json_lines(errors.stdout) == [], errors.stdout[-3000:]


# ---------------------------------------------------------------- standalone: size and shutdown


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, session id, command line) of every process now running."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[3]), cmdline)
    return found


def _descendants(root: int, processes: dict[int, tuple[int, int, str]]) -> set[int]:
    family, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _, _) in processes.items() if ppid in frontier} - family
        family |= frontier
    return family


def _kill_sessions(sessions: set[int]) -> None:
    """Clean up after a failed test: only the processes of the sessions this test started."""
    for pid, (_, sid, _) in _processes().items():
        if sid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_standalone_forks_one_worker_per_core_and_stopping_leaves_no_process(tmp_path, how):
    log = tmp_path / "standalone.log"
    with log.open("w") as out:
        script = subprocess.Popen(["bash", str(SCRIPT)], env=_env(tmp_path / "home", _free_port()), cwd=REPO,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    sessions = {script.pid}  # the script leads its own session; Airflow may start another
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        while "Airflow is ready" not in log.read_text(errors="replace"):
            assert script.poll() is None, f"the script exited {script.returncode}:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"Airflow not ready:\n{log.read_text()[-4000:]}"
            time.sleep(2)
        processes = _processes()
        family = _descendants(script.pid, processes)
        sessions |= {processes[pid][1] for pid in family}
        workers = [pid for pid in family if processes[pid][2].startswith("airflow worker -- LocalExecutor")
                   and not processes[processes[pid][0]][2].startswith("airflow worker")]
        assert 1 <= len(workers) <= len(os.sched_getaffinity(0)), [processes[p][2] for p in workers]

        if how == "ctrl-c":
            os.killpg(script.pid, signal.SIGINT)  # what the terminal does: the foreground group
        else:
            script.send_signal(signal.SIGTERM)
        script.wait(timeout=STOPPED_WITHIN_S)
        left = {pid: cmd for pid, (_, sid, cmd) in _processes().items() if sid in sessions}
        assert left == {}, f"processes left behind after {how}: {left}"
        assert script.returncode == {"ctrl-c": 130, "sigterm": 143}[how]
    finally:
        if script.poll() is None:
            script.kill()
        _kill_sessions(sessions)
