"""Generated customer tables and whole-audit comparison for the parity tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

TOLERANCE = 1e-9
TIMINGS = {"seconds"}


def generated_customers(rows: int = 6000, seed: int = 11) -> pd.DataFrame:
    """Customers with every awkward case: missing and blank groups, NaN, booleans, text labels."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(np.array(["Female", "Male", "\u00a0Female\t", "Nonbinary"], dtype=object), rows,
                        p=[0.45, 0.45, 0.02, 0.08])
    gender[rng.random(rows) < 0.03] = None
    gender[rng.random(rows) < 0.01] = "  "
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), rows)
    senior = rng.random(rows) < 0.2
    household = rng.integers(1, 4, rows).astype(float)  # integers with gaps: read as float
    household[rng.random(rows) < 0.02] = np.nan
    tenure = rng.integers(0, 72, rows).astype(float)
    tenure[rng.random(rows) < 0.05] = np.nan
    charges = np.round(rng.uniform(18, 120, rows), 2)
    charges[rng.random(rows) < 0.04] = np.nan
    score = np.clip(rng.beta(2, 5, rows) + 0.1 * senior + 0.05 * (region == "east"), 0, 1)
    churn = np.where(rng.random(rows) < score, "Yes", "No")
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(rows)],
        "gender": pd.Series(gender, dtype=object),
        "region": region,
        "senior": senior,
        "household": household,
        "tenure": tenure,
        "monthly_charges": charges,
        "churn": churn,
        "score": score,
        "offer": (score >= 0.3).astype(np.int64),
    })


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as Parquet (several row groups, so scans see several batches)."""
    frame.to_parquet(path, index=False, row_group_size=1500)
    return path


def _close(a, b, skip: frozenset = frozenset()) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, dict):  # wall-clock timings ("seconds") are not results
        if not isinstance(b, dict):
            return False
        keys = (a.keys() | b.keys()) - TIMINGS - skip
        return all(k in a and k in b and _close(a[k], b[k], skip) for k in keys)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, skip) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE) or a == b


def assert_same_audit(expected, actual, skip_details: frozenset = frozenset()) -> int:
    """Every check and metric of two AuditResults agrees (values to 1e-9); returns #metrics.

    ``skip_details`` names detail keys an engine cannot produce (compared nowhere).
    """
    assert expected.verdict == actual.verdict
    assert [c.id for c in expected.checks] == [c.id for c in actual.checks]
    compared = 0
    for want, got in zip(expected.checks, actual.checks, strict=True):
        where = f"check {want.id}"
        assert (want.status, want.error) == (got.status, got.error), where
        assert want.summary == got.summary, where
        assert len(want.metrics) == len(got.metrics), where
        for m, n in zip(want.metrics, got.metrics, strict=True):
            label = f"{where}: {m.name} {m.group}"
            assert (m.name, m.group, m.n, m.status, m.threshold, m.note) == (
                n.name, n.group, n.n, n.status, n.threshold, n.note), label
            assert _close(m.value, n.value), f"{label}: {m.value} != {n.value}"
            assert _close(m.ci, n.ci), f"{label}: ci {m.ci} != {n.ci}"
            assert _close(m.p_value, n.p_value), f"{label}: p {m.p_value} != {n.p_value}"
            compared += 1
        assert _close(want.details, got.details, skip_details), \
            f"{where}: details {_first_difference(want.details, got.details, skip=skip_details)}"
    return compared


def _first_difference(a, b, path: str = "", skip: frozenset = frozenset()) -> str:
    """Where two nested structures first differ (for assertion messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted((a.keys() | b.keys()) - TIMINGS - skip):
            if key not in a or key not in b or not _close(a[key], b[key], skip):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}", skip)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if not _close(x, y, skip):
                return _first_difference(x, y, f"{path}[{index}]", skip)
    return f"{path}: {a!r} != {b!r}"
