"""explain.counterfactual_flip against a plain pandas + scikit-learn recomputation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from cxaudit.cli import cli

POLICY = """\
cxaudit: 1
system: {{name: cf-test, intervention: assistive}}
data:
  label: y
  protected: [sex]
  features: {features}
checks:
  - id: flips
    type: explain.counterfactual_flip
    max_flip_share: 0.05
{extra}
"""


def _setup(tmp_path: Path, features: list[str], extra: str = "") -> tuple[pd.DataFrame, object]:
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"sex": rng.integers(0, 2, n), "x": rng.normal(size=n),
                          "partner": rng.integers(0, 2, n)})
    frame["partner"] = np.where(rng.random(n) < 0.8, frame["sex"], frame["partner"])
    logit = 1.5 * frame["sex"] + frame["x"] + 0.8 * frame["partner"] - 1.2
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = LogisticRegression().fit(frame[features], frame["y"])
    dump(model, tmp_path / "m.skops")
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY.format(features=json.dumps(features), extra=extra))
    return frame, model


def _audit(tmp_path: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["audit", "--policy", str(tmp_path / "p.yaml"), "--data",
                                      str(tmp_path / "d.csv"), "--model",
                                      str(tmp_path / "m.skops"), "--out", str(tmp_path / "o")])
    return result.exit_code, json.loads((tmp_path / "o" / "audit.json").read_text())["checks"][0]


def test_flip_shares_match_pandas_and_sklearn(tmp_path):
    features = ["sex", "x", "partner"]
    frame, model = _setup(tmp_path, features, "    proxies: {sex: [partner]}\n")
    code, check = _audit(tmp_path)
    assert check["status"] == "fail" and code == 1
    before = model.predict_proba(frame[features])[:, 1] >= 0.5
    for group in (0, 1):
        mask = frame["sex"] == group
        other = frame.loc[~mask]
        changed = frame[features].copy()
        changed.loc[mask, "sex"] = other["sex"].mode()[0]
        changed.loc[mask, "partner"] = other["partner"].mode()[0]
        after = model.predict_proba(changed)[:, 1] >= 0.5
        k, n = int((before != after)[mask].sum()), int(mask.sum())
        row = next(r for r in check["details"]["groups"] if r["group"] == str(group))
        assert (row["flips"], row["n"]) == (k, n)
        # Clopper-Pearson from the beta distribution (independent of binomtest)
        low = stats.beta.ppf(0.025, k, n - k + 1) if k else 0.0
        high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
        assert row["ci"] == pytest.approx([low, high], abs=1e-9)


def test_not_applicable_when_attribute_not_an_input_and_no_proxy(tmp_path):
    _setup(tmp_path, ["x", "partner"])
    code, check = _audit(tmp_path)
    assert check["status"] == "not_applicable" and code == 0
    assert "sex is not a model input" in check["summary"]


def test_proxy_only_when_attribute_not_an_input(tmp_path):
    _setup(tmp_path, ["x", "partner"], "    proxies: {sex: [partner]}\n")
    _, check = _audit(tmp_path)
    assert check["details"]["changed_columns"] == {"sex": ["partner"]}
    assert check["status"] in {"pass", "fail"}
