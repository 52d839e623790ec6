"""Synthetic customers, the test policy and names shared by the MLflow tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["tenure", "monthly", "segment_code"]
MODEL_NAME = "churn-synth"
TREE_TYPES = ["sklearn.tree._tree.Tree"]
POLICY = """\
cxaudit: 1
system:
  name: churn-synth
  model_type: churn
data:
  label: churn
  positive: "Yes"
  protected: [gender]
checks:
  - id: offer-rate-parity
    type: bias.selection_rate
    compare: ratio
    threshold: {min: 0.8}
    severity: block
"""


def synthetic_customers(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Customers whose churn depends on tenure and price, not on gender.

    ``segment_code`` is a proxy of gender (90 % of women have 1, 10 % of men):
    a model that leans on it treats women and men differently.
    """
    rng = np.random.default_rng(seed)
    gender = rng.choice(["Female", "Male"], size=n)
    segment = np.where(gender == "Female", rng.random(n) < 0.9, rng.random(n) < 0.1).astype(float)
    tenure = rng.uniform(0, 72, n).round(0)
    monthly = rng.uniform(20, 120, n).round(2)
    logit = -1.0 + 0.03 * (monthly - 70) - 0.06 * (tenure - 24)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"customer": [f"C{i:05d}" for i in range(n)], "gender": gender,
                         "tenure": tenure, "monthly": monthly, "segment_code": segment,
                         "churn": np.where(churn, "Yes", "No")})
