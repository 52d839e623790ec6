"""A small synthetic audit with a planted selection-rate gap, for the remedies CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

POLICY = """\
cxaudit: 1
system: {{name: s, model_type: churn, intervention: assistive}}
data: {{id: id, label: outcome, positive: "yes", protected: [gender], features: [x1, x2]}}
checks:
{checks}"""
PARITY = ("  - {id: parity, type: bias.selection_rate, compare: ratio, threshold: {min: 0.8}, "
          "min_group_size: 30, severity: block}\n")


def make_rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["F", "M"], n)
    x1 = rng.normal(size=n) + (g == "M") * 1.0
    x2 = rng.normal(size=n)
    y = rng.random(n) < 1 / (1 + np.exp(-(x1 + 0.5 * x2 - 0.5)))
    return pd.DataFrame({"id": [f"c{seed}-{i}" for i in range(n)], "gender": g, "x1": x1,
                         "x2": x2, "outcome": np.where(y, "yes", "no")})


def write_case(folder: Path, checks: str = PARITY, estimator=None) -> Path:
    """policy.yaml, data.csv, ref.csv and model.skops under ``folder``."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ref, data = make_rows(1500, 1), make_rows(800, 2)
    model = estimator if estimator is not None else make_pipeline(StandardScaler(),
                                                                   LogisticRegression())
    model.fit(ref[["x1", "x2"]], ref["outcome"])
    sio.dump(model, folder / "model.skops")
    ref.to_csv(folder / "ref.csv", index=False)
    data.to_csv(folder / "data.csv", index=False)
    (folder / "policy.yaml").write_text(POLICY.format(checks=checks), "utf-8")
    return folder


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return write_case(tmp_path)
