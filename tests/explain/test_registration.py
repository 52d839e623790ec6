"""The explain family is registered, documented with valid examples, and imports shap lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from cxaudit.checks.explainability import CHECKS
from cxaudit.checks.registry import load_registry
from cxaudit.result import Status
from cxaudit.runner import run_checks

from .conftest import FEATURES


def test_every_explain_check_is_registered():
    registry = load_registry()
    assert not registry.broken
    types = {cls.type for cls in CHECKS}
    assert types == {"explain.global_importance", "explain.protected_driver",
                     "explain.group_divergence", "explain.reason_codes", "explain.stability",
                     "explain.counterfactual_flip"}
    for cls in CHECKS:
        assert registry.get(cls.type) is cls


@pytest.mark.parametrize("cls", CHECKS, ids=lambda c: c.type)
def test_documentation_example_is_a_valid_declaration(cls):
    doc = cls.documentation()
    assert "Example::" in doc
    (declaration,) = yaml.safe_load(doc.split("Example::", 1)[1])
    assert declaration["type"] == cls.type
    cls.params_model.model_validate(declaration)


def test_importing_the_family_does_not_import_shap():
    code = ("import sys, cxaudit.checks.explainability, cxaudit.explain.shared; "
            "print('shap' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unexplainable_pipeline_falls_back_to_the_model_agnostic_explainer(
        make_policy, make_context, split):
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    train, audited = split
    numeric = ["tenure", "MonthlyCharges"]
    model = Pipeline([
        ("select", ColumnTransformer([("num", "passthrough", numeric)])),
        ("pca", PCA(n_components=2)),
        ("clf", LogisticRegression()),
    ]).fit(train[FEATURES], train["Churn"])
    policy = make_policy("""
- {id: g, type: explain.global_importance, sample_size: 50, min_per_stratum: 5,
   background_size: 15, permutations: 1}
""")
    (result,) = run_checks(make_context(policy, audited, model))
    assert result.status is Status.PASS
    assert "PermutationExplainer" in result.details["explainer"]
    assert result.details["output_space"] == "probability"
    assert result.details["additivity_max_error"] < 1e-9
    unused = {d["feature"]: d["mean_abs_shap"] for d in result.details["importance"]}
    assert all(v == 0.0 for f, v in unused.items() if f not in numeric)
    assert all(unused[f] > 0 for f in numeric)
