"""The audit context: data, decisions, scores and groups, each computed once.

Every check reads from the same context; predictions are made once per audit.
Derived columns are added under reserved names so checks never guess:

- ``LABEL`` (0/1 observed outcome), ``DECISION`` (0/1 decision), ``SCORE``
  (float score, when one exists);
- ``group_column(attr)``: the protected attribute as text, with missing
  values as the explicit group ``unknown`` (counted and shown, never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.engines.base import Engine
from cxaudit.engines.derive import (
    AT_LEAST,
    DECISION,
    GROUP,
    LABEL,
    NUMBER,
    POSITIVE,
    PREDICT,
    SCORE,
    SOURCE_KIND,
    UNKNOWN_GROUP,
    DerivationPlan,
    Derive,
    Derived,
    derivation_plan,
    group_column,
)
from cxaudit.engines.rules import (
    _TRUTHY,
    DECLARE_FEATURES,
    DISTINCT_LIMIT,
    RowProblem,
    _decimal_comma_hint,
    _distinct_codes,
    _group_text,
    _is_number,
    _numeric,
    _personal,
    _problem,
    _range_words,
    _require_columns,
    binarise,
    distinct_values,
    features_disagreement,
    features_known,
    group_values,
    matches,
    model_problems,
    nested_kind,
    positive_value,
    refuse_invalid_rows,
    refuse_missing,
    refuse_nested,
    resolve_features,
    resolve_positive,
    score_problems,
)
from cxaudit.loaders.model import LoadedModel, predict
from cxaudit.policy.model import Policy

#: The derived columns' names and rules live in :mod:`cxaudit.engines.derive` and
#: :mod:`cxaudit.engines.rules` (below this module, so that engines never import it);
#: they stay importable from here, where checks read them.
__all__ = [
    "DECISION", "DECLARE_FEATURES", "DISTINCT_LIMIT", "LABEL", "SCORE", "SOURCE_KIND",
    "UNKNOWN_GROUP", "_TRUTHY", "AuditContext", "DerivationPlan", "Derive", "Derived", "RowProblem", "_decimal_comma_hint",
    "_distinct_codes", "_group_text", "_is_number", "_numeric", "_personal", "_problem",
    "_range_words", "_require_columns", "binarise", "build_context", "derivation_plan", "distinct_values",
    "features_disagreement", "features_known", "group_column", "group_values", "matches",
    "model_problems", "nested_kind", "positive_value", "refuse_invalid_rows", "refuse_missing",
    "refuse_nested", "resolve_features", "resolve_positive", "score_problems",
]



@dataclass(frozen=True)
class AuditContext:
    """Everything checks read; built once by :func:`build_context`."""

    policy: Policy
    engine: Engine
    frame: Any
    data_columns: tuple[str, ...]
    features: tuple[str, ...]
    model: LoadedModel | None = None
    consent: Any = None
    reference: Any = None
    seed: int = 0
    has_label: bool = False
    has_decision: bool = False
    has_score: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def protected(self) -> list[str]:
        """Protected attributes declared in the policy."""
        return list(self.policy.data.protected)

    def group_sets(self, attributes: list[str] | None = None) -> list[list[str]]:
        """Attribute sets to audit: each attribute alone, then each declared intersection."""
        single = [[a] for a in (attributes or self.protected)]
        wanted = set(attributes or self.protected)
        combos = [list(c) for c in self.policy.data.intersections if set(c) <= wanted]
        return single + combos



def build_context(policy: Policy, frame: pd.DataFrame, engine: Engine, *,
                  model: LoadedModel | None = None, consent: Any = None, reference: Any = None,
                  seed: int = 0) -> AuditContext:
    """Validate the data against the policy and derive labels, decisions and groups.

    Rows whose decision cannot be computed (a score that is not a finite number or out
    of range, a missing decision, a model output that is not a probability) are counted:
    more than ``data.max_invalid_decisions`` is bad input; fewer are left out.
    """
    native = getattr(engine, "build_context", None)
    if native is not None:  # engines whose frames are not pandas derive the columns natively
        made: Derived = native(policy, frame, model=model)
        return AuditContext(
            policy=policy, engine=engine, frame=made.frame, data_columns=made.data_columns,
            features=made.features, model=model, consent=consent, reference=reference,
            seed=seed, has_label=made.has_label, has_decision=made.has_decision,
            has_score=made.has_score, notes=made.notes,
        )
    plan = derivation_plan(policy, model=model is not None)
    columns = [str(c) for c in frame.columns]
    _require_columns(policy, columns)
    for attr in plan.protected:
        refuse_nested(policy, attr, nested_kind(frame[attr]))
    # No copy of the caller's frame: it is only read here, and `assign` below returns a
    # new frame (a copy of 10 M rows cost 0.55 s and 0.8 GB of fresh memory).
    derived: dict[str, Any] = {}
    positives: dict[str, Any] = {}
    invalid = np.zeros(len(frame), dtype=bool)
    problems: list[RowProblem] = []

    def compile_step(step: Derive) -> Any:
        """A plan step as a NumPy array or pandas column (``PREDICT`` is compiled below)."""
        nonlocal invalid
        if step.op == POSITIVE:
            values = frame[step.source]
            missing = values.isna().to_numpy()
            if step.params["missing"] == "refuse":
                refuse_missing(policy, "label", step.source, int(missing.sum()),
                               (np.flatnonzero(missing)[:5] + 2).tolist())  # +2: header, 1-based
            else:
                invalid |= missing
                problems.append(_problem(step.params["where"], step.source, missing,
                                         "have no decision (an empty cell or a missing-value "
                                         "marker such as NA)"))
            positive = positives[step.name] = resolve_positive(
                distinct_values(values), step.params["declared"], column=step.source,
                where=step.params["where"], numeric=_numeric(values),
                boolean=pd.api.types.is_bool_dtype(values))
            return binarise(values, positive)
        if step.op == NUMBER:
            numbers, bad, found = score_problems(policy, frame[step.source],
                                                 decides=step.params["decides"])
            invalid |= bad
            problems.extend(found)
            return numbers
        if step.op == AT_LEAST:
            with np.errstate(invalid="ignore"):
                return (derived[step.source] >= step.params["threshold"]).astype(np.int8)
        if step.op == GROUP:
            return group_values(frame[step.source])
        raise ValueError(f"{step.op!r} is not a column derivation")

    if plan.label is not None:
        derived[LABEL] = compile_step(plan.label)

    features = resolve_features(policy.data, model, columns)

    if plan.score is not None:
        derived[SCORE] = compile_step(plan.score)
    step = plan.decision
    if step is not None and step.op == PREDICT:
        assert model is not None
        positive = positives[step.params["positive_from"]] if step.params["positive_from"] \
            else step.params["declared"]
        decisions, scores = predict(model, frame[list(features)], positive=positive,
                                    threshold=step.params["threshold"])
        problems += model_problems(model, decisions, scores)
        invalid |= decisions < 0
        derived[DECISION] = np.where(decisions < 0, 0, decisions).astype(np.int8)
        if scores is not None and step.params["scores_to"]:
            derived[step.params["scores_to"]] = scores
    elif step is not None:
        derived[DECISION] = compile_step(step)
    refuse_invalid_rows(policy, problems, int(invalid.sum()), len(frame),
                        csv=frame.attrs.get(SOURCE_KIND, ".csv") == ".csv")

    for group in plan.groups:
        derived[group.name] = compile_step(group)

    frame = frame.assign(**derived)
    notes: dict[str, Any] = {}
    if invalid.any():  # within data.max_invalid_decisions: left out of the audit
        frame = frame[~invalid].reset_index(drop=True)
        notes["excluded_rows"] = int(invalid.sum())
    return AuditContext(
        policy=policy, engine=engine, frame=frame, data_columns=tuple(columns), features=features,
        model=model, consent=consent, reference=reference, seed=seed,
        has_label=LABEL in derived, has_decision=DECISION in derived,
        has_score=SCORE in derived, notes=notes,
    )
