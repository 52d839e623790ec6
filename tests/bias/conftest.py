"""Helpers for the bias tests: run checks through the real runner on small frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.result import AuditResult
from cxaudit.runner import audit_loaded

TELCO = Path(__file__).resolve().parents[2] / "src" / "cxaudit" / "demo" / "data" / \
    "telco-customer-churn.csv"


def audit_frame(tmp_path: Path, frame: pd.DataFrame, checks: list[dict[str, Any]], *,
                protected: list[str], intersections: list[list[str]] | None = None,
                intervention: str = "assistive", label: str | None = "y",
                prediction: str | None = "d", score: str | None = None, seed: int = 0,
                name: str = "policy.yaml") -> AuditResult:
    """Write a policy for ``frame`` and run the audit through ``audit_loaded``."""
    data: dict[str, Any] = {"protected": protected, "intersections": intersections or []}
    for key, value in (("label", label), ("prediction", prediction), ("score", score)):
        if value:
            data[key] = value
    policy = {"cxaudit": 1, "system": {"name": "test", "intervention": intervention},
              "data": data, "checks": checks}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return audit_loaded(load_policy(path), frame, engine=LocalEngine(), seed=seed)


def cells_frame(cells: dict[str, list[int]], attribute: str = "g") -> pd.DataFrame:
    """Rows from confusion cells per group: {group: [TN, FP, FN, TP]}."""
    rows = []
    for group, (tn, fp, fn, tp) in cells.items():
        for (y, d), count in (((0, 0), tn), ((0, 1), fp), ((1, 0), fn), ((1, 1), tp)):
            rows += [{attribute: group, "y": y, "d": d}] * count
    return pd.DataFrame(rows, columns=[attribute, "y", "d"])


def metric(result, name: str, group: dict[str, str] | None = None):
    """The metric called ``name`` for ``group`` (overall when None)."""
    want = group or {}
    found = [m for m in result.metrics if m.name == name and m.group == want]
    assert len(found) == 1, (name, want, [(m.name, m.group) for m in result.metrics])
    return found[0]


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    """The public Telco churn data with a deterministic score and offer decision."""
    import numpy as np

    frame = pd.read_csv(TELCO)
    rng = np.random.default_rng(7)
    z = (-1.0 + 1.5 * (frame["Contract"] == "Month-to-month") - 0.03 * frame["tenure"]
         + 0.5 * frame["SeniorCitizen"] + rng.normal(0, 0.5, len(frame)))
    frame["score"] = 1.0 / (1.0 + np.exp(-z))
    frame["offer"] = (frame["score"] >= 0.5).astype(int)
    return frame
