"""Inline SVG charts for the HTML report: no scripts, no external resources.

A chart is a list of horizontal bars (one per group or feature) with optional
interval whiskers and a threshold line, so it prints, opens offline and
survives being sent as an email attachment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "warn": "#9a6700",
           "insufficient_data": "#8c959f", "inconclusive": "#bc4c00",
           "not_applicable": "#afb8c1", "error": "#8250df", "": "#57606a"}
ROW = 22
LABEL_WIDTH = 230
PLOT_WIDTH = 380
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value, an optional interval and a status colour."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    status: str = ""


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def bar_chart(bars: list[Bar], *, title: str, threshold: float | None = None,
              threshold_label: str = "") -> Markup:
    """Render bars as an accessible inline SVG (``role=img`` with a title)."""
    values = [v for b in bars for v in (b.value, b.low, b.high) if _finite(v)]
    if threshold is not None and math.isfinite(threshold):
        values.append(threshold)
    top = max([*values, 0.0]) or 1.0
    bottom = min([*values, 0.0])
    span = (top - bottom) * 1.08 or 1.0

    def x(v: float) -> float:
        return LABEL_WIDTH + (v - bottom) / span * PLOT_WIDTH

    height = ROW * len(bars) + 28
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    zero = x(0.0)
    parts.append(f'<line x1="{zero:.1f}" y1="4" x2="{zero:.1f}" y2="{height - 22}" '
                 'stroke="#d0d7de"/>')
    for i, bar in enumerate(bars):
        y = 6 + i * ROW
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 12}" text-anchor="end">'
                     f"{escape(_shorten(bar.label))}</text>")
        colour = COLOURS.get(bar.status, COLOURS[""])
        if _finite(bar.value):
            left, right = sorted((zero, x(bar.value)))  # type: ignore[arg-type]
            parts.append(f'<rect class="bar" x="{left:.1f}" y="{y + 2}" width="{max(right - left, 1):.1f}" '
                         f'height="{ROW - 8}" fill="{colour}" fill-opacity="0.85">'
                         f"<title>{escape(bar.label)}: {bar.value:.4g}</title></rect>")
            text = f"{bar.value:.3g}"
        else:
            text = "n/a"
        if _finite(bar.low) and _finite(bar.high):
            lo, hi = x(bar.low), x(bar.high)  # type: ignore[arg-type]
            mid = y + ROW / 2 - 1
            parts.append(f'<path class="whisker" d="M{lo:.1f},{mid:.1f}H{hi:.1f}M{lo:.1f},{mid - 4:.1f}'
                         f'V{mid + 4:.1f}M{hi:.1f},{mid - 4:.1f}V{mid + 4:.1f}" stroke="#1f2328" '
                         'stroke-width="1.3" fill="none"/>')
        parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{y + 12}">{escape(text)}</text>')
    if threshold is not None and math.isfinite(threshold):
        tx = x(threshold)
        parts.append(f'<line class="threshold" x1="{tx:.1f}" y1="2" x2="{tx:.1f}" '
                     f'y2="{height - 20}" stroke="#1f2328" stroke-dasharray="4 3" stroke-width="1.5"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="middle">'
                     f"{escape(threshold_label or f'threshold {threshold:g}')}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _shorten(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
