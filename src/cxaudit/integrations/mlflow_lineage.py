"""Lineage: find the data a model was trained on through its run's logged inputs.

When ``cxaudit gate`` gets no ``--data``, the audited data is the dataset the
model's run logged with ``mlflow.log_input(..., context="training")``. The
report says where it came from (run, dataset name, source URI) and whether the
file read now still has the digest MLflow recorded at training time.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from cxaudit.errors import DataError
from cxaudit.result import InputRecord

CONTEXT_TAG = "mlflow.data.context"


def _training_inputs(run: Any) -> list[Any]:
    inputs = getattr(run.inputs, "dataset_inputs", None) or []
    return [d for d in inputs
            if any(t.key == CONTEXT_TAG and t.value == "training" for t in (d.tags or []))]


def training_data(run_id: str | None, *, model_uri: str, client: Any = None
                  ) -> tuple[Any, InputRecord, str]:
    """Load the training dataset logged by ``run_id``.

    Returns
    -------
    frame, record, local_path
        The data, its input record (with where it came from in ``detail``) and the
        local file it was read from.

    Raises
    ------
    DataError
        When the run logged no training dataset or its source cannot be read.
    """
    import mlflow

    from cxaudit.loaders.data import read_table, sha256_file

    hint = "pass --data FILE, or log the training set with mlflow.log_input(dataset, " \
           "context=\"training\") in the run that logs the model"
    if run_id is None:
        raise DataError(f"{model_uri} has no source run, so its training data cannot be found",
                        hint=hint)
    client = client or mlflow.MlflowClient()
    found = _training_inputs(client.get_run(run_id))
    if not found:
        raise DataError(f"no --data given, and run {run_id} (which produced {model_uri}) logged "
                        "no dataset with context 'training'", hint=hint)
    chosen = found[0]
    dataset = chosen.dataset
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow warns about ambiguous local sources
            source = mlflow.data.get_source(chosen)
            local = source.load()
    except Exception as exc:
        raise DataError(f"run {run_id} logged training dataset {dataset.name!r} from "
                        f"{dataset.source}, but it cannot be read now: {type(exc).__name__}: "
                        f"{str(exc)[:200]}", hint=hint) from None
    frame = read_table(local, role=f"training data of {model_uri}")
    digest_now = _pandas_digest(frame)
    detail = {
        "origin": "mlflow-lineage",
        "note": f"no --data given: the training dataset logged by run {run_id} "
                f"(mlflow.log_input, context 'training')",
        "run_id": run_id,
        "dataset_name": dataset.name,
        "source_type": dataset.source_type,
        "source": dataset.source,
        "logged_digest": dataset.digest,
        "digest_now": digest_now,
        "digest_matches": digest_now == dataset.digest if digest_now else None,
        "training_datasets_logged": len(found),
    }
    record = InputRecord(kind="data", path=Path(local).name, sha256=sha256_file(local),
                         rows=len(frame), detail=detail)
    return frame, record, str(local)


def _pandas_digest(frame: Any) -> str | None:
    """MLflow's own pandas-dataset digest of ``frame`` (None if MLflow cannot compute it)."""
    try:
        from mlflow.data.digest_utils import compute_pandas_digest

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compute_pandas_digest(frame)
    except Exception:
        return None


def given_data_record(path: str, frame: Any) -> InputRecord:
    """The input record for data passed with ``--data`` (lineage not used)."""
    from cxaudit.loaders.data import sha256_file

    return InputRecord(kind="data", path=Path(path).name, sha256=sha256_file(path),
                       rows=len(frame), detail={"origin": "--data"})
