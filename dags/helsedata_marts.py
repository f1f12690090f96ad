"""Build the marts with dbt whenever a raw table changes.

Scheduled on the ``raw.<source>`` assets (any of them): a new extract of one source rebuilds the
staging, intermediate and mart models and runs their dbt tests, through
``helsedata.build.build`` (the function behind ``helsedata build``). dbt runs as one task: it
orders and parallelises the models itself, and a failure names the model or test that failed.
On success the ``marts`` asset is updated, which schedules the quality gate.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetAny, dag, task

from helsedata.airflow_dags import DEFAULT_ARGS, MARTS_ASSET, RAW_ASSETS, START_DATE, TAGS, WAREHOUSE_POOL, task_settings


@dag(
    dag_id="build_marts",
    schedule=AssetAny(*RAW_ASSETS.values()),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "dbt"],
    doc_md=__doc__,
)
def build_marts():
    @task(pool=WAREHOUSE_POOL, outlets=[MARTS_ASSET], execution_timeout=timedelta(hours=1))
    def dbt_build() -> None:
        """``dbt build``: models and tests, staging → intermediate → marts."""
        from helsedata.build import build

        build(task_settings(), progress=False)

    dbt_build()


build_marts()
