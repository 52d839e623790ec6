"""SHAP values from cxaudit's explainer path agree with independent references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.explain.explainers import explain
from cxaudit.loaders.model import LoadedModel, from_estimator

from .conftest import FEATURES, NUMERIC, aggregate_by_prefix


def _explain(model, frame, features, *, weights=None, positive="Yes", **kw):
    loaded = model if isinstance(model, LoadedModel) else from_estimator(model)
    weights = np.ones(len(frame)) if weights is None else weights
    return explain(loaded, frame, tuple(features), positive=positive, weights=weights,
                   background_size=kw.get("background_size", 50),
                   permutations=kw.get("permutations", 1), seed=0)


def test_pipeline_tree_shap_matches_shap_on_final_estimator(pipeline, split):
    import shap

    _, audited = split
    rows = audited.iloc[:300]
    got = _explain(pipeline, rows, FEATURES)
    # Reference: shap directly on the fitted trees, one-hot columns grouped by their name.
    transformed = pipeline[:-1].transform(rows[FEATURES])
    reference = shap.TreeExplainer(pipeline[-1])
    raw = reference.shap_values(transformed)
    names = list(pipeline[:-1].get_feature_names_out())
    expected = aggregate_by_prefix(np.asarray(raw), names, FEATURES)
    assert got.values.shape == (300, len(FEATURES))
    np.testing.assert_allclose(got.values, expected, atol=1e-10)
    assert got.base_value == pytest.approx(float(np.ravel(reference.expected_value)[0]))
    assert got.output_space == "log-odds"
    assert "TreeExplainer" in got.explainer and "summed" in got.explainer


def test_pipeline_additivity_reproduces_decision_function(pipeline, split):
    _, audited = split
    rows = audited.iloc[:300]
    got = _explain(pipeline, rows, FEATURES)
    margin = pipeline.decision_function(rows[FEATURES])  # sklearn's own log-odds
    np.testing.assert_allclose(got.values.sum(axis=1) + got.base_value, margin, atol=1e-9)
    assert got.additivity_max_error < 1e-9


def test_lightgbm_matches_pred_contrib():
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(600, 5)), columns=[f"x{i}" for i in range(5)])
    y = (frame["x0"] + 0.5 * frame["x1"] * frame["x2"] + rng.normal(size=600) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1, random_state=0)
    model.fit(frame, y)
    got = _explain(model, frame.iloc[:200], list(frame.columns), positive=1)
    contrib = model.booster_.predict(frame.iloc[:200], pred_contrib=True)
    np.testing.assert_allclose(got.values, contrib[:, :-1], atol=1e-6)
    assert got.base_value == pytest.approx(contrib[0, -1], abs=1e-6)
    assert got.output_space == "log-odds"
    assert got.additivity_max_error < 1e-6


def test_linear_model_closed_form_with_design_weights():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(400, 3)) * [1.0, 3.0, 0.5] + [0, 5, -2],
                         columns=["a", "b", "c"])
    y = (frame["a"] - 0.4 * frame["b"] + rng.normal(size=400) > -2).astype(int)
    model = LogisticRegression().fit(frame, y)
    weights = rng.uniform(0.5, 4.0, size=400)
    got = _explain(model, frame, ["a", "b", "c"], weights=weights, positive=1)
    mean = np.average(frame.to_numpy(), axis=0, weights=weights)
    expected = model.coef_[0] * (frame.to_numpy() - mean)  # known in closed form
    np.testing.assert_allclose(got.values, expected, atol=1e-10)
    assert got.base_value == pytest.approx(model.intercept_[0] + model.coef_[0] @ mean)
    assert "LinearExplainer" in got.explainer and got.output_space == "log-odds"
    assert got.additivity_max_error < 1e-8


def test_random_forest_is_explained_in_probability_space():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("pqrs"))
    y = (frame["p"] + frame["q"] > 0).astype(int)
    model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(frame, y)
    got = _explain(model, frame, list("pqrs"), positive=1)
    assert got.output_space == "probability"
    np.testing.assert_allclose(got.values.sum(axis=1) + got.base_value,
                               model.predict_proba(frame)[:, 1], atol=1e-9)


def test_model_agnostic_path_on_untraceable_pipeline_is_exact_for_one_feature(split):
    """A pipeline that uses tenure only: every other SHAP value is 0, tenure's is f(x) − E f."""
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    train, audited = split
    model = Pipeline([
        ("select", ColumnTransformer([("num", "passthrough", ["tenure"])], remainder="drop")),
        ("pca", PCA(n_components=1)),  # mixes columns: cannot be traced → model-agnostic
        ("knn", KNeighborsClassifier(n_neighbors=25)),
    ]).fit(train[FEATURES], train["Churn"])
    rows = audited.iloc[:40]
    got = _explain(model, rows, FEATURES, background_size=25)
    assert "PermutationExplainer" in got.explainer
    assert any("PCA" in note for note in got.notes)
    assert got.output_space == "probability"
    tenure = FEATURES.index("tenure")
    others = [i for i in range(len(FEATURES)) if i != tenure]
    assert np.abs(got.values[:, others]).max() == 0.0
    p = model.predict_proba(rows[FEATURES])[:, 1]
    np.testing.assert_allclose(got.values[:, tenure], p - got.base_value, atol=1e-12)
    # The base value is the mean prediction over background rows drawn from the sample.
    assert p.min() - 1e-12 <= got.base_value <= p.max() + 1e-12
    assert got.additivity_max_error < 1e-12


def test_numeric_columns_survive_the_agnostic_round_trip(split):
    from cxaudit.explain.explainers import _encode

    _, audited = split
    rows = audited[FEATURES].iloc[:50]
    codes, decode = _encode(rows)
    back = decode(codes)
    pd.testing.assert_frame_equal(back, rows.reset_index(drop=True), check_dtype=False)
    for name in NUMERIC:
        assert pd.api.types.is_numeric_dtype(back[name])


def test_positive_class_zero_flips_the_margin(pipeline, split):
    _, audited = split
    rows = audited.iloc[:100]
    yes = _explain(pipeline, rows, FEATURES, positive="Yes")
    no = _explain(pipeline, rows, FEATURES, positive="No")
    np.testing.assert_allclose(no.values, -yes.values)
    margin_no = np.log(pipeline.predict_proba(rows[FEATURES])[:, 0]) - np.log(
        pipeline.predict_proba(rows[FEATURES])[:, 1])
    np.testing.assert_allclose(no.values.sum(axis=1) + no.base_value, margin_no, atol=1e-8)
