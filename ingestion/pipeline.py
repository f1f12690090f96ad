"""``ingest_files``: the one entry point the CLI and the Airflow DAGs call.

For each file: hash it and check its header against the source, skip it if that exact file is
already loaded, otherwise read it in batches (:mod:`ingestion.reader`), apply the row rules and
pseudonymise (:mod:`ingestion.rules`), and load it in one transaction (:mod:`ingestion.store`).
A file that cannot be used at all is rolled back and recorded as ``rejected``; the other files
still load.

The warehouse has one writer at a time. A second ingest started while one runs waits for the
writer lock (:data:`LOCK_TIMEOUT_ENV`, default :data:`DEFAULT_LOCK_TIMEOUT` seconds) and then
stops with :class:`WarehouseBusy` (exit 2), never with DuckDB's internal lock error.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ingestion.pseudonym import check_key_fingerprint, load_key
from ingestion.reader import (
    FileRejected,
    check_header,
    file_sha256,
    format_count,
    normalise_encoding,
    read_batches,
    read_header,
    split_fields,
)
from ingestion.rules import RuleContext, check_batch
from ingestion.store import (
    FileCounts,
    FileLoad,
    ensure_tables,
    is_loaded,
    now,
    remove_staging,
    staging_path,
    write_manifest,
)
from kernel.config import Settings
from kernel.errors import RefusedError, UserInputError
from kernel.sources import Source, get_source
from kernel.warehouse import connect, ensure_shared_tables

#: Seconds to wait for another process's hold on the warehouse: ``Settings.ingest_lock_timeout``.
LOCK_TIMEOUT_ENV = "HELSEDATA_INGEST_LOCK_TIMEOUT"
_LOCK_POLL_SECONDS = 0.5
#: Share of ``Settings.duckdb_memory_limit`` DuckDB may use while an ingest runs. The other half is
#: the Polars side's: the batches in flight and the pseudonym memo (``MEMO_MAX_ENTRIES``). DuckDB
#: keeps blocks it has read or written cached up to its limit, so without the share a long ingest
#: would hold the whole limit in cache on top of the Polars side (docs/ingestion.md, "Memory").
INGEST_DUCKDB_SHARE = 0.5
#: The limit DuckDB is set to for a moment after a file, which evicts the blocks it cached (all
#: already in the database file) — only when they exceed :data:`CACHE_EVICT_SHARE` of its share:
#: evicting after every file cost ≈ 20 % of the ingest's time at scale 0.05 (the next file reads
#: them back), while a cache under half the share cannot take the process past its budget.
_EVICT_LIMIT = "1MB"
CACHE_EVICT_SHARE = 0.5
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class WarehouseBusy(RefusedError):
    """Another process holds the warehouse (another load, a build) for longer than the timeout."""


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

    @property
    def nothing_loaded(self) -> bool:
        """The file had rows and every one was quarantined: a mistake, even though it was recorded."""
        return self.status == "loaded" and self.rows_read > 0 and self.rows_loaded == 0

    def quarantine_summary(self) -> str:
        """``3 satt i karantene (code_not_in_list 2, field_count 1)``."""
        reasons = ", ".join(f"{rule} {format_count(n)}" for rule, n in sorted(self.quarantine_reasons.items()))
        return f"{format_count(self.rows_quarantined)} satt i karantene ({reasons})"


def ingest_files(settings: Settings, source_name: str, paths: Iterable[str | Path], *, encoding: str | None = None,
                 demo: bool = False, progress: bool = True, today: dt.date | None = None) -> list[IngestResult]:
    """Validate, pseudonymise and load extract files of one source into ``raw.<source>``.

    :param encoding: the files' text encoding (default UTF-8); ASCII-compatible encodings only.
    :param demo: create a random pseudonymisation key if none exists (demo installs only — a new
        key makes new pseudonyms, unlinkable to anything loaded before).
    :param today: the reference day for "not in the future" (default: today).
    :returns: one :class:`IngestResult` per path, in order. Rejected files do not raise.
    """
    source = get_source(source_name)
    codec = normalise_encoding(encoding)
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise UserInputError(f"{path}: filen finnes ikke")
    settings.ensure()
    key = load_key(settings, create=demo)
    ctx = RuleContext(today=today or dt.date.today(), key=key)
    batch_bytes = settings.ingest_batch_bytes
    results = []
    staging = staging_path(settings.warehouse)
    with _connect_when_free(settings) as con, ingest_memory(con, settings) as release_cache:
        _configure(con)
        ensure_shared_tables(con)
        ensure_tables(con, source)
        check_key_fingerprint(con, key)  # fail fast; FileLoad.finish records it with the first load
        try:
            with _progress(progress) as bar:
                for path in paths:
                    results.append(_ingest_one(con, source, path, codec, ctx, batch_bytes, bar, staging))
                    release_cache()
        finally:
            remove_staging(staging)
    return results


def _connect_when_free(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The warehouse's write connection, waiting up to ``settings.ingest_lock_timeout`` seconds
    for another process to let go.

    DuckDB allows one writing process per file and says so with an ``IOException`` ("Could not
    set lock"); there is no blocking open, so this polls.
    """
    timeout = settings.ingest_lock_timeout
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            return connect(settings)
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if not waiting and timeout > 0:
                waiting = True
                print(f"ingest: en annen prosess skriver til varehuset; venter på den (opptil "
                      f"{format_count(round(timeout))} sekunder)", file=sys.stderr, flush=True)
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"en annen prosess bruker varehuset {settings.warehouse} (trolig en annen innlasting eller bygging); "
                    f"ventet {format_count(round(timeout))} sekunder. Prøv igjen når den er ferdig, "
                    f"eller vent lenger med {LOCK_TIMEOUT_ENV}=SEKUNDER"
                ) from None
            time.sleep(_LOCK_POLL_SECONDS)


def size_bytes(text: str) -> int:
    """Bytes of a DuckDB memory size such as ``2GB`` (10⁹) or ``512MiB`` (2²⁰), as Settings accepts them.

    >>> size_bytes("2GB"), size_bytes("1.5 KiB")
    (2000000000, 1536)
    """
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)", text.strip()).groups()
    return int(float(number) * _SIZE_UNITS[unit.lower()])


@contextmanager
def ingest_memory(con: duckdb.DuckDBPyConnection, settings: Settings) -> Iterator[Callable[[], None]]:
    """DuckDB's limit lowered to :data:`INGEST_DUCKDB_SHARE` of the configured one while the ingest
    runs, then set back (another connection of this process may share the database instance).

    Yields ``release_cache``, called after each file: DuckDB keeps every block it read or wrote
    cached up to its limit, so without it the cache (and the process) grows file by file until the
    limit. When the cache passes :data:`CACHE_EVICT_SHARE` of the share, lowering the limit for a
    moment evicts those blocks — all already in the database file; the next file reads back what
    it needs.
    """
    share_bytes = int(size_bytes(settings.duckdb_memory_limit) * INGEST_DUCKDB_SHARE)
    share = f"{share_bytes}B"

    def release_cache() -> None:
        [(used,)] = con.execute("select coalesce(sum(memory_usage_bytes), 0) from duckdb_memory()").fetchall()
        if used <= share_bytes * CACHE_EVICT_SHARE:
            return
        try:
            con.execute(f"set memory_limit = '{_EVICT_LIMIT}'")
        except duckdb.OutOfMemoryException:  # blocks still pinned: they stay cached, within the share
            pass
        con.execute(f"set memory_limit = '{share}'")

    con.execute(f"set memory_limit = '{share}'")
    try:
        yield release_cache
    finally:
        try:
            con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
        except duckdb.Error:  # a failed connection is closed next; keep the error that failed it
            pass


def _configure(con) -> None:
    """Row order in ``raw`` carries no meaning (``_line_number`` does), so DuckDB need not keep
    insertion order — that lets large inserts and sorts run without buffering for order.

    DuckDB's memory is bounded by its share of the one limit (:func:`ingest_memory`);
    beyond it DuckDB spills (pseudonymised rows only) to ``warehouse.duckdb.tmp/`` beside the file.
    """
    con.execute("set preserve_insertion_order = false")


def _ingest_one(con, source: Source, path: Path, codec: str, ctx: RuleContext, batch_bytes: int,
                bar, staging: Path) -> IngestResult:
    sha = file_sha256(path)
    started = now()
    loaded = is_loaded(con, sha)
    try:
        # The header first: a file given under the wrong source is rejected, never "already loaded"
        # (every source has its own set of columns, so a header names exactly one source).
        header = read_header(path, codec)
        check_header(path, header, source.header, source.name)
    except FileRejected as e:
        if not loaded:  # a loaded file keeps its manifest row; this attempt only reports
            write_manifest(con, sha, str(path), source.name, "rejected", codec, FileCounts(0, 0, 0, {}), started, str(e))
        return IngestResult(str(path), source.name, sha, "rejected", error=str(e))
    if loaded:
        return IngestResult(str(path), source.name, sha, "skipped_duplicate")
    load = FileLoad(con, source, str(path), sha, codec, started, ctx.key, staging)
    task = bar.add_task(path.name, total=path.stat().st_size, rows=0) if bar else None
    writer_thread = _BatchWriter(load)
    try:
        load.begin()
        for batch in read_batches(path, codec, batch_bytes):
            checked = check_batch(split_fields(batch.lines, header), source, ctx, sha)
            writer_thread.submit(batch.lines.height, checked.good, checked.bad)
            if bar:
                bar.update(task, completed=batch.bytes_read, rows=load.rows_read)
            del batch, checked  # only the writer thread holds the batch now
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


def _progress(enabled: bool):
    """A rich progress bar on stderr (bytes read, rows so far), or nothing."""
    if not enabled:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[rows]:,} rader"), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
