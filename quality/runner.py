"""One quality run: every spec through GX on DuckDB → results, labels, history, HTML report."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.config import Settings
from kernel.errors import ConfigurationError, PipelineFailure
from kernel.warehouse import read_only, writer
from quality import catalogue, measures, store
from quality.labels import LABEL_NAMES, Label, Outcome, format_share, grade
from quality.specs import Check, DatasetSpec, all_specs, spec_by_name
from quality.suites import MAP_KINDS, asset_query, build_suite, expected_column_types, rows_query, scratch_query, scratch_table

#: Failing rows kept per check, as examples for the report.
EXAMPLE_ROWS = 5
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


@dataclass
class CheckResult:
    dataset: str
    check: str
    category: str
    context: str
    severity: str
    threshold: float
    passed: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DatasetResult:
    dataset: str
    exists: bool
    results: list[CheckResult]
    label: Label
    documentation: float | None
    age_days: float | None  # age of the newest load (shown; the label uses the data's own dates)
    newest_data: str | None = None
    timeliness: measures.Timeliness | None = None
    coverage: measures.Coverage | None = None
    access: str = ""  # access and provision, in bokmål
    #: What changed since the dataset's previous label, in bokmål.
    changes: tuple[str, ...] = ()

    def failed(self, severity: str | None = None) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and (severity is None or r.severity == severity)]

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "exists": self.exists, "label": self.label.label,
                "reasons": list(self.label.reasons), "documentation": self.documentation,
                "age_days": self.age_days, "newest_data": self.newest_data,
                "newest_period": self.timeliness.newest_period if self.timeliness else None,
                "late_days": self.timeliness.late_days if self.timeliness else None,
                "coverage": round(self.coverage.share, 4) if self.coverage else None,
                "access": self.access, "changes": list(self.changes),
                "checks": len(self.results),
                "failed": [r.to_dict() for r in self.failed()]}


@dataclass
class QualityRun:
    run_id: str
    computed_at: dt.datetime
    datasets: list[DatasetResult]
    #: The loads and data build the run checked (what the publication gate compares with).
    state: store.WarehouseState
    report_path: str | None = None
    seconds: float = 0.0
    #: Of ``seconds``, the GX validations; the rest is the label measures, lineage, storing, report.
    gx_seconds: float = 0.0

    @property
    def results(self) -> list[CheckResult]:
        return [r for d in self.datasets for r in d.results]

    @property
    def failed_critical(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "critical" and not r.passed]

    @property
    def ok(self) -> bool:
        return not self.failed_critical

    def dataset(self, name: str) -> DatasetResult:
        return next(d for d in self.datasets if d.dataset == name)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "run_id": self.run_id, "computed_at": self.computed_at.isoformat(),
                "report": self.report_path, "seconds": round(self.seconds, 3),
                "gx_seconds": round(self.gx_seconds, 3),
                "datasets": [d.to_dict() for d in self.datasets]}


# --------------------------------------------------------------------------- GX

def gx_context():
    """An in-memory GX context: no files, no analytics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    return gx.get_context(project_config=config, mode="ephemeral")


def validate(specs: Sequence[DatasetSpec], settings: Settings, read_only_engine: bool = True) -> dict[str, list[CheckResult]]:
    """Run the GX suites of ``specs`` against the warehouse of ``settings``; checks run in DuckDB.

    Each table is read a fixed number of times, whatever its number of checks (docs/quality.md,
    "How fast"): see :class:`_Validation`.
    """
    from quality.gx_duckdb import add_warehouse_datasource

    context = gx_context()
    datasource = add_warehouse_datasource(context, settings, read_only=read_only_engine)
    validation = _Validation(context, datasource, datasource.get_execution_engine())
    try:
        return {spec.name: validation.dataset(spec) for spec in specs}
    finally:
        # Release every DuckDB connection GX opened (the execution engine's and the one the
        # datasource used to test assets) so the warehouse can be opened for writing.
        validation.engine.close()
        datasource.get_engine().dispose()


@dataclass
class _Validation:
    """The GX validations of one run, on one GX context and one DuckDB connection.

    Per dataset and asset:

    1. the map and table expectations run with counts only (``partial_unexpected_count = 0``), so
       GX bundles their metrics into one aggregate query per table instead of adding two example
       queries per expectation;
    2. only the map checks with unexpected rows are validated again, with examples;
    3. the ``rows`` checks run on a scratch table of the failing rows that one scan fills
       (:func:`quality.suites.scratch_query`); the period comparison is materialised once too.
    """

    context: Any
    datasource: Any
    engine: Any
    runs: int = 0  # GX names assets, suites and validation definitions uniquely per context

    def dataset(self, spec: DatasetSpec) -> list[CheckResult]:
        results: list[CheckResult] = []
        row_count = None
        for asset in dict.fromkeys(c.asset for c in spec.checks):
            if checks := [c for c in spec.checks if c.asset == asset and c.kind != "rows"]:
                counted, count = self.counted(spec, asset, checks)
                row_count = count if asset == "rows" else row_count
                results += counted
            if checks := [c for c in spec.checks if c.asset == asset and c.kind == "rows"]:
                results += self.rows(spec, asset, checks, row_count)
        _drop_scratch(self.engine, spec)
        order = {c.name: i for i, c in enumerate(spec.checks)}
        return sorted(results, key=lambda r: order[r.check])

    def counted(self, spec: DatasetSpec, asset: str, checks: Sequence[Check]) -> tuple[list[CheckResult], int | None]:
        """Steps 1 and 2: counts of every check, then examples of the failing map checks; and the row count."""
        query = _materialise(self.engine, spec, asset) or asset_query(spec, asset)
        validated = self.run(spec, asset, query, checks, {"result_format": "BASIC", "partial_unexpected_count": 0})
        row_count = next((r.result.get("observed_value") for r in validated
                          if r.expectation_config.type == "expect_table_row_count_to_be_between"), None)
        results = _results(spec, validated, row_count)
        failing = [spec.check(r.check) for r in results
                   if r.unexpected_count and r.error is None and spec.check(r.check).kind in MAP_KINDS]
        if failing:
            again = self.run(spec, asset, query, failing, _example_format(spec, asset))
            examples = {r.check: r.examples for r in _results(spec, again, row_count)}
            for r in results:
                r.examples = examples.get(r.check, r.examples)
        return results, row_count

    def rows(self, spec: DatasetSpec, asset: str, checks: Sequence[Check], row_count: int | None) -> list[CheckResult]:
        """Step 3: the ``rows`` checks on the scratch table of failing rows."""
        runnable, broken = _bindable(self.engine, spec, asset, checks)
        scratch = _materialise(self.engine, spec, "failing", runnable, asset) if runnable else None
        if scratch is None:
            return broken + [_error(spec, c, "the failing rows could not be selected") for c in runnable]
        validated = self.run(spec, asset, scratch, runnable, {"result_format": "SUMMARY"})
        return broken + _results(spec, validated, row_count, lambda sql: _fetch(self.engine, sql), scratch)

    def run(self, spec: DatasetSpec, asset: str, query: str, checks: Sequence[Check], result_format: dict[str, Any]):
        """One GX validation of ``checks`` on the query asset ``query``; GX's expectation results."""
        import great_expectations as gx

        self.runs += 1
        n = self.runs
        batch = self.datasource.add_query_asset(name=f"a{n}", query=query).add_batch_definition_whole_table("all")
        suite = self.context.suites.add(build_suite(spec, asset, checks, name=f"{spec.name}:{asset}:{n}"))
        definition = self.context.validation_definitions.add(gx.ValidationDefinition(name=f"v{n}", data=batch, suite=suite))
        return definition.run(result_format=result_format).results


def _fetch(engine, sql: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    return [dict(r._mapping) for r in engine.execute_query(sa.text(sql)).fetchall()]


def _bindable(engine, spec: DatasetSpec, asset: str, checks: Sequence[Check]) -> tuple[list[Check], list[CheckResult]]:
    """The ``rows`` checks whose condition and columns DuckDB can bind on ``asset`` (``limit 0``:
    nothing is scanned), and an error result for each other one: a missing column fails that check,
    not the run nor the other checks sharing the scan."""
    import sqlalchemy as sa

    runnable, broken = [], []
    for check in checks:
        try:
            columns = ", ".join(check.args.get("columns") or ["*"])
            engine.execute_query(sa.text(f"select {columns}, {check.args['where']} from ({asset_query(spec, asset)}) limit 0"))
            runnable.append(check)
        except sa.exc.DBAPIError as e:
            broken.append(_error(spec, check, str(e.orig)))
    return runnable, broken


def _error(spec: DatasetSpec, check: Check, message: str) -> CheckResult:
    return CheckResult(spec.name, check.name, check.category, check.context, check.severity, check.threshold,
                       passed=False, description=check.description, error=message[:500])


def _example_format(spec: DatasetSpec, asset: str) -> dict[str, Any]:
    """GX's result format for the second pass: up to ``EXAMPLE_ROWS`` failing rows, with their keys."""
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLE_ROWS}
    if asset == "rows" and spec.example_columns:
        result_format["unexpected_index_column_names"] = list(spec.example_columns)
    elif asset == "periods":
        result_format["unexpected_index_column_names"] = ["grp", "latest_period", "n_latest", "n_previous"]
    return result_format


def _materialise(engine, spec: DatasetSpec, asset: str, checks: Sequence[Check] | None = None,
                 source: str = "rows") -> str | None:
    """Fill the scratch table of ``asset`` (a temporary table on GX's one connection) and return the
    query asset that reads it; None when ``asset`` is not materialised or its query fails (GX then
    runs the asset's own query and reports the error on each check)."""
    import sqlalchemy as sa

    query = scratch_query(spec, asset, checks, source)
    if query is None:
        return None
    table = scratch_table(spec, asset)
    try:
        engine.execute_query(sa.text(f"create or replace temp table {table} as {query}"))
    except sa.exc.DBAPIError:
        return None
    return f"select * from {table}"


def _drop_scratch(engine, spec: DatasetSpec) -> None:
    import sqlalchemy as sa

    for asset in ("periods", "failing"):
        engine.execute_query(sa.text(f"drop table if exists {scratch_table(spec, asset)}"))


def _results(spec: DatasetSpec, gx_results, row_count: int | None, fetch=None, query: str = "") -> list[CheckResult]:
    """GX's results → :class:`CheckResult`; ``row_count`` is the table's (the denominator of ``rows`` checks)."""
    out = []
    for r in gx_results:
        check = spec.check(r.expectation_config.meta["check"])
        res = CheckResult(spec.name, check.name, check.category, check.context, check.severity, check.threshold,
                          passed=bool(r.success), description=check.description)
        info = r.exception_info or {}
        if info.get("raised_exception") or any(isinstance(v, dict) and v.get("raised_exception") for v in info.values()):
            messages = [info.get("exception_message")] + [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
            res.error = ("; ".join(dict.fromkeys(m for m in messages if m)) or "check could not run")[:500]
            res.passed = False
            out.append(res)
            continue
        result = r.result or {}
        if check.kind in MAP_KINDS:
            res.unexpected_count = result.get("unexpected_count")
            res.element_count = result.get("element_count")
            res.unexpected_percent = result.get("unexpected_percent")
            res.examples = _examples(result, spec)
        elif check.kind == "rows":
            res.unexpected_count = int(result.get("observed_value") or 0)
            res.element_count = row_count
            res.unexpected_percent = (100.0 * res.unexpected_count / row_count) if row_count else (
                100.0 if res.unexpected_count else 0.0)
            res.passed = res.unexpected_percent <= check.threshold
            if res.unexpected_count and fetch:
                res.examples = fetch(rows_query(check, f"({query}) as batch") + f" limit {EXAMPLE_ROWS}")
        elif check.kind in ("schema_equals", "schema_contains"):
            expected = set(expected_column_types(spec))
            observed = set(result.get("observed_value") or [])
            missing, extra = sorted(expected - observed), sorted(observed - expected)
            if check.kind == "schema_contains":
                extra = []
            res.unexpected_count = len(missing) + len(extra)
            res.element_count = len(expected)
            res.unexpected_percent = 100.0 * res.unexpected_count / max(1, len(expected))
            res.examples = [{"missing_or_wrong_type": m} for m in missing] + [{"unexpected": e} for e in extra]
        else:  # table-level: row count
            res.element_count = result.get("observed_value")
            res.unexpected_count = 0 if res.passed else 1
        res.examples = [_scrub(e) for e in res.examples[:EXAMPLE_ROWS]]
        out.append(res)
    return out


def _examples(result: dict, spec: DatasetSpec) -> list[dict]:
    if result.get("partial_unexpected_index_list"):
        return list(result["partial_unexpected_index_list"])
    return [v if isinstance(v, dict) else {"value": v} for v in result.get("partial_unexpected_list") or []]


def _scrub(example: dict) -> dict:
    """Examples carry lineage keys and checked values only; mask anything shaped like an identity number."""
    clean = {}
    for key, value in example.items():
        if key == "fodselsnummer" or key.startswith("_fails_"):  # _fails_: scratch-table flags
            continue
        if isinstance(value, str) and _ELEVEN_DIGITS.search(value):
            value = _ELEVEN_DIGITS.sub("<11 digits masked>", value)
        if key == "_file_sha256" and isinstance(value, str):
            value = value[:12]
        clean[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
    return clean


# --------------------------------------------------------------------------- the run

def run_quality(settings: Settings, datasets: Iterable[str] | None = None, now: dt.datetime | None = None,
                report: bool = True, manifest_path: Path | None = None,
                reference_date: dt.date | None = None) -> QualityRun:
    """Run every suite (or those of ``datasets``), store results and labels, write the HTML report.

    ``manifest_path`` points at another dbt manifest (tests); by default the project's.
    ``reference_date`` is the day timeliness is judged on (default: the run's date); tests freeze it.
    Returns the run; callers decide what a failing critical check means (the CLI exits 1,
    :func:`quality.gate` blocks publication).
    """
    import time

    started = time.perf_counter()
    if not settings.warehouse.exists():
        raise ConfigurationError(f"fant ikke noe varehus i {settings.warehouse}; last inn eller bygg først "
                                 "(helsedata ingest / helsedata run --demo).")
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    today = now.date()
    specs = [spec_by_name(d, today) for d in datasets] if datasets else list(all_specs(today))
    run_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"

    import duckdb

    try:
        with read_only(settings) as con:
            state = store.warehouse_state(con)
            columns = _table_columns(con)
            loads = _last_loads(con)
            measured = _measure(con, specs, columns, reference_date or today)
            previous = store.latest_labels(con)
    except duckdb.IOException as e:  # another process holds the writer lock
        raise PipelineFailure(f"varehuset {settings.warehouse} er i bruk av en annen skriver "
                              f"(DuckDB tillater én om gangen); prøv igjen når den er ferdig. ({e})") from e
    present = [s for s in specs if s.name in columns]
    validating = time.perf_counter()
    checked = validate(present, settings) if present else {}
    gx_seconds = time.perf_counter() - validating

    manifest = catalogue.load_manifest(manifest_path or catalogue.manifest_path(settings))
    dataset_results = []
    for spec in specs:
        exists = spec.name in columns
        results = checked.get(spec.name) or [CheckResult(
            spec.name, "table_exists", "completeness", "verification", "critical", 0.0, passed=False,
            error=f"table {spec.name} does not exist", description="The dataset exists in the warehouse.")]
        docs = catalogue.documentation(spec.name, columns.get(spec.name, [c for c, _ in spec.columns]), manifest)
        age = _age_days(spec.name, loads, manifest, now)
        inputs = _raw_inputs(spec.name, manifest)
        timeliness = _latest([measured[i].timeliness if i in measured else None for i in inputs])
        coverage = _lowest([measured[i].coverage if i in measured else None for i in inputs])
        label = grade([Outcome(r.check, r.category, r.severity, r.passed) for r in results],
                      docs.completeness, timeliness, coverage)
        result = DatasetResult(spec.name, exists, results, label, round(docs.completeness, 4),
                               None if age is None else round(age, 2), measured[spec.name].newest_data if exists else None,
                               timeliness, coverage, measures.access_and_provision(spec.name))
        result.changes = changes_since(previous.get(spec.name), result)
        dataset_results.append(result)
    run = QualityRun(run_id, now, dataset_results, state, gx_seconds=gx_seconds)
    with writer(settings) as con:
        store.write_run(con, run)
    if report:
        from quality.report import write_report

        run.report_path = str(write_report(settings, run))
    run.seconds = time.perf_counter() - started
    return run


def _table_columns(con) -> dict[str, list[str]]:
    rows = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                       "order by table_schema, table_name, ordinal_position").fetchall()
    out: dict[str, list[str]] = {}
    for schema, table, column in rows:
        out.setdefault(f"{schema}.{table}", []).append(column)
    return out


def _last_loads(con) -> dict[str, dt.datetime]:
    """Newest successful load per raw dataset: ingest.manifest, else the rows' own _loaded_at."""
    loads: dict[str, dt.datetime] = {}
    try:
        for source, finished in con.execute("select source, max(finished_at) from ingest.manifest "
                                            "where status = 'loaded' group by source").fetchall():
            loads[f"raw.{source}"] = finished
    except Exception:  # noqa: BLE001 - no manifest yet: fall back to the rows
        pass
    from kernel.sources import SOURCES

    for source in SOURCES.values():
        if source.raw_table not in loads:
            try:
                value = con.execute(f"select max(_loaded_at) from {source.raw_table}").fetchone()[0]
            except Exception:  # noqa: BLE001 - table or column missing
                value = None
            if value is not None:
                loads[source.raw_table] = value
    return loads


def _raw_inputs(dataset: str, manifest) -> list[str]:
    """The raw sources a dataset is measured by: itself, or those a mart is built from."""
    if dataset.startswith("raw."):
        return [dataset]
    return catalogue.upstream_raw(dataset, list(measures.DELIVERIES), manifest)


def _latest(values: list[measures.Timeliness | None]) -> measures.Timeliness | None:
    """The latest of some inputs' timeliness (unknown if any input's is)."""
    if not values or any(v is None for v in values):
        return None
    return max(values, key=lambda t: t.late_days)


def _lowest(values: list[measures.Coverage | None]) -> measures.Coverage | None:
    """The lowest coverage of some inputs (unknown if any input's is)."""
    if not values or any(v is None for v in values):
        return None
    return min(values, key=lambda c: c.share)


def changes_since(previous: dict | None, current: DatasetResult) -> tuple[str, ...]:
    """What changed since the dataset's previous label (the modifications part of the label).

    >>> import datetime as dt
    >>> d = DatasetResult("raw.x", True, [], Label("silver"), 1.0, None,
    ...                   timeliness=measures.Timeliness("2024-12", dt.date(2025, 4, 1), 3),
    ...                   coverage=measures.Coverage("2024", 6, 5, ("4601",)))
    >>> changes_since({"run_id": "r1", "label": "gold", "newest_period": "2024-11", "coverage": 1.0,
    ...                "checks_failed_critical": 0, "checks_failed_warning": 0}, d)
    ('etikett gull → sølv', 'nyeste periode 2024-11 → 2024-12', 'dekning 100 % → 83,3 %')
    """
    if previous is None:
        return ("første etikett",)
    out = []
    if previous["label"] != current.label.label:
        out.append(f"etikett {LABEL_NAMES.get(previous['label'], previous['label'])} → "
                   f"{LABEL_NAMES[current.label.label]}")
    period = current.timeliness.newest_period if current.timeliness else None
    if previous.get("newest_period") != period:
        out.append(f"nyeste periode {previous.get('newest_period') or 'ukjent'} → {period or 'ukjent'}")
    share = round(current.coverage.share, 4) if current.coverage else None
    if previous.get("coverage") != share:
        out.append(f"dekning {_share(previous.get('coverage'))} → {_share(share)}")
    for severity, name in (("critical", "kritiske"), ("warning", "varsel")):
        before, now = previous.get(f"checks_failed_{severity}"), len(current.failed(severity))
        if before is not None and before != now:
            out.append(f"{name}kontroller som feiler: {before} → {now}")
    return tuple(out) or (f"ingen endring siden forrige etikett (kjøring {previous['run_id']})",)


def _share(value: float | None) -> str:
    return "ukjent" if value is None else format_share(value)


def _measure(con, specs: Sequence[DatasetSpec], columns: dict[str, list[str]],
             reference: dt.date) -> dict[str, measures.Measured]:
    """The label measures of every present dataset of ``specs`` and of every raw source (a mart's
    timeliness and coverage are its raw inputs'): one scan per raw source
    (:func:`quality.measures.measure`), one ``max`` per other dataset with a data date."""
    out = {name: measures.measure(con, name, spec_by_name(name).data_date, reference)
           for name in measures.DELIVERIES if name in columns}
    for spec in specs:
        if spec.name in columns and spec.name not in out:
            out[spec.name] = measures.Measured(_newest_data(con, spec), None, None)
    return out


def _newest_data(con, spec: DatasetSpec) -> str | None:
    if not spec.data_date:
        return None
    try:
        value = con.execute(f"select max({spec.data_date}) from {spec.name}").fetchone()[0]
    except Exception:  # noqa: BLE001
        return None
    return None if value is None else str(value)


def _age_days(dataset: str, loads: dict[str, dt.datetime], manifest, now: dt.datetime) -> float | None:
    """Age of the newest load of ``dataset``; a mart is as old as its stalest raw input."""
    if dataset.startswith("raw."):
        sources = [dataset]
    else:
        from kernel.sources import SOURCES

        sources = catalogue.upstream_raw(dataset, [s.raw_table for s in SOURCES.values()], manifest)
    ages = []
    for source in sources:
        if source not in loads:
            return None
        loaded = loads[source]
        if getattr(loaded, "tzinfo", None) is not None:
            loaded = loaded.astimezone(dt.UTC).replace(tzinfo=None)
        ages.append((now - loaded).total_seconds() / 86400)
    return max(ages) if ages else None
