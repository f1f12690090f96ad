"""The Airflow DAGs (``dags/``), tested for real.

Airflow runs in subprocesses against a real SQLite metadata database in ``tmp`` (``airflow db
migrate`` once per test session), so its configuration never leaks into the pytest process. Each
DAG runs with ``dag.test()``: the real scheduler loop for one run, tasks executed in process,
retries included. The same file is the subprocess driver (``python test_dags.py describe|run|cli``).

What is checked:

* every DAG file imports (``import_errors == {}``) and declares the expected DAGs, tasks, pools,
  retries, timeouts and assets;
* ingestion DAGs load what ``helsedata ingest`` loads, and a rerun loads nothing twice;
* a task that crashes in the middle of a file and is retried leaves no partial or duplicated rows;
* a rejected file fails the run with a message naming it, while the good files load once;
* the whole chain (demo → ingestion → marts → quality gate → publication) leaves the warehouse
  holding what the CLI run on the same demo files holds.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.testing import TEST_KEY_HEX
from kernel.config import Settings
from kernel.demo import record_demo_scale
from kernel.sources import SOURCES as ALL_SOURCES

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
POOL = "warehouse_writer"
#: A fixed pseudonymisation key, so the DAG run and the CLI run produce the same pseudonyms.
TEST_KEY = TEST_KEY_HEX
RESULT_MARK = "HELSEDATA-DAG-TEST-RESULT "
SOURCES = tuple(ALL_SOURCES)
INGEST_DAGS = [f"ingest_{s}" for s in SOURCES]
DEMO_SCALE = 0.0005
DEMO_SEED = 20250101

#: Entry points each test needs; a test whose entry point has not landed yet is skipped, naming it.
INGESTION = "ingestion:ingest_files"
SYNTHETIC = "synthetic:generate"
BUILD = ("helsedata.build:build", "helsedata.build:refresh_quality_labels")
QUALITY = ("quality:run_quality", "quality:gate")
PUBLISH = "helsedata.publish:publish"

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- fixtures and helpers


def require(*targets: str) -> None:
    """Skip the test when one of the ``module:attribute`` entry points does not exist yet."""
    missing = []
    for target in targets:
        module, attribute = target.split(":")
        try:
            if getattr(importlib.import_module(module), attribute, None) is None:
                missing.append(target)
        except ImportError:
            missing.append(target)
    if missing:
        pytest.skip(f"entry point not there yet: {', '.join(missing)}")


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    """Environment of an Airflow with a migrated SQLite metadata DB and the warehouse pool."""
    home = tmp_path_factory.mktemp("airflow")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HELSEDATA"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        HELSEDATA_PSEUDONYM_KEY=TEST_KEY,
    )
    started = time.monotonic()
    _check([str(AIRFLOW), "db", "migrate"], env)
    _check([str(AIRFLOW), "pools", "set", POOL, "1", "DuckDB warehouse: one writer at a time"], env)
    print(f"airflow db migrate + pool: {time.monotonic() - started:.1f}s")
    return env


def _check(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _driver(command: str, spec: dict, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, command, json.dumps(spec)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _result(proc: subprocess.Popen, timeout: float = 1200) -> tuple[dict, str]:
    """The driver's JSON result and its whole output (task logs included)."""
    output, _ = proc.communicate(timeout=timeout)
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    assert proc.returncode == 0 and lines, f"driver failed (exit {proc.returncode}):\n{output[-6000:]}"
    return json.loads(lines[-1][len(RESULT_MARK):]), output


def run_dags(env: dict[str, str], home: Path, dags: list[str], **spec) -> tuple[list[dict], str]:
    """Run ``dags`` one after the other with ``dag.test()``; one result per run, and the log."""
    result, output = _result(_driver("run", {"dags": dags, **spec}, {**env, "HELSEDATA_HOME": str(home)}))
    return result["runs"], output


def task_errors(output: str) -> str:
    """The exception lines of a driver's log: what a failed task said."""
    import re

    pattern = re.compile(r"^[\w.]*(Error|Exception|Failure|Rejected)\b.*: ")
    return "\n".join(dict.fromkeys(line[:600] for line in output.splitlines() if pattern.match(line))) or output[-3000:]


def states(run: dict) -> dict[str, str]:
    return {task: ti["state"] for task, ti in run["tasks"].items()}


def warehouse_tables(path: Path) -> dict[str, dict]:
    """Per table of every schema: row count and an order-independent fingerprint of its content.

    The fingerprint leaves out what legitimately differs between two runs on the same files:
    timestamps (load and run times), run ids and the file paths the files were read from.
    """
    import duckdb

    volatile = {"_loaded_at", "file_name", "file", "run_id", "computed_at", "started_at", "finished_at"}
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables order by all"
        ).fetchall()
        out = {}
        for schema, table in tables:
            columns = [
                name for name, dtype in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position", [schema, table]
                ).fetchall()
                if name not in volatile and not dtype.startswith("TIMESTAMP")
            ]
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            hashed = f"sum(hash({quoted})::hugeint)" if columns else "0"
            count, fingerprint = con.execute(f'select count(*), {hashed} from "{schema}"."{table}"').fetchone()
            out[f"{schema}.{table}"] = {"rows": count, "fingerprint": str(fingerprint)}
        return out
    finally:
        con.close()


def raw_rows(home: Path, source: str) -> int:
    tables = warehouse_tables(home / "warehouse.duckdb")
    return tables.get(f"raw.{source}", {"rows": 0})["rows"]


def manifest(home: Path) -> list[tuple[str, str]]:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select file_name, status from ingest.manifest order by file_name").fetchall()
    finally:
        con.close()


def copy_to_landing(files: dict[str, list[Path]], home: Path) -> dict[str, list[Path]]:
    placed = {}
    for source, paths in files.items():
        target = home / "landing" / source
        target.mkdir(parents=True, exist_ok=True)
        placed[source] = [Path(shutil.copy2(p, target / p.name)) for p in paths]
    return placed


def small_extracts(folder: Path, rows: int = 120) -> dict[str, list[Path]]:
    """Two valid extract files per source, exact and tiny (ingestion.testing)."""
    from ingestion.testing import write_valid_extract

    return {
        source: [write_valid_extract(folder / source / f"{source}_{part}.csv", source, rows, start=part * rows)
                 for part in (1, 2)]
        for source in SOURCES
    }


# ---------------------------------------------------------------- the DAGs load and declare their contracts


EXPECTED_TASKS = {
    **{dag: {"find_new_files", "ingest", "check_rejected"} for dag in INGEST_DAGS},
    "build_marts": {"dbt_build"},
    "quality_gate": {"run_checks", "refresh_labels", "gate"},
    "publish": {"publish_tables_and_report"},
    "demo_data": {"generate"},
}
#: Tasks that open the DuckDB warehouse, and so must hold the one-slot pool.
WAREHOUSE_TASKS = {
    **{dag: {"find_new_files", "ingest"} for dag in INGEST_DAGS},
    "build_marts": {"dbt_build"},
    "quality_gate": {"run_checks", "refresh_labels", "gate"},
    "publish": {"publish_tables_and_report"},
}


@pytest.fixture(scope="module")
def described(airflow_env) -> dict:
    started = time.monotonic()
    result, _ = _result(_driver("describe", {}, airflow_env))
    print(f"DagBag load: {time.monotonic() - started:.1f}s")
    return result


def test_every_dag_file_imports_without_errors(described):
    assert described["import_errors"] == {}
    assert {dag: set(d["tasks"]) for dag, d in described["dags"].items()} == EXPECTED_TASKS


def test_warehouse_tasks_share_one_slot_pool_and_retry(described):
    for dag_id, dag in described["dags"].items():
        for task_id, task in dag["tasks"].items():
            in_pool = task_id in WAREHOUSE_TASKS.get(dag_id, set())
            assert (task["pool"] == POOL) == in_pool, (dag_id, task_id, task["pool"])
            assert task["execution_timeout"] and task["execution_timeout"] > 0, (dag_id, task_id)
            assert task["retries"] == (0 if task_id == "check_rejected" else 2), (dag_id, task_id)
            assert task["retry_policy"], (dag_id, task_id)


def test_assets_chain_the_dags(described):
    dags = described["dags"]
    raw = {f"duckdb://warehouse/raw/{s}" for s in SOURCES}
    for source in SOURCES:
        dag = dags[f"ingest_{source}"]
        assert dag["tasks"]["ingest"]["outlets"] == [f"duckdb://warehouse/raw/{source}"]
        assert dag["schedule_assets"] == [f"helsedata://landing/{source}"]
        assert dag["timetable"] == "AssetOrTimeSchedule"
    assert set(dags["demo_data"]["tasks"]["generate"]["outlets"]) == {f"helsedata://landing/{s}" for s in SOURCES}
    assert set(dags["build_marts"]["schedule_assets"]) == raw
    assert dags["build_marts"]["tasks"]["dbt_build"]["outlets"] == ["duckdb://warehouse/marts"]
    assert dags["quality_gate"]["schedule_assets"] == ["duckdb://warehouse/marts"]
    # Only the gate, which runs after the checks, announces the quality asset publication waits on.
    assert dags["quality_gate"]["tasks"]["gate"]["outlets"] == ["duckdb://warehouse/quality/gate"]
    assert dags["quality_gate"]["tasks"]["gate"]["upstream"] == ["refresh_labels"]
    assert dags["quality_gate"]["tasks"]["refresh_labels"]["upstream"] == ["run_checks"]
    assert dags["quality_gate"]["tasks"]["run_checks"]["outlets"] == []
    assert dags["quality_gate"]["tasks"]["refresh_labels"]["outlets"] == []  # no marts event: no loop
    assert dags["publish"]["schedule_assets"] == ["duckdb://warehouse/quality/gate"]


# ---------------------------------------------------------------- ingestion DAGs, run for real


def test_ingestion_dags_load_what_the_cli_loads_and_a_rerun_adds_nothing(airflow_env, tmp_path):
    require(INGESTION)
    files = small_extracts(tmp_path / "extracts")
    dag_home, cli_home = tmp_path / "dag", tmp_path / "cli"
    copy_to_landing(files, dag_home)
    cli = _driver("cli", {"steps": [["ingest", s, *map(str, p), "--json"] for s, p in files.items()]},
                  {**airflow_env, "HELSEDATA_HOME": str(cli_home)})

    runs, _ = run_dags(airflow_env, dag_home, INGEST_DAGS + INGEST_DAGS[:1])
    assert [r["state"] for r in runs] == ["success"] * 5
    for source, run in zip(SOURCES, runs[:4]):
        assert states(run) == {"find_new_files": "success", "ingest": "success", "check_rejected": "success"}
        assert [f["status"] for f in run["xcom"]["ingest"]] == ["loaded", "loaded"]
        assert run["asset_events"] == [f"duckdb://warehouse/raw/{source}"]
    # Rerun: nothing new in landing, so ingestion is skipped and no asset event schedules the marts.
    assert states(runs[4]) == {"find_new_files": "success", "ingest": "skipped", "check_rejected": "skipped"}
    assert runs[4]["asset_events"] == []

    cli_result, _ = _result(cli)
    assert cli_result["exit_codes"] == [0, 0, 0, 0]
    dag_tables = warehouse_tables(dag_home / "warehouse.duckdb")
    cli_tables = warehouse_tables(cli_home / "warehouse.duckdb")
    for source in SOURCES:
        assert dag_tables[f"raw.{source}"]["rows"] == 240
        assert dag_tables[f"raw.{source}"] == cli_tables[f"raw.{source}"], source
    assert dag_tables["ingest.manifest"] == cli_tables["ingest.manifest"]
    assert dag_tables["ingest.quarantine"] == cli_tables["ingest.quarantine"]


def test_a_task_that_crashes_midway_and_is_retried_leaves_no_partial_or_duplicate_rows(airflow_env, tmp_path):
    require(INGESTION)
    source = "kpr_kontakter"
    files = {source: small_extracts(tmp_path / "extracts", rows=200)[source]}
    home = tmp_path / "dag"
    copy_to_landing(files, home)
    # Small batches, and a crash (an OSError, as from a lost disk) in the third batch of the second
    # file: the first file is committed, the second is half-way when the task dies.
    env = {**airflow_env, "HELSEDATA_INGEST_BATCH_BYTES": "2000"}
    runs, output = run_dags(env, home, [f"ingest_{source}"], crash={"after_batches": 8})

    [run] = runs
    assert run["state"] == "success"
    assert run["tasks"]["ingest"]["try_number"] == 2, "the crash was not retried"
    assert "simulated crash" in output
    assert [f["status"] for f in run["xcom"]["ingest"]] == ["skipped_duplicate", "loaded"]
    assert run["asset_events"] == [f"duckdb://warehouse/raw/{source}"]
    assert raw_rows(home, source) == 400
    assert [status for _, status in manifest(home)] == ["loaded", "loaded"]


def test_a_rejected_file_fails_the_run_naming_it_and_the_good_file_loads_once(airflow_env, tmp_path):
    require(INGESTION)
    from ingestion.testing import write_extract

    source = "vft_mottakere"
    home = tmp_path / "dag"
    [good, _] = small_extracts(tmp_path / "extracts", rows=50)[source]
    copy_to_landing({source: [good]}, home)
    bad = write_extract(home / "landing" / source / "broken_header.csv", source, ["1;2"], header=["wrong", "header"])

    runs, output = run_dags(airflow_env, home, [f"ingest_{source}"] * 2)
    for run in runs:  # the second run sees the rejected file again (it is not loaded) and fails again
        assert run["state"] == "failed"
        assert states(run) == {"find_new_files": "success", "ingest": "success", "check_rejected": "failed"}
        assert run["tasks"]["check_rejected"]["try_number"] == 1  # deterministic: not retried
    # The good file was announced (the marts get it) although the run failed on the bad one.
    assert runs[0]["asset_events"] == [f"duckdb://warehouse/raw/{source}"]
    assert "broken_header.csv" in output and "rejected" in output
    assert raw_rows(home, source) == 50
    assert [(Path(name).name, status) for name, status in manifest(home)] == [
        ("broken_header.csv", "rejected"), (good.name, "loaded")]

    bad.unlink()  # the operator removes the bad file: the next run has nothing new and succeeds
    [run], _ = run_dags(airflow_env, home, [f"ingest_{source}"])
    assert run["state"] == "success" and states(run)["ingest"] == "skipped"
    assert raw_rows(home, source) == 50


# ---------------------------------------------------------------- the quality gate stops publication


def test_a_failing_critical_check_stops_publication(airflow_env, tmp_path):
    require(*QUALITY, PUBLISH)
    from kernel.warehouse import writer
    from quality.testing import DEFECTS, build_warehouse

    home = tmp_path / "dag"
    build_warehouse(Settings(home=home).ensure())  # clean raw tables and marts ...
    dataset, breaking_sql, check = DEFECTS["conformance/kommunenummer"]
    with writer(Settings(home=home)) as con:  # ... then one critical defect
        con.execute(breaking_sql)

    # publish runs here only to show it refuses too; under the scheduler it is never triggered,
    # because the failed gate emits no quality.gate asset event.
    # The toy warehouse has marts but no dbt build behind them, so the dbt step that copies labels
    # into the marts is marked done instead of run.
    runs, output = run_dags(airflow_env, home, ["quality_gate", "publish"], mark_success="refresh_labels")
    gate_run, publish_run = runs
    assert states(gate_run) == {"run_checks": "success", "refresh_labels": "success", "gate": "failed"}
    assert gate_run["tasks"]["gate"]["try_number"] == 1  # a closed gate is not retried
    assert gate_run["asset_events"] == []
    assert "Kvalitetsporten er stengt" in output and check in gate_blockers(output) and dataset in gate_blockers(output)
    assert publish_run["state"] == "failed" and publish_run["asset_events"] == []
    assert not any(t.startswith("public.") and v["rows"] for t, v in warehouse_tables(home / "warehouse.duckdb").items())


# ---------------------------------------------------------------- the whole chain, against the CLI


def test_demo_chain_through_airflow_matches_the_cli_run(airflow_env, tmp_path):
    require(SYNTHETIC, INGESTION, *BUILD, *QUALITY, PUBLISH)
    dag_home, cli_home = tmp_path / "dag", tmp_path / "cli"
    started = time.monotonic()

    # Demo extracts through the demo DAG, then the same files for the CLI.
    [demo], _ = run_dags(airflow_env, dag_home, ["demo_data"],
                         conf={"demo_data": {"scale": DEMO_SCALE, "seed": DEMO_SEED}})
    assert demo["state"] == "success", demo
    landed = {s: [Path(p) for p in paths] for s, paths in demo["xcom"]["generate"].items()}
    assert set(landed) == set(SOURCES) and all(landed.values())
    copy_to_landing(landed, cli_home)
    # the same kind of install: demo data of this scale (the status mart scales count targets by it)
    record_demo_scale(Settings(home=cli_home), DEMO_SCALE, DEMO_SEED)

    # The CLI run on the same files, side by side with the DAGs (separate homes, so no contention
    # on a warehouse): `helsedata run` ingests what is in landing/, then builds, checks, publishes.
    cli = _driver("cli", {"steps": [["run", "--json"]]}, {**airflow_env, "HELSEDATA_HOME": str(cli_home)})
    # The DAGs in the order their assets trigger them; a failed run emits no asset event, so the
    # chain stops there, as it would under the scheduler.
    chain = INGEST_DAGS + ["build_marts", "quality_gate", "publish"]
    runs, output = run_dags(airflow_env, dag_home, chain, until_failure=True)
    cli_result, cli_output = _result(cli)
    print(f"demo chain (DAGs and CLI side by side): {time.monotonic() - started:.1f}s; "
          + ", ".join(f"{r['dag_id']} {r['seconds']:.1f}s" for r in runs))

    ran = {r["dag_id"]: r for r in runs}
    assert [ran[d]["state"] for d in INGEST_DAGS + ["build_marts"]] == ["success"] * 5, task_errors(output)
    assert states(ran["quality_gate"])["run_checks"] == "success", task_errors(output)
    assert states(ran["quality_gate"])["refresh_labels"] == "success", task_errors(output)
    gate_open = ran["quality_gate"]["state"] == "success"
    if gate_open:  # both published
        assert ran["publish"]["state"] == "success", task_errors(output)
        assert cli_result["exit_codes"] == [0], task_errors(cli_output)
    else:  # a failing critical check stopped publication in both, naming the same checks
        assert states(ran["quality_gate"])["gate"] == "failed" and "publish" not in ran
        assert cli_result["exit_codes"] == [1], task_errors(cli_output)
        assert gate_blockers(output) == gate_blockers(cli_output) != ""

    dag_tables = warehouse_tables(dag_home / "warehouse.duckdb")
    cli_tables = warehouse_tables(cli_home / "warehouse.duckdb")
    # Same tables with the same row counts everywhere (quality.* included), and the same content in
    # everything loaded, built and published.
    assert {t: v["rows"] for t, v in dag_tables.items()} == {t: v["rows"] for t, v in cli_tables.items()}
    for schema in ("raw", "ingest", "staging", "intermediate", "marts"):
        compared = {t: v for t, v in dag_tables.items() if t.startswith(f"{schema}.")}
        assert compared == {t: v for t, v in cli_tables.items() if t.startswith(f"{schema}.")}, schema
    # The same marts publish the same cells (docs/publishing.md#determinism), in either home: every
    # public table, cell by cell, but the audit head each home's own audit chain records.
    assert public_differences(dag_home, cli_home) == {}
    assert all(dag_tables[f"raw.{s}"]["rows"] for s in SOURCES), "a raw table is empty"
    assert any(t.startswith("marts.") and v["rows"] for t, v in dag_tables.items()), "marts are empty"
    published = sum(v["rows"] for t, v in dag_tables.items() if t.startswith("public.indicator"))
    assert bool(published) == gate_open, "published although the gate was closed, or nothing published"


def public_differences(home: Path, other: Path) -> dict[str, dict[str, list[tuple]]]:
    """Per ``public.*`` table that differs: a few rows only in ``home`` and only in ``other``.

    Left out: timestamp columns (when each publication ran) and ``audit_head`` (each home keeps
    its own audit chain, with its own key, so its head differs by design).
    """
    import duckdb

    def cells(path: Path) -> dict[str, set[tuple]]:
        con = duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)
        try:
            out = {}
            for (table,) in con.execute("select table_name from information_schema.tables "
                                        "where table_schema = 'public' order by all").fetchall():
                columns = [name for name, dtype in con.execute(
                    "select column_name, data_type from information_schema.columns where table_schema = 'public' "
                    "and table_name = ? order by ordinal_position", [table]).fetchall()
                    if name != "audit_head" and not dtype.startswith("TIMESTAMP")]
                quoted = ", ".join(f'"{c}"' for c in columns)
                rows = con.execute(f'select {quoted} from public."{table}"').fetchall()
                out[table] = {tuple(zip(columns, row)) for row in rows}
            return out
        finally:
            con.close()

    mine, theirs = cells(home), cells(other)
    return {table: {"only_here": sorted(mine.get(table, set()) - theirs.get(table, set()), key=repr)[:5],
                    "only_there": sorted(theirs.get(table, set()) - mine.get(table, set()), key=repr)[:5]}
            for table in sorted(set(mine) | set(theirs)) if mine.get(table) != theirs.get(table)}


def gate_blockers(output: str) -> str:
    """What a closed quality gate named (dataset, check, share), without the run id."""
    import re

    found = re.search(r"Kvalitetsporten er stengt \(kjøring [^)]*\): ([^\n]*?)(?:\. Rett dataene|$)", output, re.M)
    return found.group(1) if found else ""


# ---------------------------------------------------------------- the subprocess driver


def _describe(bag) -> dict:
    def uris(condition) -> list[str]:
        if condition is None:
            return []
        if hasattr(condition, "objects"):
            return [u for obj in condition.objects for u in uris(obj)]
        return [condition.uri]

    dags = {}
    for dag_id, dag in bag.dags.items():
        timetable = dag.timetable
        dags[dag_id] = {
            "timetable": type(timetable).__name__,
            "schedule_assets": uris(getattr(timetable, "asset_condition", None)),
            "tasks": {
                task.task_id: {
                    "pool": task.pool,
                    "retries": task.retries,
                    "retry_policy": type(task.retry_policy).__name__ if task.retry_policy else None,
                    "execution_timeout": task.execution_timeout.total_seconds() if task.execution_timeout else None,
                    "outlets": [outlet.uri for outlet in task.outlets],
                    "upstream": sorted(task.upstream_task_ids),
                }
                for task in dag.tasks
            },
        }
    return {"import_errors": dict(bag.import_errors), "dags": dags}


def _install_crash(after_batches: int) -> None:
    """Make ingestion raise an OSError once, when checking batch number ``after_batches + 1``."""
    import ingestion.pipeline

    original, calls = ingestion.pipeline.check_batch, {"n": 0}

    def check_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == after_batches + 1:
            raise OSError(f"simulated crash while checking batch {calls['n']}")
        return original(*args, **kwargs)

    ingestion.pipeline.check_batch = check_batch


def _run(bag, spec: dict) -> dict:
    from datetime import timedelta

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    if spec.get("crash"):
        _install_crash(**spec["crash"])
    runs = []
    for dag_id in spec["dags"]:
        dag = bag.dags[dag_id]
        for task in dag.tasks:  # retry at once: the test checks that retries happen, not how long they wait
            task.retry_delay = timedelta(0)
            task.retry_exponential_backoff = False
        started = time.monotonic()
        dag_run = dag.test(run_conf=spec.get("conf", {}).get(dag_id), mark_success_pattern=spec.get("mark_success"))
        seconds = time.monotonic() - started
        with create_session() as session:
            tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=dag_run.run_id).all()
            tasks = {ti.task_id: {"state": getattr(ti.state, "value", ti.state), "try_number": ti.try_number}
                     for ti in tis}
            xcoms = session.query(XComModel).filter_by(dag_id=dag_id, run_id=dag_run.run_id, key="return_value").all()
            values = {x.task_id: XComModel.deserialize_value(x) for x in xcoms}
            events = session.query(AssetModel.uri).join(AssetEvent, AssetEvent.asset_id == AssetModel.id).filter(
                AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == dag_run.run_id).all()
            state = getattr(dag_run.state, "value", dag_run.state)
        runs.append({"dag_id": dag_id, "state": state, "seconds": seconds, "tasks": tasks, "xcom": values,
                     "asset_events": sorted(uri for (uri,) in events)})
        if spec.get("until_failure") and state != "success":
            break
    return {"runs": runs}


def _cli(spec: dict) -> dict:
    from helsedata.cli import main

    codes = []
    for argv in spec["steps"]:
        started = time.monotonic()
        codes.append(main(argv, environ=os.environ))  # the driver process is the entry point here
        print(f"helsedata {argv[0]}: exit {codes[-1]} in {time.monotonic() - started:.1f}s", flush=True)
    return {"exit_codes": codes}


def _main(argv: list[str]) -> None:
    command, spec = argv[0], json.loads(argv[1])
    if command == "cli":
        result = _cli(spec)
    else:
        from airflow.dag_processing.dagbag import BundleDagBag

        # What the DAG processor does: the DAG folder is a bundle, put on sys.path.
        bag = BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")
        result = _describe(bag) if command == "describe" else _run(bag, spec)
    print(RESULT_MARK + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
