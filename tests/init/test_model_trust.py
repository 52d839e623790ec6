"""skops models load through a reviewed allow-list; anything else needs --trust-type per type."""

from __future__ import annotations

import importlib
import operator
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.errors import ModelError
from cxaudit.loaders.model import REVIEWED_SKOPS_TYPES, load_model


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.normal(size=400), "charges": rng.normal(size=400)})
    return frame, (frame.tenure + rng.normal(size=400) > 0).astype(int)


def _estimators():
    import lightgbm as lgb
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        AdaBoostClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
        StackingClassifier,
        VotingClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    encode = ColumnTransformer([("scale", StandardScaler(), ["tenure"]),
                                ("bins", OneHotEncoder(handle_unknown="ignore"), ["charges"])])
    return {
        "decision tree": DecisionTreeClassifier(max_depth=3),
        "random forest": RandomForestClassifier(n_estimators=5),
        "extra trees": ExtraTreesClassifier(n_estimators=5),
        "gradient boosting": GradientBoostingClassifier(n_estimators=5),
        "hist gradient boosting": HistGradientBoostingClassifier(max_iter=5),
        "adaboost": AdaBoostClassifier(n_estimators=5),
        "logistic regression": LogisticRegression(),
        "k neighbours": KNeighborsClassifier(),
        "mlp": MLPClassifier(max_iter=20),
        "calibrated": CalibratedClassifierCV(LogisticRegression()),
        "voting": VotingClassifier([("l", LogisticRegression()),
                                    ("t", DecisionTreeClassifier())], voting="soft"),
        "stacking": StackingClassifier([("l", LogisticRegression()),
                                        ("t", DecisionTreeClassifier())]),
        "lightgbm": lgb.LGBMClassifier(n_estimators=5, verbose=-1),
        "pipeline + lightgbm": Pipeline([("pre", encode),
                                         ("clf", lgb.LGBMClassifier(n_estimators=5, verbose=-1))]),
        "pipeline + trees": Pipeline([("pre", encode), ("clf", RandomForestClassifier(3))]),
    }


@pytest.mark.parametrize("name", list(_estimators()))
def test_common_estimators_load_without_any_trust_flag(name, xy, tmp_path):
    frame, target = xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _estimators()[name].fit(frame, target)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    loaded = load_model(str(path))
    assert loaded.admitted_types == ()
    assert loaded.feature_names == ("tenure", "charges")
    expected = model.predict_proba(frame)
    assert np.allclose(loaded.estimator.predict_proba(frame), expected)


def test_every_reviewed_type_exists_and_carries_a_reason():
    for name, why in REVIEWED_SKOPS_TYPES.items():
        module, _, attribute = name.rpartition(".")
        assert why.strip(), name
        try:
            imported = importlib.import_module(module)
        except ImportError:  # optional library (LightGBM) absent
            continue
        if module.startswith("sklearn._loss.link") and not hasattr(imported, attribute):
            continue  # link classes renamed across scikit-learn versions
        assert hasattr(imported, attribute), name


def test_a_type_outside_the_list_is_refused_with_its_name_until_admitted(xy, tmp_path):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame, target = xy
    model = make_pipeline(FunctionTransformer(operator.abs),
                          GradientBoostingClassifier(n_estimators=3)).fit(frame, target)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(ModelError) as caught:
        load_model(str(path), trust=True)          # --trust-model is for pickles only
    assert "_operator.abs" in caught.value.message
    assert "sklearn.tree" not in caught.value.message          # reviewed: not listed
    assert "--trust-type _operator.abs" in caught.value.hint
    loaded = load_model(str(path), trusted_types=["_operator.abs"])
    assert loaded.admitted_types == ("_operator.abs",)

    data = tmp_path / "d.csv"
    frame.assign(churn=target).to_csv(data, index=False)
    policy = tmp_path / "p.yaml"
    policy.write_text("cxaudit: 1\nsystem: {name: t}\ndata: {label: churn, protected: []}\n"
                      "checks:\n  - {id: dupes, type: data.duplicates, severity: warn}\n",
                      encoding="utf-8")
    args = ["audit", "--policy", str(policy), "--data", str(data), "--model", str(path),
            "--out", str(tmp_path / "r"), "--format", "json,html", "--no-trail"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "--trust-type _operator.abs" in refused.output
    admitted = CliRunner().invoke(cli, [*args, "--trust-type", "_operator.abs"])
    assert admitted.exit_code == 0, admitted.output
    html = (tmp_path / "r" / "audit.html").read_text(encoding="utf-8")
    assert "--trust-type _operator.abs" in html and "--trust-model" not in html


def test_the_demo_model_and_its_rerun_command_need_no_trust_flag(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d"), "--format", "json"])
    assert result.exit_code == 0, result.output
    rerun = next(line for line in result.output.splitlines() if "Rerun it yourself" in line)
    assert "--trust-model" not in rerun
    assert "This FAIL is expected" in result.output and "exits 0" in result.output
    # The README states the demo's check count.
    import json
    import re
    from pathlib import Path

    checks = json.loads((tmp_path / "d" / "audit.json").read_text(encoding="utf-8"))["checks"]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert int(re.search(r"runs (\d+) checks", readme).group(1)) == len(checks)
