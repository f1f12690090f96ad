"""Charts for the report pages: Vega-Lite specs built with Altair, rendered to inline SVG.

Rendering happens at publish time with vl-convert (Vega in an embedded engine), so a page is a
static, self-contained file: no scripts, no CDN, nothing fetched when it is opened. Every chart
comes as a :class:`Chart`: the SVG (``role="img"``, labelled by its text alternative), that text
alternative in words, and the table the chart was drawn from, which the page shows behind a
``<details>`` disclosure. Numbers use Norwegian formats on the axes as in the tables
(:data:`kernel.formats.D3_FORMAT_LOCALE`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kernel.formats import D3_FORMAT_LOCALE, D3_TIME_FORMAT_LOCALE

#: Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphics).
PALETTE = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8a6d00", "#00796b", "#c2185b", "#455a64",
           "#5d4037", "#283593")
TARGET_COLOUR = "#a00000"
#: Vega measures text with the fonts vl-convert finds; naming a common font first keeps the
#: browser's text the width the layout was made for (system-ui would overflow axis labels).
FONT = "DejaVu Sans, Verdana, sans-serif"


@dataclass(frozen=True)
class Chart:
    """One rendered chart with its text alternative and the table behind it."""

    id: str
    title: str
    svg: str
    alt: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def axis_format(unit: str | None) -> str:
    """d3 format of a value axis for a unit.

    >>> axis_format("andel"), axis_format("personer"), axis_format("per 1 000")
    ('.0%', ',.0f', ',.1f')
    """
    if unit == "andel":
        return ".0%"
    if unit in ("per 1 000", "dager"):
        return ",.1f"
    return ",.0f"


def _config(chart, small: bool = False):
    """Static, quiet styling shared by every chart; ARIA is set on the SVG root instead.

    A small chart (a sparkline in the summary) has no axes: its table says the numbers.
    """
    axis = ({"labels": False, "ticks": False, "domain": False, "grid": False, "title": None} if small else
            {"labelFontSize": 11, "titleFontSize": 11, "labelColor": "#1b1b1b", "titleColor": "#1b1b1b",
             "gridColor": "#e0e0e0"})
    return (chart.configure(font=FONT, aria=False, background="white", padding=2 if small else 5)
            .configure_axis(**axis)
            .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom", labelColor="#1b1b1b",
                              titleColor="#1b1b1b")
            .configure_view(stroke=None))


def render_svg(chart, chart_id: str, small: bool = False) -> str:
    """The chart as an inline SVG element labelled by the element ``{chart_id}-alt``."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(_config(chart, small).to_dict(validate=False), format_locale=D3_FORMAT_LOCALE,
                                     time_format_locale=D3_TIME_FORMAT_LOCALE)
    # Vega marks carry ARIA roles of their own; the chart is one image, named by its text alternative
    svg = re.sub(r'\s(role|aria-roledescription|aria-label)="[^"]*"', "", svg)
    # ids (clip paths, gradients) are per file in Vega's output: make them unique on the page
    svg = re.sub(r'(\bid="|url\(#|href="#)', lambda m: f"{m.group(1)}{chart_id}-", svg)
    svg = re.sub(r"^<svg ", f'<svg role="img" aria-labelledby="{chart_id}-alt" focusable="false" ', svg, count=1)
    return re.sub(r'<svg ([^>]*?)width="(\d+)" height="(\d+)"',
                  r'<svg \1width="\2" height="\3" style="max-width:100%;height:auto"', svg, count=1)


def trend(chart_id: str, title: str, points: Sequence[dict[str, Any]], *, unit: str | None,
          targets: Sequence[float] = (), description: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
          small: bool = False) -> Chart:
    """A line per group over the periods (``points``: period, group, value), targets as dashed rules.

    ``period`` is a year (``2024``) or a month start date (``2024-03-01``).
    """
    import altair as alt

    monthly = any(len(str(p["period"])) > 4 for p in points)
    x = (alt.X("period:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=6))
         if monthly else alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)))
    groups = sorted({p["group"] for p in points})
    colour = (alt.Color("group:N", title=None, scale=alt.Scale(domain=groups, range=list(PALETTE)),
                        legend=None if len(groups) < 2 or small else alt.Legend(columns=3))
              if groups else alt.value(PALETTE[0]))
    y_scale = alt.Scale(zero=unit != "andel")
    single = len({p["period"] for p in points}) == 1  # one period: a line has nothing to join, show the point
    lines = alt.Chart(alt.Data(values=list(points))).mark_line(point=not small or single, strokeWidth=2).encode(
        x=x, y=alt.Y("value:Q", title=None, scale=y_scale,
                     axis=alt.Axis(format=axis_format(unit), tickCount=3 if small else 5)),
        color=colour)
    layers = [lines]
    if targets:
        layers.append(alt.Chart(alt.Data(values=[{"target": t} for t in targets])).mark_rule(
            clip=True, color=TARGET_COLOUR, strokeDash=[5, 3], strokeWidth=1.5).encode(y="target:Q"))
    width, height = (160, 60) if small else (560, 220)
    chart = alt.layer(*layers).properties(width=width, height=height)
    return Chart(chart_id, title, render_svg(chart, chart_id, small), description, tuple(columns), tuple(map(tuple, rows)))


def bars(chart_id: str, title: str, bars_: Sequence[dict[str, Any]], *, unit: str | None,
         description: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Chart:
    """Horizontal bars (``bars_``: name, value), in the order given."""
    import altair as alt

    order = [b["name"] for b in bars_]
    chart = alt.Chart(alt.Data(values=list(bars_))).mark_bar(color=PALETTE[0]).encode(
        y=alt.Y("name:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
        x=alt.X("value:Q", title=None, axis=alt.Axis(format=axis_format(unit))),
    ).properties(width=460, height=max(60, 18 * len(bars_)))
    return Chart(chart_id, title, render_svg(chart, chart_id), description, tuple(columns), tuple(map(tuple, rows)))


def spread(chart_id: str, title: str, values: Sequence[float], *, unit: str | None,
           description: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Chart:
    """The distribution of kommune values: a box plot over a strip of the values."""
    import altair as alt

    data = alt.Data(values=[{"value": v} for v in values])
    x = alt.X("value:Q", title=None, axis=alt.Axis(format=axis_format(unit)))
    strip = alt.Chart(data).mark_tick(color=PALETTE[1], opacity=0.5, thickness=1, size=40).encode(x=x)
    box = alt.Chart(data).mark_boxplot(extent="min-max", color="#9ec3ea", opacity=0.75, size=24,
                                       median=alt.MarkConfig(color="#0b3d75", strokeWidth=3)).encode(x=x)
    chart = alt.layer(strip, box).properties(width=520, height=44)  # the box over the values
    return Chart(chart_id, title, render_svg(chart, chart_id), description, tuple(columns), tuple(map(tuple, rows)))
