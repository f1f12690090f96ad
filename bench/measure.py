"""Run one benchmark step in a fresh process and measure it: shared by the bench_*.py scripts.

The child prints one JSON object as its last line; :func:`run_measured` returns it with the peak
resident memory of the child's whole process tree added (``peak_rss_mib``), sampled every 50 ms.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

import psutil


def run_measured(cmd: Sequence[str], env: Mapping[str, str], what: str) -> dict:
    """Run ``cmd``; its last stdout line (JSON) plus ``peak_rss_mib``. Exits naming ``what`` on failure."""
    process = subprocess.Popen(list(cmd), env=dict(env), stdout=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                peak = max(peak, sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{what} failed with exit code {process.returncode}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss_mib": round(peak / 2**20)}
