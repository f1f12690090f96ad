"""WCAG 2.x contrast ratio of two colours, for tests that check what a reader sees."""

from __future__ import annotations

import re


def rgba(colour: str) -> tuple[float, float, float, float]:
    """``#rrggbb`` or CSS ``rgb(r, g, b)`` / ``rgba(r, g, b, a)`` → (r, g, b, a).

    >>> rgba("#2e7d32"), rgba("rgba(0, 0, 0, 0.88)")
    ((46.0, 125.0, 50.0, 1.0), (0.0, 0.0, 0.0, 0.88))
    """
    if colour.startswith("#") and len(colour) == 7:
        return float(int(colour[1:3], 16)), float(int(colour[3:5], 16)), float(int(colour[5:7], 16)), 1.0
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", colour.strip())
    if match is None:
        raise ValueError(f"not a colour: {colour!r}")
    return float(match[1]), float(match[2]), float(match[3]), float(match[4] or 1)


def rgb(colour: str) -> tuple[int, int, int]:
    """An opaque colour as (r, g, b).

    >>> rgb("#2e7d32"), rgb("rgb(46, 125, 50)")
    ((46, 125, 50), (46, 125, 50))
    """
    r, g, b, alpha = rgba(colour)
    if alpha != 1:
        raise ValueError(f"not an opaque colour: {colour!r}")
    return int(r), int(g), int(b)


def _luminance(r: float, g: float, b: float) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """The contrast ratio (1–21) of text in ``foreground`` (drawn over the opaque
    ``background`` when translucent); WCAG AA asks at least 4.5.

    >>> round(contrast_ratio("#000000", "#ffffff"), 1), round(contrast_ratio("#2e7d32", "rgb(255, 255, 255)"), 2)
    (21.0, 5.13)
    >>> round(contrast_ratio("rgba(0, 0, 0, 0.88)", "#ffffff"), 1)
    16.6
    """
    back = rgb(background)
    *front, alpha = rgba(foreground)
    seen = [alpha * f + (1 - alpha) * b for f, b in zip(front, back)]
    light, dark = sorted((_luminance(*seen), _luminance(*back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
