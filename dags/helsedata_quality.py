"""Quality checks and the publication gate, after every marts build.

Scheduled on the ``marts`` asset, the same steps ``helsedata run`` takes after the build:
``run_checks`` runs the Great Expectations suites on every raw table and mart and writes
``quality.results`` and ``quality.labels`` (``quality.run_quality``, behind ``helsedata quality``);
``refresh_labels`` rebuilds the marts' ``input_quality_label`` from those labels
(``helsedata.build.refresh_quality_labels``); ``gate`` then fails, naming the checks, when a
critical check failed (``quality.gate``). Only a passing gate updates the ``quality.gate`` asset,
and only that schedules publication, so a failing critical check stops publication.
``refresh_labels`` rewrites marts but announces no ``marts`` event: that would start this DAG again.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from helsedata.airflow_dags import DEFAULT_ARGS, MARTS_ASSET, QUALITY_ASSET, START_DATE, TAGS, WAREHOUSE_POOL, task_settings


@dag(
    dag_id="quality_gate",
    schedule=MARTS_ASSET,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "quality"],
    doc_md=__doc__,
)
def quality_gate():
    @task(pool=WAREHOUSE_POOL)
    def run_checks() -> None:
        """GX suites on raw tables and marts → quality.results, quality.labels."""
        from quality import run_quality

        run_quality(task_settings())

    @task(pool=WAREHOUSE_POOL, execution_timeout=timedelta(hours=1))
    def refresh_labels() -> None:
        """dbt: the marts' input_quality_label from the newest quality.labels."""
        from helsedata.build import refresh_quality_labels

        refresh_quality_labels(task_settings(), progress=False)

    @task(pool=WAREHOUSE_POOL, outlets=[QUALITY_ASSET])
    def gate() -> None:
        """Fail when a critical check failed; passing lets publication run."""
        from quality import gate as quality_gate_step

        quality_gate_step(task_settings())

    run_checks() >> refresh_labels() >> gate()


quality_gate()
