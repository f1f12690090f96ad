"""Norwegian number and date formats for the portal's pages and CSV files.

Thousands are grouped with a no-break space and decimals follow a comma ("1 335", "0,25"), as
Språkrådet recommends; dates are DD.MM.YYYY. Accuracy is shown as "± N": the half-width of the
95 % interval, rounded to a whole number from 10 up and to one decimal below.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

NBSP = "\u00a0"


def epsilon_input(text: str) -> str:
    """ε as typed in a Norwegian form: a decimal comma becomes a point; fractions stay as they are.

    >>> epsilon_input(" 0,25 "), epsilon_input("1/3"), epsilon_input("0.1")
    ('0.25', '1/3', '0.1')
    """
    return text.strip().replace(",", ".")


def number(value: float | int | None, decimals: int = 0) -> str:
    """A number in Norwegian notation.

    >>> number(1335), number(-1335), number(0.25, 2), number(1234567.891, 1), number(None)
    ('1\xa0335', '−1\xa0335', '0,25', '1\xa0234\xa0567,9', '–')
    """
    if value is None:
        return "–"
    text = f"{abs(value):,.{decimals}f}".replace(",", NBSP).replace(".", ",")
    return ("−" if value < 0 and float(text.replace(NBSP, "").replace(",", ".")) != 0 else "") + text


def decimal(value: float | None, max_decimals: int = 4) -> str:
    """A decimal with as many decimals as it needs, at most ``max_decimals``.

    >>> decimal(0.25), decimal(1.0), decimal(1 / 3), decimal(2.5e-05, 6)
    ('0,25', '1', '0,3333', '0,000025')
    """
    if value is None:
        return "–"
    text = number(value, max_decimals)
    return text.rstrip("0").rstrip(",") if "," in text else text


def accuracy(value: Any) -> str:
    """The 95 % accuracy of a release as "± N" (a mean has one for the sum and one for the count).

    >>> accuracy(11.98), accuracy(3.456), accuracy({"sum": 1200.4, "count": 12.2}), accuracy(None)
    ('±\xa012', '±\xa03,5', 'sum ±\xa01\xa0200, antall ±\xa012', 'ingen lukket formel')
    """
    if value is None:
        return "ingen lukket formel"
    if isinstance(value, dict):
        names = {"sum": "sum", "count": "antall"}
        return ", ".join(f"{names.get(k, k)} {accuracy(v)}" for k, v in value.items())
    return f"±{NBSP}" + (number(value) if value >= 10 else number(value, 1))


def epsilon(exact: str) -> str:
    """An exact ε with its decimal value when it is a fraction.

    >>> epsilon("1/4"), epsilon("2"), epsilon("1/3")
    ('1/4 (≈\xa00,25)', '2', '1/3 (≈\xa00,3333)')
    """
    if "/" not in exact:
        return decimal(float(Fraction(exact)))
    return f"{exact} (≈{NBSP}{decimal(float(Fraction(exact)))})"


def day(value: str | date | None) -> str:
    """A date as DD.MM.YYYY.

    >>> day("2026-11-29"), day("2026-11-29T19:03:00.123+00:00")
    ('29.11.2026', '29.11.2026')
    """
    if value is None:
        return "–"
    d = value if isinstance(value, date) else datetime.fromisoformat(value)
    return d.strftime("%d.%m.%Y")


def moment(value: str | None) -> str:
    """A UTC timestamp as a Norwegian date and time (UTC, said so).

    >>> moment("2026-11-29T19:03:00.123+00:00")
    '29.11.2026 kl. 19.03 UTC'
    """
    if value is None:
        return "–"
    return datetime.fromisoformat(value).strftime("%d.%m.%Y kl. %H.%M UTC")


#: Statistics as the pages name them.
STATISTICS = {"count": "antall", "sum": "sum", "mean": "gjennomsnitt", "quantile": "kvantil"}


def statistic(name: str) -> str:
    """A statistic's name in bokmål.

    >>> statistic("mean")
    'gjennomsnitt'
    """
    return STATISTICS.get(name, name)


def cell(value: Any) -> str:
    """A released value: counts and sums as whole numbers, means with two decimals.

    >>> cell(1335), cell(43.267), cell(None), cell("0301")
    ('1\xa0335', '43,27', '–', '0301')
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return number(value)
    return number(value, 2)


def details(values: dict[str, Any]) -> list[tuple[str, str]]:
    """An audit entry's details as readable pairs: lists joined, yes/no, empty values left out.

    >>> details({"by": [], "oidc": False, "datasets": ["a", "b"], "reason": None, "scale": 16.0})
    [('oidc', 'nei'), ('datasets', 'a, b'), ('scale', '16')]
    """
    out = []
    for key, value in values.items():
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, bool):
            text = "ja" if value else "nei"
        elif isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, float):
            text = decimal(value)
        else:
            text = str(value)
        out.append((key, text))
    return out
