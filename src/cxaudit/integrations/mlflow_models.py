"""Load a model from MLflow by URI, pinned to one registered version.

``models:/name@alias`` is resolved to its version once, at the start, and the
audit uses that pinned version (``models:/name/3``) throughout, so moving the
alias while an audit runs changes nothing. Predictions go through pyfunc (the
same path serving uses, with the signature enforced); the raw model (sklearn
estimator, LightGBM booster ...) is kept as ``LoadedModel.estimator`` for
explanation. The SHA-256 covers every file of the downloaded model artifact.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxaudit.errors import ModelError
from cxaudit.integrations.mlflow_common import (
    mlflow_error_code,
    require_existing_store,
    require_reachable,
    resolve_tracking_uri,
    using_tracking,
)
from cxaudit.loaders.loaded_model import LoadedModel

_TRUTHY = {"1", "true", "yes", "y", "positive", "pos", "churn", "churned"}
_MODELS = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[^/]+))?/?$")
_RUNS = re.compile(r"^runs:/(?P<run>[0-9a-zA-Z-]+)/(?P<path>.+)$")


@dataclass(frozen=True)
class ModelRef:
    """A model URI as given, and the pinned URI the audit actually uses."""

    given: str
    pinned_uri: str
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    run_id: str | None = None

    @property
    def registered(self) -> bool:
        """True when this is a registered model version (it can be tagged and aliased)."""
        return self.name is not None and self.version is not None


def _client(tracking_uri: str | None = None) -> Any:
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    require_reachable(uri, doing="resolve the model")
    return MlflowClient(tracking_uri=uri)


def _known_names(client: Any) -> str:
    try:
        names = sorted(m.name for m in client.search_registered_models(max_results=100))
    except Exception:  # listing is a courtesy; the error stands without it
        return "the registry could not be listed"
    return ("registered models: " + ", ".join(names)) if names else "the registry has no models"


def _known_versions(client: Any, name: str) -> str:
    try:
        versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
        aliases = client.get_registered_model(name).aliases or {}
    except Exception:
        return "its versions could not be listed"
    # SQLite and file stores return versions as int, the REST store as str.
    shown = ", ".join(str(v.version) for v in versions) or "none"
    alias_text = ", ".join(f"@{a} → {v}" for a, v in sorted(aliases.items())) or "none"
    return f"versions of {name!r}: {shown}; aliases: {alias_text}"


def _name_exists(client: Any, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except Exception as exc:
        if mlflow_error_code(exc) == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise
    return True


def resolve_model_uri(uri: str, *, tracking_uri: str | None = None, client: Any = None) -> ModelRef:
    """Resolve a model URI once: an alias or ``latest`` becomes a pinned version.

    Raises
    ------
    ModelError
        When the URI does not resolve; the message lists what does exist.
    """
    require_existing_store(resolve_tracking_uri(tracking_uri), uri)
    client = client or _client(tracking_uri)
    runs = _RUNS.match(uri)
    if runs:
        try:
            client.get_run(runs["run"])
        except Exception as exc:
            if mlflow_error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise ModelError(f"{uri}: run {runs['run']} does not exist in this tracking store",
                                 hint="check the run id (MLflow UI → run → Artifacts), or use a "
                                      "registered model URI models:/NAME/VERSION") from None
            raise
        return ModelRef(given=uri, pinned_uri=uri, run_id=runs["run"])
    match = _MODELS.match(uri)
    if not match:
        raise ModelError(f"{uri}: not a model URI cxaudit understands",
                         hint="use models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH")
    name, alias, version = match["name"], match["alias"], match["version"]
    if alias is None and version is None:
        if name.startswith("m-"):  # an MLflow 3 logged-model id
            return _logged_model(client, uri, name)
        raise ModelError(f"{uri}: name a version or an alias",
                         hint=f"e.g. models:/{name}/1 or models:/{name}@champion; "
                              + _known_versions(client, name))
    try:
        if alias is not None:
            found = client.get_model_version_by_alias(name, alias)
        elif version == "latest":
            found = max(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version),
                        default=None)
            if found is None:
                raise ModelError(f"{uri}: model {name!r} has no versions",
                                 hint="register a version first (mlflow.register_model)")
        elif version.isdigit():
            found = client.get_model_version(name, version)
        else:
            raise ModelError(f"{uri}: version {version!r} is not a number",
                             hint="use models:/NAME/VERSION (a number) or models:/NAME@ALIAS")
    except ModelError:
        raise
    except Exception as exc:
        if mlflow_error_code(exc) not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        if not _name_exists(client, name):
            raise ModelError(f"{uri}: there is no registered model named {name!r}",
                             hint=_known_names(client)) from None
        what = f"alias @{alias}" if alias else f"version {version}"
        raise ModelError(f"{uri}: model {name!r} has no {what}",
                         hint=_known_versions(client, name)) from None
    return ModelRef(given=uri, pinned_uri=f"models:/{name}/{found.version}", name=name,
                    version=str(found.version), alias=alias, run_id=found.run_id or None)


def _logged_model(client: Any, uri: str, model_id: str) -> ModelRef:
    try:
        logged = client.get_logged_model(model_id)
    except Exception as exc:
        if mlflow_error_code(exc) != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise ModelError(f"{uri}: no logged model {model_id}", hint=_known_names(client)) from None
    return ModelRef(given=uri, pinned_uri=uri, run_id=logged.source_run_id or None)


def artifact_sha256(directory: str | Path) -> str:
    """SHA-256 of a model directory: of each file's relative path and SHA-256, sorted."""
    root = Path(directory)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    outer = hashlib.sha256()
    for file in files:
        inner = hashlib.sha256(file.read_bytes()).hexdigest()
        relative = file.name if file == root else file.relative_to(root).as_posix()
        outer.update(f"{relative}\0{inner}\n".encode())
    return outer.hexdigest()


def positive_class_index(classes: Any) -> int:
    """Column of ``predict_proba`` taken as the positive class.

    A class named like a positive outcome (1, True, "Yes", "churn") wins; else
    the last class, as scikit-learn orders binary labels (``classes_[1]``).
    """
    values = list(classes)
    for index, value in enumerate(values):
        if str(value).strip().lower() in _TRUTHY:
            return index
    return len(values) - 1


class PyfuncScorer:
    """``DataFrame -> scores`` through pyfunc, for :attr:`LoadedModel.predict_fn`.

    pyfunc enforces the model's input signature and predicts. When the flavor
    returns probabilities (``pyfunc_predict_fn="predict_proba"``) the positive
    column is the score; when it returns class labels, the score is the raw
    model's ``predict_proba`` on the same input; a model with neither scores
    1.0 for the positive label and 0.0 otherwise.
    """

    def __init__(self, pyfunc_model: Any, raw: Any) -> None:
        self.pyfunc_model = pyfunc_model
        self.raw = raw

    def _classes(self) -> list[Any] | None:
        classes = getattr(self.raw, "classes_", None)
        return list(classes) if classes is not None else None

    def __call__(self, frame: Any) -> Any:
        import numpy as np
        import pandas as pd

        out = self.pyfunc_model.predict(frame)
        values = np.asarray(out.to_numpy() if isinstance(out, (pd.DataFrame, pd.Series)) else out)
        if values.ndim == 2 and values.shape[1] >= 2:
            classes = self._classes() or (list(out.columns) if isinstance(out, pd.DataFrame)
                                          else list(range(values.shape[1])))
            return values[:, positive_class_index(classes)].astype(float)
        values = values.reshape(len(frame), -1)[:, 0] if values.ndim == 2 else values
        if values.dtype.kind == "f" and np.nanmax(values, initial=0.0) <= 1.0:
            return values.astype(float)
        proba = getattr(self.raw, "predict_proba", None)
        if proba is not None and self.raw is not self.pyfunc_model:
            probabilities = np.asarray(proba(frame))
            return probabilities[:, positive_class_index(self._classes() or [0, 1])].astype(float)
        labels = [str(v).strip().lower() for v in values]
        return np.array([1.0 if v in _TRUTHY else 0.0 for v in labels])


def _raw_model(pyfunc_model: Any) -> Any:
    try:
        return pyfunc_model.get_raw_model()
    except Exception:  # custom pyfunc models have no raw model; explain through pyfunc
        return pyfunc_model


def _signature_features(pyfunc_model: Any, raw: Any) -> tuple[str, ...] | None:
    signature = getattr(pyfunc_model.metadata, "signature", None)
    if signature is not None and signature.inputs is not None:
        names = [n for n in signature.inputs.input_names() if isinstance(n, str)]
        if names:
            return tuple(names)
    names = getattr(raw, "feature_names_in_", None)
    return tuple(str(n) for n in names) if names is not None else None


def loaded_from_pyfunc(pyfunc_model: Any, *, source: str, sha256: str | None) -> LoadedModel:
    """Wrap a loaded pyfunc model as a :class:`LoadedModel` (also used by the evaluator)."""
    raw = _raw_model(pyfunc_model)
    flavors = [f for f in (pyfunc_model.metadata.flavors or {}) if f != "python_function"]
    kind = f"mlflow-{flavors[0]}" if flavors else "mlflow-pyfunc"
    return LoadedModel(estimator=raw, source=source, kind=kind, sha256=sha256,
                       feature_names=_signature_features(pyfunc_model, raw),
                       predict_fn=PyfuncScorer(pyfunc_model, raw))


def load_mlflow_model(uri: str, *, tracking_uri: str | None = None,
                      ref: ModelRef | None = None, trust: bool = False) -> LoadedModel:
    """Load ``models:/``, ``runs:/`` or ``mlflow-artifacts:/`` URIs, pinned to one version.

    Parameters
    ----------
    uri
        The model URI as the user gave it.
    tracking_uri
        Tracking server or store; default ``MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``.
    ref
        An already resolved reference (the gate resolves once and passes it on).
    trust
        Allow models whose loading runs code (sklearn saved with pickle/cloudpickle,
        custom ``python_function`` models); as for pickle files, off by default.

    Returns
    -------
    LoadedModel
        ``source`` is the pinned URI (``models:/name/3``), ``sha256`` the digest of the
        downloaded artifact, ``estimator`` the raw model, ``predict_fn`` the pyfunc scorer.
    """
    if ref is None and not uri.startswith("mlflow-artifacts:/"):
        require_existing_store(resolve_tracking_uri(tracking_uri), uri)
    with using_tracking(tracking_uri) as resolved:
        if ref is None:
            ref = (ModelRef(given=uri, pinned_uri=uri) if uri.startswith("mlflow-artifacts:/")
                   else resolve_model_uri(uri, tracking_uri=resolved))
        return _download_and_load(ref, trust=trust)


def code_on_load(model_dir: str | Path) -> str | None:
    """Why loading this MLflow model runs arbitrary code (None: it does not).

    scikit-learn models saved with ``pickle``/``cloudpickle`` and custom
    ``python_function`` models (a cloudpickled ``PythonModel``) execute code when
    loaded; skops files and native formats (LightGBM, XGBoost) do not.
    """
    import yaml

    mlmodel = Path(model_dir) / "MLmodel"
    if not mlmodel.is_file():
        return "it has no MLmodel file, so its format cannot be checked"
    flavors = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}).get("flavors") or {}
    sklearn_format = (flavors.get("sklearn") or {}).get("serialization_format")
    if sklearn_format and sklearn_format != "skops":
        return f"its scikit-learn model is saved with {sklearn_format}"
    if (flavors.get("python_function") or {}).get("loader_module") == "mlflow.pyfunc.model":
        return "it is a custom python_function model (a cloudpickled PythonModel)"
    return None


def _download_and_load(ref: ModelRef, *, trust: bool = False) -> LoadedModel:
    import mlflow

    workdir = tempfile.mkdtemp(prefix="cxaudit-model-")
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=ref.pinned_uri, dst_path=workdir)
    except Exception as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ModelError(f"cannot download {ref.pinned_uri}: {type(exc).__name__}: "
                         f"{str(exc)[:300]}",
                         hint="check the artifact store is reachable from here") from None
    digest = artifact_sha256(local)
    reason = code_on_load(local)
    if reason and not trust:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ModelError(f"refusing to load {ref.pinned_uri}: {reason}, which runs code when "
                         "loaded", hint="if you trust the registry and this version, pass "
                                        "--trust-model; better, log scikit-learn models with skops "
                                        "(MLflow's default)")
    try:
        pyfunc_model = mlflow.pyfunc.load_model(local)
    except Exception as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ModelError(f"cannot load {ref.pinned_uri} with pyfunc: {type(exc).__name__}: "
                         f"{str(exc)[:300]}",
                         hint="tree models saved with skops need skops_trusted_types when "
                              "logged; the flavor's packages must be installed") from None
    loaded = loaded_from_pyfunc(pyfunc_model, source=ref.pinned_uri, sha256=digest)
    # Custom pyfunc models may read their files lazily: remove them with the scorer.
    weakref.finalize(loaded.predict_fn, shutil.rmtree, workdir, ignore_errors=True)
    return loaded
