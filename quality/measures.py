"""What a quality label measures in the data itself: timeliness and coverage (EHDS Art. 78).

Both are measured on the raw sources, from the rows' own dates, never from when they were loaded:

* **timeliness** (:func:`timeliness`): the newest month with data, and the day the *next* month's
  data are due — the end of that next month plus the source's expected reporting lag
  (:data:`DELIVERIES`). Data are late by ``reference − due`` days; zero or less is on time. Demo
  data that end in December 2024 are on time until the due date in 2025 and late after it,
  however recently they were loaded;
* **coverage** (:func:`coverage`): the share of the expected reporting units present in the newest
  period. The expected units are those that reported in the period before and still exist at
  the end of the newest one (kommuner by the kommune calendar, :mod:`kernel.kommuner`; other
  units, such as organisations, always). A kommune that stops reporting lowers it.

A mart is as timely and as covered as the worst of the raw sources it is built from (dbt lineage).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Literal

import duckdb

from kernel.kommuner import valid_kommunenummer

Granularity = Literal["month", "year"]


@dataclass(frozen=True)
class Delivery:
    """How one raw source is delivered: its data date, its reporting unit and the expected lag."""

    date_sql: str  # the row's own date (DATE)
    unit_sql: str  # the reporting unit a row comes from
    kommune_units: bool  # the units are kommunenummer (checked against the kommune calendar)
    coverage_period: Granularity
    lag_days: int  # after a month ends, its data are due this many days later


#: One entry per raw source. Lags: KPR and the welfare-technology extract are monthly
#: extractions delivered within two months; the registry reporting status is monthly and due
#: within the 35 days dbt's source freshness also warns after. Person sources are measured for
#: coverage per year (a small kommune has months without a single contact).
DELIVERIES: dict[str, Delivery] = {
    "raw.kpr_kontakter": Delivery("kontaktdato", "kommunenummer", True, "year", 60),
    "raw.kpr_tjenester": Delivery("startdato", "kommunenummer", True, "year", 60),
    "raw.vft_mottakere": Delivery("startdato", "kommunenummer", True, "year", 60),
    "raw.registry_reporting": Delivery("cast(strptime(periode, '%Y-%m') as date)",
                                       "register || ':' || rapporteringsenhet", False, "month", 35),
}


@dataclass(frozen=True)
class Timeliness:
    newest_period: str  # YYYY-MM, the newest month with data
    due: dt.date  # when the following month's data are due
    late_days: int  # reference date − due; ≤ 0 is on time

    @property
    def timely(self) -> bool:
        return self.late_days <= 0


@dataclass(frozen=True)
class Coverage:
    period: str  # the newest period (YYYY or YYYY-MM)
    expected: int  # units that reported in the period before and still exist
    present: int  # of those, the units with rows in the newest period
    missing: tuple[str, ...]  # a few of the missing units, for the reasons

    @property
    def share(self) -> float:
        return self.present / self.expected if self.expected else 1.0


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def due_date(newest_month: dt.date, lag_days: int) -> dt.date:
    """When the month after ``newest_month`` is due: its last day plus the lag.

    >>> due_date(dt.date(2024, 12, 1), 60)
    datetime.date(2025, 4, 1)
    """
    return _month_end(_next_month(newest_month)) + dt.timedelta(days=lag_days)


def timeliness(con: duckdb.DuckDBPyConnection, dataset: str, reference: dt.date) -> Timeliness | None:
    """Timeliness of a raw ``dataset`` on ``reference`` (None when it has no rows or no delivery rule)."""
    delivery = DELIVERIES.get(dataset)
    if delivery is None:
        return None
    newest = con.execute(f"select max({delivery.date_sql}) from {dataset}").fetchone()[0]
    if newest is None:
        return None
    month = newest.replace(day=1)
    due = due_date(month, delivery.lag_days)
    return Timeliness(f"{month:%Y-%m}", due, (reference - due).days)


def coverage(con: duckdb.DuckDBPyConnection, dataset: str) -> Coverage | None:
    """Coverage of a raw ``dataset`` in its newest period (None without two periods of data)."""
    delivery = DELIVERIES.get(dataset)
    if delivery is None:
        return None
    unit = delivery.coverage_period
    rows = con.execute(
        f"""with units as (
                select distinct date_trunc('{unit}', {delivery.date_sql}) as period, {delivery.unit_sql} as unit
                from {dataset} where {delivery.date_sql} is not null and {delivery.unit_sql} is not null
            ), newest as (select max(period) as period from units)
            select u.period, u.unit from units u, newest n
            where u.period = n.period or u.period = n.period - interval 1 {unit}""").fetchall()
    if not rows:
        return None
    newest = max(period for period, _ in rows)
    present = {u for period, u in rows if period == newest}
    previous = {u for period, u in rows if period != newest}
    if not previous:
        return None
    end = _month_end(newest) if unit == "month" else dt.date(newest.year, 12, 31)
    if delivery.kommune_units:
        previous &= valid_kommunenummer(end)
    missing = sorted(previous - present)
    label = f"{newest:%Y-%m}" if unit == "month" else f"{newest:%Y}"
    return Coverage(label, len(previous), len(previous) - len(missing), tuple(missing[:5]))


#: Where each mart is published, after disclosure control (helsedata publish).
PUBLISHED_AS = {
    "marts.mart_indicator_values": "public.indicator_values",
    "marts.mart_indicator_status": "public.indicator_status",
    "marts.mart_registry_reporting_coverage": "public.registry_reporting_coverage",
}


def access_and_provision(dataset: str) -> str:
    """How the dataset can be reached (the "access and provision" part of the label), in bokmål."""
    from privacy.catalogue import DATASETS

    if dataset in PUBLISHED_AS:
        return (f"Offentlig etter avsløringskontroll som {PUBLISHED_AS[dataset]} (prikking og avrunding), "
                "i indikatorrapporten og Superset.")
    name = dataset.removeprefix("raw.")
    if name in DATASETS:
        return ("Ikke-offentlig. Tilgang etter søknad til Helsedataservice: i analyserommet med "
                f"differensielt personvern (datasettet «{name}») under en datatilgangstillatelse.")
    return ("Ikke-offentlig på enhetsnivå; tilgang etter søknad til Helsedataservice. "
            "Aggregert offentlig gjennom indikatorene som bygges av det.")
