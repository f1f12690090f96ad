"""What a quality label measures in the data itself: timeliness and coverage (EHDS Art. 78).

Both are measured on the raw sources, from the rows' own dates, never from when they were loaded:

* **timeliness**: the newest month with data, and the day the *next* month's
  data are due — the end of that next month plus the source's expected reporting lag
  (:data:`DELIVERIES`). Data are late by ``reference − due`` days; zero or less is on time. Demo
  data that end in December 2024 are on time until the due date in 2025 and late after it,
  however recently they were loaded;
* **coverage**: the share of the expected reporting units present in the newest
  period. The expected units are those that reported in the period before and still exist at
  the end of the newest one (kommuner by the kommune calendar, :mod:`kernel.kommuner`; other
  units, such as organisations, always). A kommune that stops reporting lowers it.

Both, and the newest data date, come from one scan of the table (:func:`measure`).
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


@dataclass(frozen=True)
class Measured:
    """What the label measures of one raw table found in its rows (one scan, :func:`measure`)."""

    newest_data: str | None  # the newest value of the dataset's data date, as text
    timeliness: Timeliness | None
    coverage: Coverage | None


def measure(con: duckdb.DuckDBPyConnection, dataset: str, data_date: str | None, reference: dt.date) -> Measured:
    """Newest data, timeliness on ``reference`` and coverage of a raw ``dataset`` in ONE scan.

    The table is grouped once by (period, reporting unit) — a few thousand groups — with the
    newest dates of each group; the newest date, the newest period and the units of the last two
    periods are then read from those groups, not from the table again. ``data_date`` is the
    column shown as the dataset's newest data (``DatasetSpec.data_date``).
    """
    delivery = DELIVERIES[dataset]
    unit = delivery.coverage_period
    newest_data = f"max({data_date})" if data_date else "null"
    rows = con.execute(
        f"""with groups as materialized (
                select date_trunc('{unit}', {delivery.date_sql}) as period, {delivery.unit_sql} as unit,
                       max({delivery.date_sql}) as newest, {newest_data} as newest_data
                from {dataset} group by all
            ), top as (
                select max(newest) as newest, max(newest_data) as newest_data,
                       max(period) filter (where unit is not null) as period
                from groups
            )
            select t.newest, t.newest_data, g.period, g.unit from top t
            left join groups g on g.unit is not null and g.period is not null
                and (g.period = t.period or g.period = t.period - interval 1 {unit})""").fetchall()
    newest, newest_value = rows[0][0], rows[0][1]
    return Measured(None if newest_value is None else str(newest_value),
                    _timeliness(newest, delivery, reference),
                    _coverage([(period, u) for _, _, period, u in rows if period is not None], delivery))


def _timeliness(newest: dt.date | None, delivery: Delivery, reference: dt.date) -> Timeliness | None:
    """Timeliness on ``reference`` of data whose newest date is ``newest`` (None without rows)."""
    if newest is None:
        return None
    month = newest.replace(day=1)
    due = due_date(month, delivery.lag_days)
    return Timeliness(f"{month:%Y-%m}", due, (reference - due).days)


def _coverage(rows: list[tuple[dt.datetime, str]], delivery: Delivery) -> Coverage | None:
    """Coverage from the (period, unit) pairs of the newest period and the one before (None
    without two periods of data)."""
    if not rows:
        return None
    unit = delivery.coverage_period
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
