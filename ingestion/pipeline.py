"""``ingest_files``: the one entry point the CLI and the Airflow DAGs call.

For each file: hash it, skip it if that exact file is already loaded, otherwise read it in
batches (:mod:`ingestion.reader`), apply the row rules and pseudonymise (:mod:`ingestion.rules`),
and load it in one transaction (:mod:`ingestion.store`). A file that cannot be used at all is
rolled back and recorded as ``rejected``; the other files still load.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helsedata.config import Settings
from helsedata.errors import UserInputError
from helsedata.warehouse import ensure_shared_tables, writer
from ingestion.pseudonym import load_key
from ingestion.reader import (
    DEFAULT_BATCH_BYTES,
    FileRejected,
    check_header,
    file_sha256,
    normalise_encoding,
    read_batches,
    read_header,
    split_fields,
)
from ingestion.rules import RuleContext, check_batch
from ingestion.sources import Source, get_source
from ingestion.store import (
    FileCounts,
    FileLoad,
    ensure_tables,
    manifest_status,
    now,
    remove_staging,
    staging_path,
    write_manifest,
)

#: Test hook: seconds to sleep after each staged batch, so a test can kill the process mid-load.
PAUSE_ENV = "HELSEDATA_TEST_PAUSE_AFTER_BATCH"
#: Tuning knob: bytes per batch (default :data:`ingestion.reader.DEFAULT_BATCH_BYTES`).
BATCH_BYTES_ENV = "HELSEDATA_INGEST_BATCH_BYTES"
#: Tuning knob: DuckDB memory limit while ingesting; beyond it DuckDB spills to disk
#: (``warehouse.duckdb.tmp/``, pseudonymised rows only), which keeps a 20M-row file bounded.
MEMORY_LIMIT_ENV = "HELSEDATA_INGEST_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"

STATUSES = ("loaded", "skipped_duplicate", "rejected")


@dataclass
class IngestResult:
    """What happened to one file — the JSON object ``helsedata ingest --json`` prints (docs/ingestion.md)."""

    file: str
    source: str
    sha256: str
    status: str  # loaded | skipped_duplicate | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "file": self.file, "source": self.source, "sha256": self.sha256, "status": self.status,
            "rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined, "quarantine_reasons": dict(self.quarantine_reasons),
        }
        if self.status == "rejected":
            body["error"] = self.error
        return body


def ingest_files(settings: Settings, source_name: str, paths: Iterable[str | Path], *, encoding: str | None = None,
                 demo: bool = False, progress: bool = True, environ: Mapping[str, str] | None = None,
                 today: dt.date | None = None) -> list[IngestResult]:
    """Validate, pseudonymise and load extract files of one source into ``raw.<source>``.

    :param encoding: the files' text encoding (default UTF-8); ASCII-compatible encodings only.
    :param demo: create a random pseudonymisation key if none exists (demo installs only — a new
        key makes new pseudonyms, unlinkable to anything loaded before).
    :param environ: where to read ``HELSEDATA_PSEUDONYM_KEY`` and tuning knobs (default ``os.environ``).
    :param today: the reference day for "not in the future" (default: today).
    :returns: one :class:`IngestResult` per path, in order. Rejected files do not raise.
    """
    environ = os.environ if environ is None else environ
    source = get_source(source_name)
    codec = normalise_encoding(encoding)
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise UserInputError(f"{path}: no such file")
    settings.ensure()
    key = load_key(settings, environ, create=demo)
    ctx = RuleContext(today=today or dt.date.today(), key=key)
    batch_bytes = int(environ.get(BATCH_BYTES_ENV) or DEFAULT_BATCH_BYTES)
    pause = float(environ.get(PAUSE_ENV) or 0)
    results = []
    staging = staging_path(settings.warehouse)
    with writer(settings.warehouse) as con:
        _configure(con, settings.warehouse, environ)
        ensure_shared_tables(con)
        ensure_tables(con, source)
        try:
            with _progress(progress) as bar:
                for path in paths:
                    results.append(_ingest_one(con, source, path, codec, ctx, batch_bytes, pause, bar, staging))
        finally:
            remove_staging(staging)
    return results


def _configure(con, warehouse: Path, environ: Mapping[str, str]) -> None:
    """Bound DuckDB's memory and let it spill (pseudonymised rows only) next to the warehouse.

    Row order in ``raw`` carries no meaning (``_line_number`` does), so DuckDB need not keep
    insertion order — that lets large inserts and sorts run without buffering for order.
    """
    con.execute(f"set memory_limit = '{_memory_limit(environ)}'")
    spill = warehouse.with_name(warehouse.name + ".tmp")
    con.execute(f"set temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute("set preserve_insertion_order = false")


def _ingest_one(con, source: Source, path: Path, codec: str, ctx: RuleContext, batch_bytes: int,
                pause: float, bar, staging: Path) -> IngestResult:
    sha = file_sha256(path)
    if manifest_status(con, sha) == "loaded":
        return IngestResult(str(path), source.name, sha, "skipped_duplicate")
    started = now()
    load = FileLoad(con, source, str(path), sha, codec, started, ctx.key, staging)
    task = bar.add_task(path.name, total=path.stat().st_size, rows=0) if bar else None
    writer_thread = _BatchWriter(load)
    try:
        header = read_header(path, codec)
        check_header(path, header, source.header, source.name)
        load.begin()
        for number, batch in enumerate(read_batches(path, codec, batch_bytes), start=1):
            checked = check_batch(split_fields(batch.lines, header), source, ctx, sha)
            writer_thread.submit(batch.lines.height, checked.good, checked.bad)
            if bar:
                bar.update(task, completed=batch.bytes_read, rows=load.rows_read)
            del batch, checked  # only the writer thread holds the batch now
            if pause:
                writer_thread.wait()
                print(f"ingest: paused after batch {number} of {path.name}", file=sys.stderr, flush=True)
                time.sleep(pause)
        writer_thread.wait()
        counts = load.finish()
    except FileRejected as e:
        writer_thread.wait(quiet=True)
        load.abort()
        error = str(e)
        write_manifest(con, sha, str(path), source.name, "rejected", codec, FileCounts(0, 0, 0, {}), started, error)
        return IngestResult(str(path), source.name, sha, "rejected", error=error)
    except BaseException:
        writer_thread.wait(quiet=True)
        load.abort()
        raise
    finally:
        writer_thread.close()
        if bar:
            bar.remove_task(task)
    return IngestResult(str(path), source.name, sha, "loaded", counts.rows_read, counts.rows_loaded,
                        counts.rows_quarantined, counts.quarantine_reasons)


class _BatchWriter:
    """Stages checked batches (Parquet, :class:`FileLoad`) on one background thread, one batch at a time.

    Polars releases the GIL, so checking batch *n + 1* (Polars, HMAC) overlaps with writing
    batch *n* to its Parquet staging file. At most one batch waits, which keeps memory bounded;
    batches are written in order because each waits for the previous one.
    """

    def __init__(self, load: FileLoad):
        self._load = load
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        self._pending: Future | None = None

    def submit(self, rows_read: int, good, bad) -> None:
        self.wait()
        self._pending = self._pool.submit(self._load.add_batch, rows_read, good, bad)

    def wait(self, quiet: bool = False) -> None:
        """Block until the batch in flight is written; re-raise its error unless ``quiet``."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except BaseException:
            if not quiet:
                raise

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _memory_limit(environ: Mapping[str, str]) -> str:
    limit = environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
    if not limit.replace(".", "").isalnum():
        raise UserInputError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a size like 2GB")
    return limit


def _progress(enabled: bool):
    """A rich progress bar on stderr (bytes read, rows so far), or nothing."""
    if not enabled:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
