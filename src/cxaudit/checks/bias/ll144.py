"""NYC Local Law 144 style impact-ratio tables (selection and scoring rates)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cxaudit.checks.bias.compare import group_label
from cxaudit.checks.bias.values import GroupValues
from cxaudit.context import UNKNOWN_GROUP


def impact_table(gv: GroupValues, *, exclude_under: float | None) -> dict[str, Any]:
    """Per category: rows, selected, rate, impact ratio against the highest-rate category.

    The unknown category and, when ``exclude_under`` is set, categories under
    that share of rows are left out of the impact-ratio calculation; their
    counts are still listed. Impact ratios are always against the *highest*
    rate, as LL144 defines them, whatever the check's own reference.
    """
    total = max(gv.overall_n, 1)
    unknown = np.array([UNKNOWN_GROUP in k for k in gv.keys], dtype=bool)
    share = gv.n / total
    excluded = (share < exclude_under) if exclude_under else np.zeros(len(gv.keys), dtype=bool)
    usable = ~unknown & ~excluded & np.isfinite(gv.value)
    top = float(np.max(gv.value[usable])) if usable.any() else float("nan")
    rows = []
    for i, key in enumerate(gv.keys):
        rate = float(gv.value[i]) if np.isfinite(gv.value[i]) else None
        ratio = (rate / top if usable[i] and rate is not None and top > 0 else None)
        rows.append({
            "category": group_label(gv.attributes, key),
            "group": dict(zip(gv.attributes, key, strict=True)), "rows": int(gv.n[i]),
            "selected": int(gv.successes[i]) if gv.successes is not None else None,
            "rate": rate, "share": float(share[i]), "impact_ratio": ratio,
            "excluded": bool(excluded[i]), "unknown": bool(unknown[i])})
    return {"attributes": list(gv.attributes), "categories": rows,
            "unknown_rows": int(gv.n[unknown].sum()), "highest_rate": None if np.isnan(top) else top,
            "exclude_under": exclude_under}
