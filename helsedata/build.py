"""The build step: ``dbt build`` of the indicator marts, in-process (docs/indicators.md, "Running it").

:func:`build` is what ``helsedata build``, ``helsedata run`` and the Airflow DAG ``build_marts``
call. It

1. opens the warehouse once to create what dbt reads but others write: the shared tables
   (``quality.labels``, ``raw.room_applications``, :func:`kernel.warehouse.ensure_shared_tables`)
   and every ``raw.<source>`` table (:func:`kernel.sources.raw_table_ddl`), so a build on a
   fresh warehouse gives empty marts instead of failing;
2. refreshes ``raw.room_applications`` from the analysis room with
   ``privacy.room.export_applications(settings)`` (a missing room module is an error, never a
   silently skipped step);
3. runs ``dbt build --exclude-resource-type unit_test`` (seeds, models, snapshots and data tests,
   in DAG order) through :class:`dbt.cli.main.dbtRunner`, with a progress bar fed by dbt's events.
   Unit tests are CI, not production (dbt's documented practice): they check the SQL of a
   formula on fixed rows, which no load of data can change, so a production build gains nothing
   from re-running them; :func:`unit_test` runs them (the test suite does, against real DuckDB).
   Data tests, which check the data (grain, values, references), stay in every build;
4. records the build in ``ingest.builds`` (successful or not: a failed build may still have
   rebuilt some models), so the quality gate can refuse a quality run older than the marts it
   would vouch for (docs/quality.md, "The publication gate");
5. raises :class:`BuildFailure` (a :class:`~kernel.errors.PipelineFailure`) naming every model
   or test that failed and dbt's message for it, and :class:`~kernel.errors.UserInputError`
   (exit 2) when ``--select`` matched no node — dbt itself calls that a success.

dbt writes its ``target/`` and ``logs/`` under ``$HELSEDATA_HOME/dbt/``, never into the source
tree, so two platforms (or two test workers) can build at the same time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from kernel.config import DBT_PROJECT_DIR, Settings
from kernel.errors import PipelineFailure, UserInputError

__all__ = ["BuildFailure", "BuildResult", "NodeOutcome", "build", "dbt_args", "dbt_vars", "generate_docs",
           "unit_test"]

#: dbt statuses that fail a build (models and seeds: error; tests: fail, error).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

#: What a build was for, as ``ingest.builds.kind`` records it. A ``label_refresh`` only carries
#: the newest quality labels into the marts (:func:`refresh_quality_labels`), so the quality gate
#: does not count it as a change of the data; every other build is a ``build``.
BuildKind = Literal["build", "label_refresh"]

#: The production build leaves unit tests out, as dbt recommends (docs.getdbt.com/docs/build/unit-tests,
#: "When to run unit tests": development and CI only; their inputs are static, so running them in
#: production only spends compute); :func:`unit_test` runs them.
PRODUCTION_BUILD = ("build", "--exclude-resource-type", "unit_test")

#: Every dbt unit test of the project and nothing else.
UNIT_TEST_SELECTION = ("test_type:unit",)


@dataclass(frozen=True)
class NodeOutcome:
    """What happened to one dbt node (seed, model, data test or unit test)."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str | None
    seconds: float
    failures: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class BuildResult:
    """The outcome of one ``dbt build``: every node's status, counts per status, time taken."""

    ok: bool
    seconds: float
    target_path: Path
    nodes: tuple[NodeOutcome, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        """Number of nodes per status, e.g. ``{"success": 22, "pass": 95}``."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def failed(self) -> tuple[NodeOutcome, ...]:
        return tuple(n for n in self.nodes if n.failed)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the ``helsedata build --json`` output)."""
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "target_path": str(self.target_path),
            "counts": self.counts,
            "failed": [asdict(n) for n in self.failed],
            "nodes": len(self.nodes),
        }


class BuildFailure(PipelineFailure):
    """``dbt build`` failed; ``result`` holds every node's outcome (None if dbt never ran)."""

    def __init__(self, message: str, result: BuildResult | None = None):
        super().__init__(message)
        self.result = result


def dbt_paths(settings: Settings) -> tuple[Path, Path]:
    """dbt's target and log folders for this platform instance."""
    return settings.dbt_target, settings.home / "dbt" / "logs"


def dbt_args(settings: Settings, command: Sequence[str], select: Sequence[str] | None = None) -> list[str]:
    """The dbt command line for ``command`` against this platform's warehouse.

    >>> args = dbt_args(Settings(home=Path("/tmp/h")), ["build"], select=["marts"])
    >>> args[0], args[-2:]
    ('build', ['--select', 'marts'])
    """
    target_path, log_path = dbt_paths(settings)
    args = [
        *command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(log_path),
        "--log-level", "none",          # console: quiet; dbt.log under log_path keeps everything
        "--log-level-file", "info",
    ]
    if select:
        args += ["--select", *select]
    return args


def prepare_warehouse(settings: Settings) -> None:
    """Create the tables dbt reads before their writers have run, then export the room's applications."""
    from helsedata.indicators import ensure_reported_figures_table
    from kernel.sources import SOURCES, raw_table_ddl
    from kernel.warehouse import ensure_shared_tables, writer

    settings.ensure()
    with writer(settings) as con:
        ensure_shared_tables(con)
        ensure_reported_figures_table(con)
        for source in SOURCES.values():
            con.execute(raw_table_ddl(source))

    # Imported unconditionally: were the room's export missing, the data-access indicator would
    # be built from a stale table and nobody would know.
    from privacy.room import export_applications

    export_applications(settings)


@contextlib.contextmanager
def _environment(settings: Settings) -> Iterator[None]:
    """The settings as the environment dbt reads, for the duration of one in-process dbt invocation.

    dbt takes its profile from ``profiles.yml``'s ``env_var()`` calls, which read the process
    environment; this is the one place where Settings are written back to it (and restored after).
    """
    exported = {**settings.environ,  # TRINO_*/SPARK_* for the other dbt targets
                "HELSEDATA_HOME": str(settings.home),
                "HELSEDATA_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
                "HELSEDATA_DBT_TARGET": settings.dbt_target_name,
                "HELSEDATA_DBT_THREADS": str(settings.dbt_threads),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    saved = {k: os.environ.get(k) for k in exported}
    os.environ.update(exported)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Progress:
    """A rich progress bar driven by dbt's NodeStart / NodeFinished events."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None
        self.total = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("dbt build"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.description}"),
                                console=Console(stderr=True), transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task("", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, event: Any) -> None:
        if self.bar is None:
            return
        name = event.info.name
        if name == "LogStartLine" and self.total is None:
            self.total = event.data.total
            self.bar.update(self.task, total=self.total)
        elif name == "NodeStart":
            self.bar.update(self.task, description=event.data.node_info.node_name)
        elif name == "NodeFinished":
            self.bar.advance(self.task)


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    dbt-duckdb caches one database handle per process (``DuckDBConnectionManager._ENV``). Left
    open, it holds the warehouse's file lock, so the next step in the same process (quality,
    publish, a reader) could not open the warehouse with its own configuration.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (trino, spark) holds no file
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if env is not None:
            env.close()


def _outcomes(run_results: Any) -> tuple[NodeOutcome, ...]:
    outcomes = []
    for r in getattr(run_results, "results", None) or ():
        status = str(getattr(r.status, "value", r.status)).lower()
        outcomes.append(NodeOutcome(
            unique_id=r.node.unique_id,
            name=r.node.name,
            resource_type=str(getattr(r.node.resource_type, "value", r.node.resource_type)),
            status=status,
            message=(str(r.message).strip() if r.message else None),
            seconds=round(float(r.execution_time or 0.0), 3),
            failures=r.failures,
        ))
    return tuple(outcomes)


def _failure_message(what: str, failed: Sequence[NodeOutcome], total: int) -> str:
    lines = [f"{what} feilet: {len(failed)} av {total} noder feilet"]
    for node in failed:
        why = (node.message or node.status).replace("\n", " ")
        if len(why) > 400:
            why = why[:400] + "…"
        lines.append(f"  - {node.resource_type} {node.name}: {why}")
    return "\n".join(lines)


def dbt_vars(settings: Settings, today: dt.date | None = None) -> list[str]:
    """``--vars`` for one build: the run date and, for demo data, the demo scale.

    The run date (today unless given) bounds the year spine (int_calendar_years), so the years
    the marts cover come from the data and the clock, never from a horizon in the code; the demo
    scale scales count targets like the demo data (kernel.demo).
    """
    from kernel.demo import demo_scale

    values: dict[str, Any] = {"run_date": (today or dt.date.today()).isoformat()}
    scale = demo_scale(settings)
    if scale is not None:
        values["demo_scale"] = scale
    return ["--vars", json.dumps(values)]


def _invoke(settings: Settings, command: Sequence[str], select: Sequence[str] | None,
            progress: bool) -> tuple[Any, tuple[NodeOutcome, ...]]:
    """Run one dbt command in-process against this platform's warehouse: dbt's result and its nodes."""
    from dbt.cli.main import dbtRunner

    with _environment(settings), _Progress(progress) as bar:
        try:
            outcome = dbtRunner(callbacks=[bar]).invoke(dbt_args(settings, command, select) + dbt_vars(settings))
        finally:
            _release_duckdb()
    return outcome, _outcomes(outcome.result)


def _result(settings: Settings, what: str, outcome: Any, nodes: tuple[NodeOutcome, ...], ok: bool,
            started: float, select: Sequence[str] | None) -> BuildResult:
    """The :class:`BuildResult` of one dbt command, or the error that says why it failed."""
    target_path, _ = dbt_paths(settings)
    result = BuildResult(ok=ok, seconds=time.perf_counter() - started, target_path=target_path, nodes=nodes)
    if outcome.exception is not None:
        raise BuildFailure(f"{what} kunne ikke kjøre: {outcome.exception}", result) from outcome.exception
    if outcome.success and not nodes:
        raise UserInputError(f"--select {' '.join(select or ())} traff ingen dbt-noder (modell, seed, snapshot "
                             "eller test); ingenting ble bygget. Se nodenavnene med `dbt ls` eller i dbt_project/.")
    if not outcome.success or result.failed:
        raise BuildFailure(_failure_message(what, result.failed, len(nodes)), result)
    return result


def build(settings: Settings, select: Sequence[str] | None = None, progress: bool = True,
          kind: BuildKind = "build") -> BuildResult:
    """Run ``dbt build`` (seeds, models and data tests; no unit tests) against the warehouse.

    :param settings: the platform instance (its ``warehouse.duckdb`` is the dbt target).
    :param select: dbt node selection (``--select``), e.g. ``["marts", "+mart_indicator_status"]``;
        None builds everything.
    :param progress: show a progress bar on stderr.
    :param kind: recorded in ``ingest.builds``; only :func:`refresh_quality_labels` passes
        ``label_refresh``.
    :raises BuildFailure: when dbt could not run or any node failed; the message names each failed
        model or test and dbt's reason.
    :raises UserInputError: when ``select`` matched no node (nothing was built).
    """
    prepare_warehouse(settings)
    started = time.perf_counter()
    started_at = _utcnow()
    ok = False
    try:
        outcome, nodes = _invoke(settings, PRODUCTION_BUILD, select, progress)
        # dbt answers a selection that matches nothing with a warning and success; it built nothing.
        ok = bool(outcome.success) and outcome.exception is None and bool(nodes)
    finally:
        record_build(settings, kind, select, started_at, ok)
    return _result(settings, "dbt build", outcome, nodes, ok, started, select)


def unit_test(settings: Settings, progress: bool = False) -> BuildResult:
    """Run every dbt unit test (``dbt test --select test_type:unit``) against the warehouse.

    CI's half of the build (:data:`PRODUCTION_BUILD` leaves them out). dbt reads the column
    types of a tested model's inputs from the warehouse, so run it after a :func:`build`.
    Nothing is recorded in ``ingest.builds``: no table changes.

    :raises BuildFailure: when dbt could not run or a unit test failed (named, with dbt's diff).
    :raises UserInputError: when the project has no unit test (nothing was checked).
    """
    started = time.perf_counter()
    outcome, nodes = _invoke(settings, ["test"], UNIT_TEST_SELECTION, progress)
    ok = bool(outcome.success) and outcome.exception is None and bool(nodes)
    return _result(settings, "dbt test (enhetstester)", outcome, nodes, ok, started, UNIT_TEST_SELECTION)


#: The models that carry quality labels into the marts: rebuilt after each quality run, because
#: the quality run checks the marts the first build made and so can only label them afterwards.
QUALITY_LABEL_SELECTION = ("int_indicator_input_labels+",)


def refresh_quality_labels(settings: Settings, progress: bool = True) -> BuildResult:
    """Rebuild the marts' ``input_quality_label`` from the newest ``quality.labels``."""
    return build(settings, select=QUALITY_LABEL_SELECTION, progress=progress, kind="label_refresh")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record_build(settings: Settings, kind: BuildKind, select: Sequence[str] | None,
                 started_at: dt.datetime, ok: bool) -> int:
    """Append one build to ``ingest.builds`` and return its sequence number (1, 2, ...)."""
    from kernel.warehouse import ensure_shared_tables, writer

    with writer(settings) as con:
        ensure_shared_tables(con)
        con.execute("begin")
        seq = con.execute("select coalesce(max(seq), 0) + 1 from ingest.builds").fetchone()[0]
        con.execute("insert into ingest.builds (seq, kind, selection, started_at, finished_at, ok) "
                    "values (?, ?, ?, ?, ?, ?)",
                    [seq, kind, " ".join(select or ()) or None, started_at, _utcnow(), ok])
        con.execute("commit")
    return seq


def generate_docs(settings: Settings) -> Path:
    """``dbt docs generate``: the documentation site (index.html, catalog.json) under target/.

    Serve it with ``dbt docs serve --project-dir dbt_project --profiles-dir dbt_project
    --target-path $HELSEDATA_HOME/dbt/target``.
    """
    from dbt.cli.main import dbtRunner

    target_path, _ = dbt_paths(settings)
    with _environment(settings):
        try:
            outcome = dbtRunner().invoke(dbt_args(settings, ["docs", "generate"]))
        finally:
            _release_duckdb()
    if not outcome.success:
        raise PipelineFailure(f"dbt docs generate feilet: {outcome.exception or 'se dbt.log'}")
    return target_path / "index.html"
