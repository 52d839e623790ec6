"""Every point estimate equals fairlearn's (MetricFrame on the raw rows) within 1e-12.

Random frames vary the number of rows, groups, attributes and class balance,
and include single-class groups (zero denominators) and categories declared in
the dtype with no rows. Where fairlearn/sklearn return 0 for an undefined
rate, cxaudit reports no value and ``insufficient_data`` instead.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score

from cxaudit.checks.bias.metrics import COUNT_METRICS

from .conftest import audit_frame


def _ppv(y, d, **kw):
    return precision_score(y, d, zero_division=np.nan, **kw)


#: fairlearn / sklearn functions on raw rows, and the confusion cells whose
#: emptiness makes the metric undefined.
REFERENCE = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "false_negative_rate": false_negative_rate,
    "true_negative_rate": true_negative_rate,
    "precision": _ppv,
    "false_discovery_rate": lambda y, d: 1.0 - _ppv(y, d),
    "negative_predictive_value": lambda y, d: _ppv(y, d, pos_label=0),
    "false_omission_rate": lambda y, d: 1.0 - _ppv(y, d, pos_label=0),
    "accuracy": accuracy_score,
    "error_rate": lambda y, d: 1.0 - accuracy_score(y, d),
}
SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def frames(draw):
    rows = draw(st.integers(1, 160))
    n_a = draw(st.integers(1, 4))
    n_b = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    p_y = draw(st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0]))
    a = rng.integers(0, n_a, rows)
    # Make some groups single-class: group 0 of `a` gets only negative labels.
    y = (rng.random(rows) < p_y).astype(int)
    if draw(st.booleans()):
        y[a == 0] = 0
    d = (rng.random(rows) < draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))).astype(int)
    frame = pd.DataFrame({
        # a category declared but never used: an empty group
        "a": pd.Categorical([f"a{i}" for i in a], categories=[f"a{i}" for i in range(n_a + 1)]),
        "b": [f"b{i}" for i in rng.integers(0, n_b, rows)],
        "y": y, "d": d, "score": np.round(rng.random(rows), 2)})
    attrs = draw(st.sampled_from([["a"], ["b"], ["a", "b"]]))
    return frame, attrs


def _by_group(frame: pd.DataFrame, metrics: dict, sensitive, y_pred: str = "d"
              ) -> dict[str, dict[tuple[str, ...], float]]:
    """fairlearn's MetricFrame per group: {metric: {group key: value}}."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's zero-division warnings on undefined groups
        mf = MetricFrame(metrics=metrics, y_true=frame["y"], y_pred=frame[y_pred],
                         sensitive_features=sensitive)
    out: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in metrics}
    for key, row in mf.by_group.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        for name in metrics:
            out[name][tuple(str(k) for k in key)] = float(row[name])
    return out


def _defined(frame: pd.DataFrame, metric: str, mask: np.ndarray) -> bool:
    spec = COUNT_METRICS[metric]
    cells = 2 * frame["y"].to_numpy()[mask] + frame["d"].to_numpy()[mask]
    return bool(np.isin(cells, spec.denominator).any())


@given(frames())
@SETTINGS
def test_count_metrics_equal_fairlearn_per_group_and_intersection(case):
    frame, attrs = case
    checks = [{"id": m, "type": f"bias.{m}", "n_boot": 0, "min_group_size": 1}
              for m in REFERENCE]
    with tempfile.TemporaryDirectory() as tmp:
        result = audit_frame(Path(tmp), frame, checks, protected=["a", "b"],
                             intersections=[["a", "b"]])
    by_id = {c.id: c for c in result.checks}
    sensitive = frame[attrs[0]] if len(attrs) == 1 else frame[attrs]
    reference = _by_group(frame, REFERENCE, sensitive)
    for name, fn in REFERENCE.items():
        check = by_id[name]
        assert check.status.value != "error", check.error
        expected = reference[name]
        ours = {tuple(m.group[a] for a in attrs): m for m in check.metrics
                if m.name == name and set(m.group) == set(attrs)}
        # cxaudit reports the groups that have rows. fairlearn also lists empty
        # intersections (every combination of observed values), all NaN.
        present = {tuple(str(v) for v in row) for row in frame[attrs].astype(str).to_numpy()}
        assert set(ours) == present <= set(expected)
        assert all(np.isnan(expected[k]) for k in set(expected) - present)
        for key in present:
            mask = np.all(frame[attrs].astype(str).to_numpy() == np.array(key), axis=1)
            if _defined(frame, name, mask):
                assert abs(ours[key].value - expected[key]) <= 1e-12, (name, key)
            else:
                assert ours[key].value is None
                comparison = [m for m in check.metrics if m.name.startswith(name + "_")
                              and m.group == ours[key].group]
                assert comparison[0].status.value == "insufficient_data"
        overall = [m for m in check.metrics if m.name == name and not m.group][0]
        if _defined(frame, name, np.ones(len(frame), bool)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert abs(overall.value - fn(frame["y"], frame["d"])) <= 1e-12


def _auc(y, p):
    return roc_auc_score(y, p) if len(np.unique(y)) == 2 else float("nan")


@given(frames())
@SETTINGS
def test_score_metrics_equal_fairlearn_metricframe_on_raw_rows(case):
    frame, attrs = case
    checks = [{"id": "auc", "type": "bias.auc", "n_boot": 0, "min_group_size": 1},
              {"id": "mean", "type": "bias.mean_score", "n_boot": 0, "min_group_size": 1},
              {"id": "scoring", "type": "bias.scoring_rate", "n_boot": 0, "min_group_size": 1},
              {"id": "median", "type": "bias.median_outcome", "outcome": "score", "n_boot": 0,
               "min_group_size": 1}]
    with tempfile.TemporaryDirectory() as tmp:
        result = audit_frame(Path(tmp), frame, checks, protected=["a", "b"],
                             intersections=[["a", "b"]], score="score")
    median = float(np.median(frame["score"]))
    reference = _by_group(frame, {
        "auc": _auc, "mean": lambda y, p: float(np.mean(p)),
        "median": lambda y, p: float(np.median(p)),
        "scoring": lambda y, p: float(np.mean(p > median))},
        frame[attrs[0]] if len(attrs) == 1 else frame[attrs], y_pred="score")
    names = {"auc": "auc", "mean": "mean_score", "scoring": "scoring_rate",
             "median": "median_outcome"}
    for check in result.checks:
        assert check.status.value != "error", check.error
        ours = {tuple(m.group[a] for a in attrs): m.value for m in check.metrics
                if m.name == names[check.id] and set(m.group) == set(attrs)}
        present = {tuple(str(v) for v in row) for row in frame[attrs].astype(str).to_numpy()}
        expected = {k: v for k, v in reference[check.id].items() if k in present}
        assert set(ours) == present
        for key, value in expected.items():
            if np.isnan(value):
                assert ours[key] is None and check.id == "auc"
            else:
                assert abs(ours[key] - value) <= 1e-12, (check.id, key)


def test_fairlearn_on_aggregated_cells_equals_fairlearn_on_rows(telco):
    """DESIGN.md's claim: fairlearn with sample_weight on cells gives the raw-row answer."""
    y = (telco["Churn"] == "Yes").astype(int)
    d = telco["offer"]
    cells = pd.DataFrame({"g": telco["gender"], "y": y, "d": d}).value_counts().reset_index()
    for name in ("true_positive_rate", "false_positive_rate", "selection_rate"):
        fn = REFERENCE[name]
        raw = MetricFrame(metrics=fn, y_true=y, y_pred=d, sensitive_features=telco["gender"])
        agg = MetricFrame(metrics=fn, y_true=cells["y"], y_pred=cells["d"],
                          sensitive_features=cells["g"],
                          sample_params={"sample_weight": cells["count"].to_numpy()})
        np.testing.assert_allclose(agg.by_group.to_numpy(dtype=float),
                                   raw.by_group.to_numpy(dtype=float), rtol=0, atol=1e-12)
