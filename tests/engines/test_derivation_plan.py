"""The derivation plan (issue 17): one list of steps built from the policy, compiled by
the local, Arrow and Spark context builders; the same steps give the same columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.context import build_context
from cxaudit.engines.derive import (
    AT_LEAST,
    DECISION,
    GROUP,
    LABEL,
    NUMBER,
    POSITIVE,
    PREDICT,
    SCORE,
    Derive,
    derivation_plan,
    group_column,
)
from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy

POLICY = """\
cxaudit: 1
system: {{name: plan}}
data:
{data}
  protected: [region, sex]
  intersections: [[region, sex]]
checks:
  - {{id: parity, type: bias.selection_rate}}
"""


def _policy(write, data: str, name: str = "p.yaml"):
    return load_policy(write(name, POLICY.format(data=data)))


def test_score_decides_against_the_threshold(write):
    plan = derivation_plan(_policy(write, "  label: churn\n  positive: 'Yes'\n  score: s\n"
                                          "  decision_threshold: 0.4"), model=False)
    assert [(s.name, s.op, s.inputs) for s in plan.steps] == [
        (LABEL, POSITIVE, ("churn",)), (SCORE, NUMBER, ("s",)), (DECISION, AT_LEAST, (SCORE,)),
        (group_column("region"), GROUP, ("region",)), (group_column("sex"), GROUP, ("sex",))]
    assert plan.label.params["declared"] == "Yes" and plan.label.params["missing"] == "refuse"
    assert plan.score.params["decides"] and plan.score.params["bounds"] == (0.0, 1.0)
    assert plan.decision.params["threshold"] == 0.4
    assert plan.protected == ("region", "sex")


def test_a_prediction_column_is_the_decision(write):
    plan = derivation_plan(_policy(write, "  prediction: offer\n  positive: 1\n  score: s\n"
                                          "  score_range: [300, 850]\n  decision_threshold: 600"), model=True)
    assert plan.label is None
    assert (plan.decision.op, plan.decision.inputs) == (POSITIVE, ("offer",))
    assert plan.decision.params["missing"] == "invalid"
    assert not plan.score.params["decides"] and plan.score.params["bounds"] == (300, 850)


def test_a_model_decides_and_fills_the_score(write):
    plan = derivation_plan(_policy(write, "  label: churn\n  positive: 'Yes'"), model=True)
    assert plan.score is None and plan.decision.op == PREDICT
    assert plan.decision.params["positive_from"] == LABEL
    assert plan.decision.params["scores_to"] == SCORE
    with_score = derivation_plan(_policy(write, "  score: s", "q.yaml"), model=True)
    assert with_score.decision.params["scores_to"] is None
    assert with_score.decision.params["positive_from"] is None
    assert with_score.decision.params["declared"] == 1
    assert not with_score.score.params["decides"] and with_score.score.params["bounds"] is None


def test_steps_are_frozen_and_checked():
    step = Derive(SCORE, NUMBER, ("s",), {"bounds": None})
    with pytest.raises(TypeError):
        step.params["bounds"] = (0, 1)  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown derivation"):
        Derive(SCORE, "sqrt", ("s",))


def _frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "churn": rng.choice(["Yes", "No"], rows),
        "s": np.round(rng.random(rows), 3),
        "offer": rng.choice(["Yes", "No"], rows).astype(object),
        "region": rng.choice(["north", " south ", "", None], rows),
        "sex": rng.choice([1, 2], rows),
        "tenure": rng.integers(0, 60, rows),
    })
    frame.loc[[5, 9], "s"] = np.nan  # two rows without a score: left out (tolerance 2)
    frame.loc[[11], "offer"] = None
    return frame


@pytest.mark.parametrize("data", [
    "  label: churn\n  positive: 'Yes'\n  score: s\n  max_invalid_decisions: 2",
    "  label: churn\n  positive: 'Yes'\n  prediction: offer\n  max_invalid_decisions: 1",
    "  label: churn\n  positive: 'Yes'\n  features: [tenure]",
])
def test_arrow_compiles_the_plan_as_the_local_engine_does(write, tmp_path, data):
    pytest.importorskip("pyarrow")
    from sklearn.linear_model import LogisticRegression

    from cxaudit.engines.arrow_stream import ArrowStreamEngine
    from cxaudit.loaders.model import from_estimator

    frame = _frame()
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    policy = _policy(write, data)
    model = None
    if "features" in data:
        estimator = LogisticRegression().fit(frame[["tenure"]], frame["churn"])
        model = from_estimator(estimator, source="m")
    local_engine = LocalEngine()
    local = build_context(policy, local_engine.read_table(path), local_engine, model=model)
    arrow_engine = ArrowStreamEngine()
    arrow = build_context(policy, arrow_engine.read_table(path), arrow_engine, model=model)
    assert (arrow.has_label, arrow.has_decision, arrow.has_score, arrow.notes) == \
        (local.has_label, local.has_decision, local.has_score, local.notes)
    derived = [s.name for s in derivation_plan(policy, model=model is not None).steps]
    if model is not None:
        derived.append(SCORE)
    got = arrow_engine.to_pandas(arrow.frame, derived)
    for name in derived:
        want = pd.Series(np.asarray(local.frame[name]))
        have = pd.Series(np.asarray(got[name]))
        if name == SCORE:
            np.testing.assert_array_equal(have.to_numpy(float), want.to_numpy(float))
        else:
            assert have.astype(str).tolist() == want.astype(str).tolist(), name
