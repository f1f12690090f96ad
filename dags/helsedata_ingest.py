"""One ingestion DAG per source: new extract files in ``landing/<source>/`` → ``raw.<source>``.

The DAGs are generated from ``kernel.sources.SOURCES``, so a new source gets its DAG by being
defined there. Each run:

1. ``find_new_files`` lists the files in ``$HELSEDATA_HOME/landing/<source>/`` whose sha256 is not
   yet loaded according to ``ingest.manifest``; with none, the rest of the run is skipped and no
   asset event is emitted, so nothing downstream rebuilds;
2. ``ingest`` loads exactly those files with ``ingestion.ingest_files`` (the function behind
   ``helsedata ingest``) and updates the asset ``raw.<source>``, which schedules the marts;
3. ``check_rejected`` fails the run, naming each file ingestion rejected and why, after the good
   files are loaded.

Idempotent: ingestion skips a file whose sha256 is already loaded, so a retry or a rerun never
loads a file twice. Runs hourly, and at once when the demo DAG (or anyone posting an event for
``landing.<source>``) announces new files.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from helsedata.airflow_dags import DEFAULT_ARGS, LANDING_ASSETS, RAW_ASSETS, START_DATE, TAGS, WAREHOUSE_POOL, task_settings
from kernel.sources import SOURCES


def ingestion_dag(source: str):
    """Build the ingestion DAG ``ingest_<source>``."""

    @dag(
        dag_id=f"ingest_{source}",
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("@hourly", timezone="UTC"), assets=LANDING_ASSETS[source]
        ),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[*TAGS, "ingestion", source],
        doc_md=__doc__,
    )
    def ingest_source():
        @task.short_circuit(pool=WAREHOUSE_POOL)
        def find_new_files() -> list[str]:
            """Extract files not loaded yet (by sha256); none → skip the rest of the run."""
            from helsedata.pipeline import landing_files

            return [str(path) for path in landing_files(task_settings(), source)]

        @task(pool=WAREHOUSE_POOL, outlets=[RAW_ASSETS[source]])
        def ingest(paths: list[str]) -> list[dict]:
            """Validate, pseudonymise and load the files; one result per file (as ``ingest --json``)."""
            from pathlib import Path

            from helsedata.pipeline import prepare_room
            from ingestion import ingest_files

            settings = task_settings()
            results = ingest_files(settings, source, [Path(p) for p in paths], progress=False)
            prepare_room(settings, source, results)  # the room's bounded extracts, as `helsedata ingest` does
            return [result.to_json() for result in results]

        @task(retries=0)
        def check_rejected(results: list[dict]) -> None:
            """Fail the run naming every file of which no row loaded: rejected, or all quarantined (the good ones are loaded already)."""
            from helsedata.pipeline import raise_for_rejected

            raise_for_rejected(source, results)

        check_rejected(ingest(find_new_files()))

    return ingest_source()


for _source in SOURCES:
    ingestion_dag(_source)
