"""WCAG 2.x contrast ratio of two colours, for tests that check what a reader sees."""

from __future__ import annotations

import re


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` or CSS ``rgb(r, g, b)`` / ``rgba(r, g, b, 1)`` → (r, g, b).

    >>> rgb("#2e7d32"), rgb("rgb(46, 125, 50)")
    ((46, 125, 50), (46, 125, 50))
    """
    if colour.startswith("#") and len(colour) == 7:
        return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, 1)?\)", colour.strip())
    if match is None:
        raise ValueError(f"not an opaque colour: {colour!r}")
    return int(match[1]), int(match[2]), int(match[3])


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """The contrast ratio (1–21); WCAG AA asks at least 4.5 for text.

    >>> round(contrast_ratio("#000000", "#ffffff"), 1), round(contrast_ratio("#2e7d32", "rgb(255, 255, 255)"), 2)
    (21.0, 5.13)
    """
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
