"""Disclosure control of the indicator marts: which rows are about persons, how they link, what is shown.

:func:`protect_indicator_values` turns the rows of ``marts.mart_indicator_values`` into the rows
of ``public.indicator_values``; :func:`protect_status` does the same for the status mart. All
tables are protected **jointly** (:mod:`privacy.linked`): a row is a set of count cells, tied to
other rows by every fact a reader knows —

* kommuner add up to their fylke, fylker (plus persons in an unknown kommune, code 9999, never
  published) to the country, months to their year;
* one indicator counts a subset of another's persons (:data:`NESTED`: 31 December within the
  year, 80+ within 67+ within all, each technology within all), and every recipient has at
  least one technology (:data:`COVERED_BY`);
* a share's complement (denominator − numerator) is a count too.

Shown counts are rounded (:func:`privacy.disclosure.protect_count`) and every shown rate or
share is computed from the *shown* counts, so it tells a reader nothing the counts do not.
The rules are documented in docs/publishing.md#disclosure-rules.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from kernel.errors import PipelineFailure
from privacy.disclosure import DisclosureControlConfig, protect_count, round_value
from privacy.linked import LinkedTables, protect_linked

#: Input datasets whose rows are not persons: one reporting unit's deliveries to a registry in a
#: month (organisations and kommuner), and data-access applications. Indicators computed only
#: from these are published without suppression or rounding (docs/publishing.md).
DATASETS_NOT_ABOUT_PERSONS = frozenset({"registry_reporting", "room_applications", "reported_figures"})
#: Indicator units that count things other than persons (kommuner, registries, applications,
#: days). Such indicators are published exactly.
UNITS_NOT_ABOUT_PERSONS = frozenset({"kommuner", "registre", "søknader", "dager"})
#: Shares (unit ``andel``) are fractions 0–1; 3 decimals is 0.1 percentage point.
SHARE_DECIMALS = 3
#: value = scale × numerator / denominator, per unit of an indicator with a denominator.
RATE_SCALES = {"andel": 1, "per 1 000": 1000}
#: Sources of denominators that are public figures (SSB population): not counts to protect.
PUBLIC_DENOMINATOR_SOURCES = frozenset({"population_kommune"})
#: (subset, superset): every person the first indicator counts (any breakdown) is counted by the
#: second (breakdown ``alle``) in the same period and geography.
NESTED = (("vft_mottakere_31des", "vft_mottakere"), ("vft_mottakere_67_per_1000", "vft_mottakere"),
          ("vft_mottakere_80_per_1000", "vft_mottakere_67_per_1000"),
          ("vft_mottakere_teknologi", "vft_mottakere"))
#: (indicator, breakdown indicator): every person counted by the first is counted under at least
#: one breakdown of the second (a person may count under several technologies).
COVERED_BY = (("vft_mottakere", "vft_mottakere_teknologi"),)

DEFAULT_CONFIG = DisclosureControlConfig()
NATIONAL = "nasjonal"
_REST = "__rest__"
_GEO_ORDER = {NATIONAL: 0, "fylke": 1, "kommune": 2}

Row = dict[str, Any]
RowKey = tuple[str, str, str, str]  # indicator_id, breakdown_code, period, geo_code


def is_about_persons(definition: Mapping[str, Any] | None) -> bool:
    """Whether an indicator's counts are counts of persons (or their contacts) and need control.

    Unknown indicators are protected: turning protection off has to be written down.

    >>> is_about_persons({"unit": "personer", "datasets": {"vft_mottakere"}})
    True
    >>> is_about_persons({"unit": "andel", "datasets": {"registry_reporting"}})
    False
    >>> is_about_persons(None)
    True
    """
    if definition is None:
        return True
    if definition.get("unit") in UNITS_NOT_ABOUT_PERSONS:
        return False
    datasets = definition.get("datasets") or set()
    return not (datasets and set(datasets) <= DATASETS_NOT_ABOUT_PERSONS)


def has_public_denominator(definition: Mapping[str, Any] | None) -> bool:
    """Whether the denominator is a public population figure (SSB), known to every reader.

    >>> has_public_denominator({"source": "vft_mottakere;population_kommune"})
    True
    >>> has_public_denominator({"source": "kpr_kontakter"}), has_public_denominator(None)
    (False, False)
    """
    sources = set(str((definition or {}).get("source") or "").split(";"))
    return bool(sources & PUBLIC_DENOMINATOR_SOURCES)


def _as_count(value: Any, what: str) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise PipelineFailure(f"{what} er {value}, ikke et helt antall; utleveringskontrollen trenger antall.")
        value = int(value)
    if value < 0:
        raise PipelineFailure(f"{what} er negativ ({value}).")
    return int(value)


def _key(row: Row) -> RowKey:
    return (row["indicator_id"], str(row.get("breakdown_code") or "alle"), str(row["period"]), row["geo_code"])


def protect_indicator_values(
    rows: list[Row], definitions: Mapping[str, Mapping[str, Any]], fylke_of: Mapping[str, str],
    config: DisclosureControlConfig = DEFAULT_CONFIG,
) -> tuple[list[Row], int, int]:
    """Disclosure-controlled copies of ``mart_indicator_values`` rows.

    :param fylke_of: kommunenummer → fylkesnummer (the geography the marts use).

    Returns the rows, the number of primary and of secondary suppressed rows.
    """
    protected = {_key(r): r for r in rows
                 if config.enabled and is_about_persons(definitions.get(r["indicator_id"]))}
    tables = linked_tables(protected, definitions, fylke_of)
    protection = protect_linked(tables, threshold=config.threshold)
    hidden = protection.suppressed
    out = []
    for row in rows:
        key = _key(row)
        definition = definitions.get(row["indicator_id"]) or {}
        decimals = SHARE_DECIMALS if definition.get("unit") == "andel" else config.value_decimals
        flagged = row.get("suppressed") is True  # hidden upstream, whatever its counts
        out.append(_publish_row(row, key in protected, key in hidden or flagged, decimals, config))
    out.sort(key=lambda r: (r["indicator_id"], str(r["period"]), _GEO_ORDER.get(r["geo_level"], 9),
                            str(r["geo_code"]), str(r.get("breakdown")), str(r.get("breakdown_code"))))
    return out, len(protection.primary), len(protection.secondary)


def linked_tables(rows: Mapping[RowKey, Row], definitions: Mapping[str, Mapping[str, Any]],
                  fylke_of: Mapping[str, str]) -> LinkedTables:
    """The cells of every protected row and every public fact linking them (module docstring)."""
    tables = LinkedTables(values={}, rows={})
    columns: dict[RowKey, list[str]] = {}
    for key, row in rows.items():
        indicator = key[0]
        cells = {"numerator": _as_count(row.get("numerator"), f"numerator of {indicator}")}
        if not has_public_denominator(definitions.get(indicator)):
            cells["denominator"] = _as_count(row.get("denominator"), f"denominator of {indicator}")
        cells = {c: v for c, v in cells.items() if v is not None}
        for column, value in cells.items():
            tables.values[(key, column)] = value
            tables.rows[(key, column)] = key
        if len(cells) == 2 and cells["denominator"] >= cells["numerator"]:
            # a share's complement (e.g. consultations not given digitally) is a count too
            tables.values[(key, "complement")] = cells["denominator"] - cells["numerator"]
            tables.rows[(key, "complement")] = key
            tables.unpublished.add((key, "complement"))
            tables.add_sum((key, "denominator"), [(key, "numerator"), (key, "complement")])
        columns[key] = list(cells)
        if row.get("suppressed") is True and cells:
            tables.force.add(key)
    _link_geography(tables, rows, columns, fylke_of)
    _link_periods(tables, rows, columns)
    _link_indicators(tables, rows)
    return tables


def _link_geography(tables: LinkedTables, rows, columns, fylke_of) -> None:
    """Kommuner add up to their fylke; fylker plus the unpublished rest (kommune 9999) to the country."""
    nationals = {k[:3]: k for k, r in rows.items() if r["geo_level"] == NATIONAL}
    children: dict[RowKey, list[RowKey]] = defaultdict(list)
    for key, row in rows.items():
        indicator, breakdown, period, code = key
        fylke = (indicator, breakdown, period, fylke_of.get(code, code[:2]))
        if row["geo_level"] == "kommune" and fylke in rows:
            children[fylke].append(key)
        elif row["geo_level"] == "fylke" and key[:3] in nationals:
            children[nationals[key[:3]]].append(key)
    for total, members in children.items():
        national = rows[total]["geo_level"] == NATIONAL
        for column in columns[total]:
            cells = [(m, column) for m in members if (m, column) in tables.values]
            if national:
                rest = tables.values[(total, column)] - sum(tables.values[c] for c in cells)
                if rest >= 0:  # persons in an unknown kommune: computable, never published
                    tables.values[(total[:3] + (_REST,), column)] = rest
                    cells.append((total[:3] + (_REST,), column))
            tables.add_sum((total, column), cells)


def _link_periods(tables: LinkedTables, rows, columns) -> None:
    """Months (YYYY-MM) add up to their year (YYYY) where both are published."""
    months: dict[RowKey, list[RowKey]] = defaultdict(list)
    for key in rows:
        indicator, breakdown, period, code = key
        year = (indicator, breakdown, period[:4], code)
        if period != period[:4] and year in rows:
            months[year].append(key)
    for year, members in months.items():
        for column in columns[year]:
            tables.add_sum((year, column), [(m, column) for m in members if (m, column) in tables.values])


def _link_indicators(tables: LinkedTables, rows) -> None:
    """:data:`NESTED` and :data:`COVERED_BY`, in every period and geography both are published."""
    by_indicator: dict[tuple[str, str, str], list[RowKey]] = defaultdict(list)
    for key in rows:
        by_indicator[(key[0], key[2], key[3])].append(key)

    def numerator(key: RowKey):
        return (key, "numerator") if (key, "numerator") in tables.values else None

    for key in rows:
        indicator, _, period, code = key
        for subset, superset in NESTED:
            if indicator == subset:
                big = numerator((superset, "alle", period, code))
                small = numerator(key)
                if big is not None and small is not None:
                    tables.add_at_most([small], [big])
        for whole, parts in COVERED_BY:
            if indicator == whole and numerator(key) is not None:
                cells = [c for c in map(numerator, by_indicator[(parts, period, code)]) if c is not None]
                if cells:  # no breakdown published for this period: nothing to link
                    tables.add_at_most([numerator(key)], cells)


def _publish_row(row: Row, protected: bool, hidden: bool, decimals: int, config: DisclosureControlConfig) -> Row:
    out = dict(row)
    value = row.get("value")
    if value is not None and isinstance(value, float) and math.isnan(value):
        value = None
    if not protected:
        out["suppressed"] = False
        out["value"] = None if value is None else round_value(float(value), decimals)
        return out
    out["suppressed"] = hidden
    if hidden:
        out["numerator"] = out["denominator"] = out["value"] = None
        return out
    shown = {}
    for column in ("numerator", "denominator"):
        count = _as_count(row.get(column), f"{column} of {row['indicator_id']}")
        shown[column] = None if count is None else protect_count(
            count, threshold=config.threshold, base=config.rounding_base)
        out[column] = None if shown[column] is None else float(shown[column])
    numerator, denominator = shown["numerator"], shown["denominator"]
    if value is None or numerator is None:
        out["value"] = None if value is None else round_value(float(value), decimals)
    elif denominator is None:
        out["value"] = float(numerator)  # a count: publish it rounded, like the numerator
    elif denominator == 0:
        out["value"] = None
    else:
        unit = row.get("unit")
        if unit not in RATE_SCALES:
            raise PipelineFailure(f"indikator {row['indicator_id']} har enheten {unit!r} med nevner; "
                                  f"legg skalaen dens til i privacy.publication.RATE_SCALES.")
        out["value"] = round_value(RATE_SCALES[unit] * numerator / denominator, decimals)
    return out


#: (period column, value column) pairs of the status mart that repeat a national indicator value.
STATUS_VALUE_COLUMNS = (("latest_year", "latest_value"), ("first_year", "first_value"))
#: Status columns computed from those values; withheld when a value they use is suppressed.
STATUS_DERIVED_COLUMNS = ("trend_per_year", "projected_value", "relative_gap", "status")


def protect_status(status_rows: list[Row], public_values: list[Row]) -> list[Row]:
    """Status rows whose values are the published (disclosure-controlled) national values.

    The status mart repeats the exact latest and first national value, and its trend,
    projection and gap are computed from them, so each would give the exact national count
    back. The values are replaced by the published ones and trend, projection and gap are
    recomputed from those (the formulas of ``mart_indicator_status.sql``); when a value is
    suppressed, what is computed from it (trend, projection, gap, traffic light) is withheld.
    """
    national = {(r["indicator_id"], str(r.get("breakdown_code") or "alle"), str(r["period"])): r
                for r in public_values if r["geo_level"] == NATIONAL}
    out = []
    for row in status_rows:
        row = dict(row)
        hidden = False
        for period_col, value_col in STATUS_VALUE_COLUMNS:
            if period_col not in row or value_col not in row or row[period_col] is None:
                continue
            match = national.get((row["indicator_id"], str(row.get("breakdown_code") or "alle"),
                                  str(row[period_col])))
            if match is None:
                row[value_col] = None  # nothing published to repeat
                continue
            row[value_col] = match["value"]
            hidden = hidden or bool(match["suppressed"])
        if hidden:
            for col in STATUS_DERIVED_COLUMNS:
                if col in row:
                    row[col] = None
            if "status_reason" in row:
                row["status_reason"] = "Value suppressed for confidentiality"
        else:
            _recompute_status(row)
        row["suppressed"] = hidden
        out.append(row)
    return out


def _recompute_status(row: Row) -> None:
    """Trend, projection and gap from the published values (as mart_indicator_status.sql does)."""
    latest, first = row.get("latest_value"), row.get("first_value")
    latest_year, first_year = row.get("latest_year"), row.get("first_year")
    target, target_year = row.get("target"), row.get("target_year")
    trend = None
    if None not in (latest, first, latest_year, first_year) and latest_year > first_year:
        trend = (latest - first) / (latest_year - first_year)
    if "trend_per_year" in row:
        row["trend_per_year"] = trend
    if "projected_value" in row:
        row["projected_value"] = (latest + trend * (target_year - latest_year)
                                  if trend is not None and target_year is not None and target_year > latest_year
                                  else None)
    if "relative_gap" in row:
        row["relative_gap"] = (abs(latest - target) / abs(target)
                               if latest is not None and target not in (None, 0) else None)
