"""Generate synthetic demo extracts for every source into ``landing/<source>/``.

Trigger it by hand (the parameters set the size and the seed). It announces the new files on the
``landing.<source>`` assets, so each ingestion DAG starts at once, then the marts, the quality
gate and publication follow, each scheduled on the data the previous one produced. The files are
synthetic (identity numbers from the test range), never real people.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from helsedata.airflow_dags import DEFAULT_ARGS, LANDING_ASSETS, START_DATE, TAGS, task_settings


@dag(
    dag_id="demo_data",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "demo"],
    params={
        "scale": Param(0.001, type="number", exclusiveMinimum=0, maximum=1,
                       description="Fraction of a national volume (0.001 ≈ a few thousand rows)."),
        "seed": Param(42, type="integer", description="Same seed, same files."),
    },
    doc_md=__doc__,
)
def demo_data():
    @task(outlets=list(LANDING_ASSETS.values()))
    def generate(params: dict | None = None) -> dict[str, list[str]]:
        """Write the demo extracts into the landing folders and return them per source."""
        from helsedata.pipeline import demo_to_landing

        files = demo_to_landing(task_settings(), float(params["scale"]), int(params["seed"]))
        return {source: [str(path) for path in paths] for source, paths in files.items()}

    generate()


demo_data()
