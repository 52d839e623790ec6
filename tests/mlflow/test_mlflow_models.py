"""Loading models by URI: pinned versions, pyfunc scores, signature features, lineage."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from mlflow_testdata import FEATURES, TREE_TYPES

from cxaudit.errors import DataError
from cxaudit.integrations.mlflow_lineage import training_data
from cxaudit.integrations.mlflow_models import load_mlflow_model, positive_class_index
from cxaudit.loaders.model import load_model


def _sklearn(uri):
    import mlflow

    return mlflow.sklearn.load_model(uri)


def test_registered_version_loads_pinned_with_signature_features(registry):
    uri = f"models:/{registry.name}/{registry.unfair_version}"
    loaded = load_model(uri)  # the core loader dispatches models:/ URIs here
    assert loaded.source == uri
    assert loaded.kind == "mlflow-sklearn"
    assert loaded.feature_names == tuple(FEATURES)
    raw = _sklearn(uri)
    X = registry.frame[FEATURES]
    expected = raw.predict_proba(X)[:, list(raw.classes_).index(1)]
    np.testing.assert_allclose(loaded.predict_fn(X), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.estimator.predict_proba(X), raw.predict_proba(X))


def test_artifact_digest_is_stable_and_tells_versions_apart(registry):
    fair = load_mlflow_model(f"models:/{registry.name}/{registry.fair_version}")
    again = load_mlflow_model(f"models:/{registry.name}/{registry.fair_version}")
    other = load_mlflow_model(f"models:/{registry.name}/{registry.unfair_version}")
    assert len(fair.sha256) == 64
    assert fair.sha256 == again.sha256 != other.sha256


def test_runs_uri_loads(registry):
    loaded = load_mlflow_model(f"runs:/{registry.fair_run}/model")
    assert loaded.source == f"runs:/{registry.fair_run}/model"
    assert loaded.feature_names == tuple(FEATURES)


@pytest.fixture(scope="module")
def proba_model(registry):
    """A model logged with pyfunc_predict_fn="predict_proba" and string classes."""
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.tree import DecisionTreeClassifier

    X = registry.frame[FEATURES]
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, registry.frame["churn"])
    with warnings.catch_warnings(), mlflow.start_run() as run:
        warnings.simplefilter("ignore")
        mlflow.sklearn.log_model(model, name="model", pyfunc_predict_fn="predict_proba",
                                 signature=infer_signature(X, model.predict_proba(X)),
                                 skops_trusted_types=TREE_TYPES, pip_requirements=["scikit-learn"])
    return model, run.info.run_id


def test_probability_output_takes_the_positive_class_column(registry, proba_model):
    model, run_id = proba_model
    assert list(model.classes_) == ["No", "Yes"]
    loaded = load_mlflow_model(f"runs:/{run_id}/model")
    X = registry.frame[FEATURES]
    np.testing.assert_allclose(loaded.predict_fn(X), model.predict_proba(X)[:, 1], atol=1e-12)


def test_lineage_needs_a_logged_training_dataset(registry, proba_model):
    _, run_id = proba_model
    with pytest.raises(DataError, match="logged no dataset with context 'training'") as caught:
        training_data(run_id, model_uri=f"runs:/{run_id}/model")
    assert "--data" in caught.value.hint


def test_lineage_reports_a_changed_source_file(registry, tmp_path):
    import mlflow

    frame = registry.frame.head(300)
    source = tmp_path / "train.csv"
    frame.to_csv(source, index=False)
    with warnings.catch_warnings(), mlflow.start_run() as run:
        warnings.simplefilter("ignore")
        mlflow.log_input(mlflow.data.from_pandas(frame, source=str(source), targets="churn"),
                         context="training")
    loaded, record, _ = training_data(run.info.run_id, model_uri="runs:/x/model")
    assert record.detail["digest_matches"] is True and len(loaded) == 300
    frame.head(299).to_csv(source, index=False)  # someone edits the file after training
    _, record, _ = training_data(run.info.run_id, model_uri="runs:/x/model")
    assert record.detail["digest_matches"] is False
    assert record.rows == 299


@pytest.mark.parametrize(("classes", "index"), [
    ([0, 1], 1), (["No", "Yes"], 1), (["Yes", "No"], 0), ([False, True], 1), (["a", "b", "c"], 2),
])
def test_positive_class_index(classes, index):
    assert positive_class_index(classes) == index


def test_pickled_models_need_explicit_trust(registry):
    import mlflow
    from sklearn.linear_model import LogisticRegression

    from cxaudit.errors import ModelError

    X = registry.frame[FEATURES]
    model = LogisticRegression(max_iter=500).fit(X, registry.frame["churn"] == "Yes")
    with warnings.catch_warnings(), mlflow.start_run() as run:
        warnings.simplefilter("ignore")
        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle",
                                 pip_requirements=["scikit-learn"])
    uri = f"runs:/{run.info.run_id}/model"
    with pytest.raises(ModelError, match="saved with cloudpickle, which runs code") as caught:
        load_mlflow_model(uri)
    assert "--trust-model" in caught.value.hint
    loaded = load_mlflow_model(uri, trust=True)
    np.testing.assert_allclose(loaded.predict_fn(X), model.predict_proba(X)[:, 1], atol=1e-12)
