"""The HTML indicator report (``$HELSEDATA_HOME/reports/indicators.html``).

One self-contained page (inline CSS, no scripts, fonts or images from elsewhere) that can be
mailed, archived or opened offline. It is rendered only from the disclosure-controlled
``public.*`` rows, never from the marts, so it cannot show more than the public tables do.

Suppressed cells are shown with SSB's symbol ``:`` ("not published for confidentiality"). Cells
hidden for being small and cells hidden to protect them look the same on purpose: telling
them apart would tell a reader which hidden cells are small.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kernel.config import Settings

TEMPLATES = Path(__file__).parent / "templates"
#: How a suppressed cell is shown (SSB's standard symbol for confidential figures).
SUPPRESSED_SYMBOL = ":"
#: National periods shown in each indicator's time series.
SERIES_LENGTH = 10

GATE_LABELS = {"passed": "bestått", "overridden": "overstyrt (se revisjonsloggen)",
               "unavailable": "ikke tilgjengelig"}
STATUS_LABELS = {"green": "På vei mot målet", "yellow": "Nær målet", "red": "Langt fra målet",
                 "grey": "Ingen status"}


def format_number(value: Any, unit: str | None = None) -> str:
    """Norwegian number formatting: thin-space thousands, decimal comma, shares as per cent.

    >>> format_number(133730.0), format_number(5.66), format_number(0.953, "andel"), format_number(None)
    ('133\\u202f730', '5,7', '95,3\\u202f%', '–')
    """
    if value is None:
        return "–"
    if unit == "andel":
        return format_number(round(float(value) * 100, 1)) + "\u202f%"
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}".replace(",", "\u202f")
    return f"{number:,.1f}".replace(",", "\u202f").replace(".", ",")


def status_colour(status: Any) -> str:
    """Map a status mart value to one of green/yellow/red/grey.

    >>> status_colour("gronn"), status_colour("RED"), status_colour(None)
    ('green', 'red', 'grey')
    """
    text = str(status or "").lower()
    for colour, words in (("green", ("green", "grønn", "gronn", "met", "on_track")),
                          ("yellow", ("yellow", "gul", "amber")),
                          ("red", ("red", "rød", "rod", "off_track"))):
        if any(w in text for w in words):
            return colour
    return "grey"


def build_context(
    values: Sequence[Mapping[str, Any]], status: Sequence[Mapping[str, Any]],
    definitions: Mapping[str, Mapping[str, Any]], *, published_at: dt.datetime, gate: str,
) -> dict[str, Any]:
    """Everything the template shows, per indicator, from the public rows."""
    by_indicator: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in values:
        by_indicator[row["indicator_id"]].append(row)
    status_by_indicator = {}
    for row in status:
        if row.get("breakdown_code") in (None, "alle") or row["indicator_id"] not in status_by_indicator:
            status_by_indicator[row["indicator_id"]] = row

    indicators = []
    for indicator_id in sorted(by_indicator, key=lambda i: (list(definitions).index(i)
                                                            if i in definitions else 10**6, i)):
        rows = by_indicator[indicator_id]
        definition = dict(definitions.get(indicator_id, {}))
        unit = definition.get("unit")
        national = [r for r in rows if r["geo_level"] == "nasjonal"]
        if any(r.get("period_type") == "year" for r in national):  # the series is yearly
            rows = [r for r in rows if r.get("period_type") in ("year", None)]
            national = [r for r in national if r.get("period_type") in ("year", None)]
        national.sort(key=lambda r: (str(r["period"]), str(r.get("breakdown_code") or "")))
        periods = sorted({str(r["period"]) for r in national})
        latest_period = periods[-1] if periods else None
        series = [r for r in national if str(r["period"]) in periods[-SERIES_LENGTH:]]
        latest = [r for r in national if str(r["period"]) == latest_period]
        fylker = sorted((r for r in rows if r["geo_level"] == "fylke" and str(r["period"]) == latest_period),
                        key=lambda r: (str(r.get("geo_name") or r["geo_code"]), str(r.get("breakdown_code") or "")))
        state = status_by_indicator.get(indicator_id, {})
        colour = status_colour(state.get("status") or state.get("status_colour"))
        indicators.append({
            "id": indicator_id,
            "name": definition.get("navn") or indicator_id,
            "name_en": definition.get("name_en"),
            "goal": " – ".join(x for x in (definition.get("strategy_goal"), definition.get("sub_goal")) if x),
            "description": definition.get("description"),
            "numerator": definition.get("numerator"),
            "denominator": definition.get("denominator"),
            "unit": unit,
            "target": definition.get("target") or None,
            "target_year": definition.get("target_year") or None,
            "target_is_illustrative": str(definition.get("target_is_illustrative")).lower() == "true",
            "target_note": definition.get("target_note"),
            "latest_period": latest_period,
            "latest": latest,
            "series": series,
            "fylker": fylker,
            "has_breakdown": any((r.get("breakdown_code") or "alle") != "alle" for r in rows),
            "status": colour,
            "status_label": STATUS_LABELS[colour],
            "quality_label": next((r.get("input_quality_label") for r in reversed(series)
                                   if r.get("input_quality_label")), None),
        })
    return {"indicators": indicators, "published_at": published_at, "gate": GATE_LABELS.get(gate, gate),
            "suppressed_symbol": SUPPRESSED_SYMBOL}


def render_html(context: Mapping[str, Any]) -> str:
    """The report as one HTML string."""
    import jinja2

    from privacy.disclosure import ROUNDING_BASE, SUPPRESSION_THRESHOLD

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = format_number
    return env.get_template("indicators.html.j2").render(
        **context, threshold=SUPPRESSION_THRESHOLD, rounding_base=ROUNDING_BASE)


def render_report(settings: Settings, values, status, definitions, *, published_at: dt.datetime,
                  gate: str) -> Path:
    """Write ``reports/indicators.html`` atomically (write to a temporary file, then rename)."""
    settings.reports.mkdir(parents=True, exist_ok=True)
    path = settings.reports / "indicators.html"
    html = render_html(build_context(values, status, definitions, published_at=published_at, gate=gate))
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
