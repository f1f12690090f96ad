"""What every Helsedata DAG shares: assets, retries, timeouts and the warehouse pool.

The DAG files in ``dags/`` import it from the package, not from the DAG folder: Airflow does not
put the DAG folder on ``sys.path`` in every process that parses DAGs (``airflow dags list --local``
does not), so a helper module next to the DAGs fails to import there. Only this module and the
DAG files import Airflow. Asset names come from :mod:`helsedata.pipeline`, so the CLI, the docs
and the DAGs speak of the same data.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset
from airflow.sdk.definitions.retry_policy import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryRule,
)

from helsedata import pipeline
from kernel.config import Settings
from kernel.errors import HelsedataError
from kernel.sources import SOURCES

START_DATE = pendulum.datetime(2025, 1, 1, tz="UTC")
TAGS = ["helsedata"]

#: A HelsedataError is deterministic (a rejected file, a failing dbt test or quality check, a
#: missing key): running it again fails the same way, so it fails at once with its message.
#: Anything else (a held DuckDB lock, a full disk, a killed worker) is retried.
RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=HelsedataError,
            action=RetryAction.FAIL,
            reason="Helsedata step failed with a message to act on; a retry would fail the same way",
        )
    ]
)

DEFAULT_ARGS = {
    "owner": "helsedata",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "retry_policy": RETRY_POLICY,
    "execution_timeout": timedelta(minutes=30),
}

#: For tasks that open the DuckDB warehouse: at most one such task runs at a time.
WAREHOUSE_POOL = pipeline.WAREHOUSE_POOL

LANDING_ASSETS = {
    name: Asset(name=f"landing.{name}", uri=pipeline.landing_asset_uri(name), group="landing")
    for name in SOURCES
}
RAW_ASSETS = {
    name: Asset(name=f"raw.{name}", uri=pipeline.raw_asset_uri(name), group="warehouse")
    for name in SOURCES
}
MARTS_ASSET = Asset(name="marts", uri=pipeline.MARTS_ASSET_URI, group="warehouse")
QUALITY_ASSET = Asset(name="quality.gate", uri=pipeline.QUALITY_ASSET_URI, group="warehouse")
PUBLIC_ASSET = Asset(name="public", uri=pipeline.PUBLIC_ASSET_URI, group="warehouse")


def task_settings() -> Settings:
    """The settings a task runs with, from the worker's environment.

    With ``helsedata/__main__.py`` this is one of the two entry points that read ``os.environ``;
    every step below them gets a :class:`Settings`.
    """
    return Settings.from_environ(os.environ)
