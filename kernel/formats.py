"""Norwegian number, date and period formats for every page people read.

Numbers follow Språkrådet and SSB: thousands separated by a (narrow, no-break) space, a decimal
comma, a space before the per cent sign — ``1 335``, ``99,8 %`` — and dates as ``29.11.2026``.
The same conventions go to the charts as a d3 locale (:data:`D3_FORMAT_LOCALE`), so axis labels
match the tables.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: Narrow no-break space: groups thousands and precedes "%", and never breaks a number in two.
NNBSP = "\u202f"
#: Shown for a missing value (not for a suppressed one: that is :data:`SUPPRESSED_SYMBOL`).
MISSING = "–"
#: How a suppressed cell is shown (SSB's standard symbol for confidential figures).
SUPPRESSED_SYMBOL = ":"
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
          "oktober", "november", "desember")
#: d3-format locale for Vega-Lite (d3 ships none for bokmål; this is the one SSB's figures use).
D3_FORMAT_LOCALE = {"decimal": ",", "thousands": NNBSP, "grouping": [3], "currency": ["", f"{NNBSP}kr"],
                    "percent": f"{NNBSP}%", "minus": "\u2212"}
#: d3-time-format locale name for month names on time axes.
D3_TIME_FORMAT_LOCALE = "nb-NO"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: Any, unit: str | None = None, decimals: int = 1) -> str:
    """A number as a Norwegian reads it; shares (unit ``andel``, 0–1) as per cent.

    >>> format_number(133730.0), format_number(5.66), format_number(0.953, "andel"), format_number(None)
    ('133\\u202f730', '5,7', '95,3\\u202f%', '–')
    >>> format_number(-1335), format_number(0.998, "andel")
    ('\\u22121\\u202f335', '99,8\\u202f%')
    """
    if _is_missing(value):
        return MISSING
    if unit == "andel":
        return format_number(round(float(value) * 100, 1)) + f"{NNBSP}%"
    number = float(value)
    sign = "\u2212" if number < 0 else ""
    number = abs(number)
    if number.is_integer():
        text = f"{int(number):,}"
    else:
        text = f"{number:,.{decimals}f}"
    return sign + text.replace(",", NNBSP).replace(".", ",")


def format_share(value: Any) -> str:
    """A share 0–1 as per cent with one decimal.

    >>> format_share(0.8761), format_share(None)
    ('87,6\\u202f%', '–')
    """
    return format_number(value, "andel")


def format_date(value: dt.date | dt.datetime) -> str:
    """``29.11.2026`` (and ``kl. 18:47`` for a time of day).

    >>> format_date(dt.date(2026, 11, 29)), format_date(dt.datetime(2026, 11, 29, 18, 47))
    ('29.11.2026', '29.11.2026 kl. 18:47')
    """
    if isinstance(value, dt.datetime):
        return f"{value:%d.%m.%Y} kl. {value:%H:%M}"
    return f"{value:%d.%m.%Y}"


def format_period(period: Any) -> str:
    """A period of the marts (``2024`` or ``2024-03``) in words.

    >>> format_period("2024"), format_period("2024-03")
    ('2024', 'mars 2024')
    """
    text = str(period)
    if len(text) == 7 and text[4] == "-":
        return f"{MONTHS[int(text[5:7]) - 1]} {text[:4]}"
    return text


def format_scale(scale: float) -> str:
    """A demo scale as per cent of Norway.

    >>> format_scale(0.01), format_scale(0.001), format_scale(1)
    ('1\\u202f%', '0,1\\u202f%', '100\\u202f%')
    """
    text = f"{scale * 100:.3f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + f"{NNBSP}%"


def format_unit(unit: str | None) -> str:
    """The unit as a phrase after a value (shares carry "%" already).

    >>> format_unit("personer"), format_unit("andel"), format_unit(None)
    ('personer', '', '')
    """
    return "" if unit in (None, "andel") else str(unit)
