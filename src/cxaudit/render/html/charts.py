"""Inline SVG charts: no scripts, no fonts to fetch, text alternatives included.

``ratio_chart`` draws every bias check of one attribute on one shared log-ratio
axis (fixed from ¼× to 4×, so charts compare across attributes and audits): the
pass band of each row shaded, the reference as a dashed line at 1×, the
interval as a whisker and the estimate as a mark. Values are oriented so that
left of 1× is worse for the group. Groups without enough data are written as
text with their n and never drawn. ``importance_chart`` draws feature
importance with protected attributes and proxies marked.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

COLOURS = {"pass": "#1a7f37", "block": "#b42318", "warn": "#8a5a00", "inconc": "#6e40c9",
           "error": "#6e40c9", "info": "#445566", "waived": "#445566", "na": "#57606a",
           "none": "#57606a", "other": "#57606a"}
LOW, HIGH = 0.25, 4.0
TICKS = (0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0)
ROW = 18
LABEL_W, PLOT_W, VALUE_W = 250, 430, 300
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12"'


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _x(ratio: float) -> float:
    clipped = min(max(ratio, LOW), HIGH)
    return LABEL_W + (math.log(clipped) - math.log(LOW)) / (math.log(HIGH) - math.log(LOW)) * PLOT_W


def _oriented(value: Any, ref: Any, higher_is_better: bool) -> float | None:
    if not (_finite(value) and _finite(ref)):
        return None
    return value / ref if higher_is_better else ref / value


def _geometry(cell: dict[str, Any], column: dict[str, Any]) -> dict[str, Any] | None:
    """Point, interval and pass band on the oriented ratio scale (None: nothing to draw)."""
    row = cell["row"]
    thr = column["threshold_raw"]
    if column["compare"] == "ratio":
        point = row.get("comparison")
        ci = row.get("comparison_ci") or (None, None)
        band = (thr.get("min", LOW), thr.get("max", HIGH))
    else:
        ref = cell.get("ref_value")
        hib = column["higher_is_better"]
        point = _oriented(row.get("value"), ref, hib)
        vci = row.get("value_ci") or (None, None)
        ci = tuple(sorted((_oriented(vci[0], ref, hib) or 0, _oriented(vci[1], ref, hib) or 0)))
        gap = thr.get("max")
        band = (LOW, HIGH)
        if _finite(ref) and gap is not None:
            lo, hi = (ref - gap) / ref, (ref + gap) / ref
            band = (lo, hi) if hib else (ref / (ref + gap), ref / (ref - gap) if ref > gap else HIGH)
    if not _finite(point):
        return None
    return {"point": point, "ci": ci if all(_finite(v) for v in ci) else None,
            "band": (max(band[0], LOW) if _finite(band[0]) else LOW,
                     min(band[1], HIGH) if _finite(band[1]) else HIGH)}


def ratio_chart(block: dict[str, Any]) -> tuple[Markup, str]:
    """The attribute's chart and its one-paragraph text alternative."""
    lines: list[tuple[str, Any]] = []
    for column in block["columns"]:
        rows = [(g, g["cells"].get(column["id"])) for g in block["groups"]]
        rows = [(g, c) for g, c in rows if c and c["state"] != "reference"]
        if rows:
            lines.append(("head", column))
            lines.extend(("row", (column, g, c)) for g, c in rows)
    height = ROW * len(lines) + 44
    width = LABEL_W + PLOT_W + VALUE_W
    out = [f'<svg class="chart ratio-chart" data-chart="{escape(block["id"])}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{block["id"]}-t" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>',
           f'<title id="{block["id"]}-t">Every fairness metric for {escape(block["key"])} on one '
           f"log-ratio axis against the reference group</title>"]
    bottom = height - 34
    for tick in TICKS:
        tx = _x(tick)
        out.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{bottom}" stroke="#d0d7de"/>'
                   f'<text x="{tx:.1f}" y="{bottom + 13}" text-anchor="middle" fill="#444">'
                   f"{tick:g}×</text>")
    ref_x = _x(1.0)
    out.append(f'<line class="reference" x1="{ref_x:.1f}" y1="0" x2="{ref_x:.1f}" y2="{bottom}" '
               'stroke="#1f2328" stroke-dasharray="4 3" stroke-width="1.4"/>')
    out.append(f'<text x="{LABEL_W}" y="{bottom + 28}" fill="#444">← worse for the group</text>'
               f'<text x="{ref_x:.1f}" y="{bottom + 28}" text-anchor="middle" fill="#444">'
               f"reference (1×)</text>"
               f'<text x="{LABEL_W + PLOT_W}" y="{bottom + 28}" text-anchor="end" fill="#444">'
               "better for the group →</text>")
    alt: list[str] = []
    for i, (kind, item) in enumerate(lines):
        y = i * ROW
        if kind == "head":
            out.append(f'<text x="4" y="{y + 13}" font-weight="bold">'
                       f'{escape(item["label"])} · {escape(item["threshold"])}</text>')
            continue
        column, group, cell = item
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 13}" text-anchor="end">'
                   f'{escape(_short(group["label"]))}</text>')
        tone = cell["tone"]
        geo = (None if cell["state"] in ("insufficient", "excluded")
               else _geometry(cell, column))
        if geo is None:
            reason = cell["main"] if cell["state"] else "not measurable"
            out.append(f'<text class="insufficient" x="{LABEL_W + 6}" y="{y + 13}" '
                       f'font-style="italic" fill="#444">{escape(reason)} — not drawn</text>')
            alt.append(f"{column['label']}, {group['label']}: {reason}")
            continue
        lo, hi = _x(geo["band"][0]), _x(geo["band"][1])
        out.append(f'<rect class="band" x="{lo:.1f}" y="{y + 2}" width="{max(hi - lo, 1):.1f}" '
                   f'height="{ROW - 4}" fill="#1a7f37" fill-opacity="0.10"/>')
        colour = COLOURS.get(tone.key, "#57606a")
        mid = y + ROW / 2
        if geo["ci"]:
            a, b = _x(geo["ci"][0]), _x(geo["ci"][1])
            out.append(f'<path class="whisker" d="M{a:.1f},{mid:.1f}H{b:.1f}M{a:.1f},{mid - 4:.1f}'
                       f'V{mid + 4:.1f}M{b:.1f},{mid - 4:.1f}V{mid + 4:.1f}" stroke="{colour}" '
                       'stroke-width="1.4" fill="none"/>')
        px = _x(geo["point"])
        out.append(f'<circle class="mark" cx="{px:.1f}" cy="{mid:.1f}" r="4.5" fill="{colour}">'
                   f'<title>{escape(group["label"])}: {geo["point"]:.3g}×</title></circle>')
        clip = " (off scale)" if not LOW <= geo["point"] <= HIGH else ""
        text = f'{tone.glyph} {tone.word.lower()} · {cell["main"]}{clip}'
        out.append(f'<text x="{LABEL_W + PLOT_W + 8}" y="{y + 13}" fill="{colour}">'
                   f"{escape(_short(text, 44))}</text>")
        alt.append(f"{column['label']}, {group['label']}: {cell['main']}, {tone.word.lower()}")
    out.insert(2, f"<desc>{escape('; '.join(alt))}</desc>")
    out.append("</svg>")
    return Markup("".join(out)), "; ".join(alt)


def importance_chart(features: list[dict[str, Any]], *, chart_id: str = "importance") -> Markup:
    """Mean |SHAP| per feature, protected attributes and proxies marked (★ / ◆)."""
    top = max([f["importance"] for f in features if _finite(f["importance"])] or [1.0])
    height = ROW * len(features) + 8
    width = LABEL_W + PLOT_W + VALUE_W
    out = [f'<svg class="chart importance-chart" data-chart="{chart_id}" '
           f'xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{chart_id}-t" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT}>',
           f'<title id="{chart_id}-t">Global feature importance (mean absolute SHAP), '
           "protected attributes and proxies marked</title>"]
    for i, feature in enumerate(features):
        y = i * ROW + 2
        mark = "★ " if feature["protected"] else ("◆ " if feature["proxy"] else "")
        weight = ' font-weight="bold"' if mark else ""
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 12}" text-anchor="end"{weight}>'
                   f'{escape(mark + feature["feature"])}</text>')
        value = feature["importance"] if _finite(feature["importance"]) else 0.0
        w = value / top * PLOT_W
        colour = "#b42318" if feature["protected"] else ("#8a5a00" if feature["proxy"] else "#3b6ea8")
        out.append(f'<rect class="imp" x="{LABEL_W}" y="{y + 2}" width="{max(w, 1):.1f}" '
                   f'height="{ROW - 6}" fill="{colour}"/>')
        note = f" · {feature['note']}" if feature.get("note") else ""
        out.append(f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 12}">'
                   f'{value:.3g}{escape(note)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _short(label: str, limit: int = 36) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
