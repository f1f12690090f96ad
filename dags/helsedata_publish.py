"""Publish once the quality gate has passed.

Scheduled on the ``quality.gate`` asset, which only the quality DAG's passing gate updates: a
failing critical check therefore never reaches this DAG. Publication (``helsedata.publish.publish``,
the function behind ``helsedata publish``) writes the disclosure-controlled ``public.*`` tables,
renders the HTML indicator report and refreshes Superset when it is configured.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from helsedata.airflow_dags import DEFAULT_ARGS, PUBLIC_ASSET, QUALITY_ASSET, START_DATE, TAGS, WAREHOUSE_POOL, task_settings


@dag(
    dag_id="publish",
    schedule=QUALITY_ASSET,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "publication"],
    doc_md=__doc__,
)
def publish():
    @task(pool=WAREHOUSE_POOL, outlets=[PUBLIC_ASSET])
    def publish_tables_and_report() -> None:
        """Disclosure-controlled public tables, HTML report, Superset refresh."""
        from helsedata.publish import publish as publish_step

        publish_step(task_settings())

    publish_tables_and_report()


publish()
