"""Decisions that are not decisions are refused on every engine (issue 15).

A text or out-of-range score, a NaN probability, a positive value that does not occur
and a third label class are input errors on the local, Arrow and Spark engines alike;
rows within ``data.max_invalid_decisions`` are left out, and every engine then counts
the same rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from parity_helpers import generated_customers, write_parquet

from cxaudit.errors import DataError
from cxaudit.loaders.model import from_estimator
from cxaudit.policy.loader import load_policy
from cxaudit.runner import audit_loaded

POLICY = """\
cxaudit: 1
system: {{name: decisions}}
data:
  label: churn
  positive: "Yes"
{data}
  protected: [region]
checks:
  - {{id: parity, type: bias.selection_rate}}
"""


def nan_model():
    """A logistic regression whose coefficients are NaN: every probability is NaN
    (scikit-learn, so that Spark's executors can unpickle it)."""
    from sklearn.linear_model import LogisticRegression

    frame = generated_customers(200)
    model = LogisticRegression().fit(frame[["senior"]], frame["churn"])
    model.coef_ = np.full_like(model.coef_, np.nan)
    return model


def _frame():
    frame = generated_customers(600)
    frame["score"] = np.round(np.linspace(0.01, 0.99, len(frame)), 3).astype(object)
    return frame


def test_bad_scores_labels_and_probabilities_are_refused(engine, tmp_path, write):
    frame = _frame()
    frame.loc[[3, 40, 41], "score"] = "pending"
    frame.loc[7, "score"] = 1.5
    path = write_parquet(frame.astype({"score": str}), tmp_path / "c.parquet")
    data = engine.read_table(path)
    policy = load_policy(write("p.yaml", POLICY.format(data="  score: score")))
    with pytest.raises(DataError, match=r"column 'score': 3 row\(s\) hold a score that is not "
                                        r"a finite number") as caught:
        audit_loaded(policy, data, engine=engine)
    assert "outside [0, 1]" in caught.value.message and "'pending'" in caught.value.message

    third = _frame()
    third.loc[[1, 2], "churn"] = "Unknown"
    policy = load_policy(write("p2.yaml", POLICY.format(data="  score: score")))
    with pytest.raises(DataError, match="3 distinct values"):
        audit_loaded(policy, engine.read_table(write_parquet(third, tmp_path / "t.parquet")),
                     engine=engine)

    policy = load_policy(write("p3.yaml", POLICY.format(data="  features: [senior]")))
    model = from_estimator(nan_model(), source="nan-model")
    with pytest.raises(DataError, match=r"model nan-model: column 'predict_proba': 600 row\(s\) "
                                        "have a probability that is not a finite number"):
        audit_loaded(policy, engine.read_table(write_parquet(_frame(), tmp_path / "m.parquet")),
                     engine=engine, model=model)


def test_tolerated_rows_are_left_out_alike(engine, tmp_path, write):
    frame = _frame()
    frame.loc[[3, 40, 41], "score"] = "pending"
    path = write_parquet(frame.astype({"score": str}), tmp_path / "c.parquet")
    policy = load_policy(write("p.yaml", POLICY.format(
        data="  score: score\n  max_invalid_decisions: 3")))
    check = audit_loaded(policy, engine.read_table(path), engine=engine).checks[0]
    assert check.status.value != "error", check.error
    counted = {m.group.get("region", "all"): m.n for m in check.metrics
               if m.name == "selection_rate"}
    kept = frame.drop(index=[3, 40, 41])
    selected = np.asarray(kept["score"], dtype=float) >= 0.5
    assert counted == {"all": 597, **kept.groupby("region").size().to_dict()}
    overall = next(m for m in check.metrics if m.name == "selection_rate" and not m.group)
    assert overall.value == pytest.approx(selected.mean())
