"""The report's text colours meet WCAG 2.x AA contrast (4.5:1 for normal text) on every
background they are drawn on, read from the stylesheet the report ships."""

from __future__ import annotations

import re

import pytest

from cxaudit.resources import data_dir


def _palette() -> dict[str, str]:
    css = (data_dir("reports") / "_style.css.j2").read_text(encoding="utf-8")
    return dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", css))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio of two sRGB colours."""
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_the_known_extremes():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # a known near-miss


# (text colour, background) pairs as the stylesheet draws them: status words and glyphs on
# white and on their tinted verdict/tag backgrounds, white text on solid tags, muted text.
PAIRS = [
    ("ink", "#ffffff"), ("ink", "bg"), ("muted", "#ffffff"), ("muted", "bg"),
    ("#ffffff", "block"), ("#ffffff", "error"), ("#ffffff", "pass"),
    ("block", "#ffffff"), ("block", "#fdf0ef"), ("warn", "#ffffff"), ("warn", "#fff6dd"),
    ("warn", "#fff8e6"), ("pass", "#ffffff"), ("pass", "#eef8f0"), ("inconc", "#ffffff"),
    ("inconc", "#f3efff"), ("error", "#f5f0ff"), ("info", "#ffffff"), ("info", "#eef1f4"),
    ("na", "#ffffff"), ("#0a58ca", "#ffffff"),
]


@pytest.mark.parametrize(("fg", "bg"), PAIRS, ids=[f"{f}-on-{b}" for f, b in PAIRS])
def test_text_meets_wcag_aa(fg: str, bg: str):
    palette = _palette()
    fg_hex, bg_hex = (palette.get(c, c) for c in (fg, bg))
    assert contrast(fg_hex, bg_hex) >= 4.5, f"{fg} ({fg_hex}) on {bg} ({bg_hex})"
