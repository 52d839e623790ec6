"""The ``cxaudit`` evaluator plugin for ``mlflow.models.evaluate``.

Registered under the entry-point group ``mlflow.model_evaluator``. It is opt-in:
it runs only when its config names a policy, so a plain ``evaluate`` call never
triggers an audit::

    mlflow.models.evaluate(model_uri, data, targets="Churn", model_type="classifier",
                           evaluators=["cxaudit"],
                           evaluator_config={"cxaudit": {"policy": "policy.yaml"}})

Config keys: ``policy`` (required), ``seed`` (default 0), ``out_dir`` (keep a local
copy of the reports). Importing this module is cheap: the audit machinery is
imported inside :meth:`CxauditEvaluator.evaluate`.
"""

from __future__ import annotations

from typing import Any

from mlflow.models.evaluation.base import ModelEvaluator


class CxauditEvaluator(ModelEvaluator):
    """Run a cxaudit policy as part of ``mlflow.models.evaluate``."""

    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: Any, **kwargs: Any) -> bool:
        """True only when the config asks for an audit (names a ``policy``)."""
        return isinstance(evaluator_config, dict) and bool(evaluator_config.get("policy"))

    def evaluate(self, *, model_type: Any, dataset: Any, run_id: str, evaluator_config: dict,
                 model: Any = None, extra_metrics: Any = None, custom_artifacts: Any = None,
                 predictions: Any = None, **kwargs: Any) -> Any:
        """Audit ``model`` on ``dataset``; log ``cxaudit_`` metrics, reports and the verdict tag."""
        from cxaudit.integrations.mlflow_evaluation import evaluate_with_policy

        return evaluate_with_policy(dataset=dataset, run_id=run_id, config=evaluator_config,
                                    model=model, model_id=kwargs.get("model_id"))
