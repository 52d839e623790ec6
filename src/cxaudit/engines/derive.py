"""The derivation plan: which columns every engine derives for an audit, from what.

The audit's reserved columns (``LABEL``, ``DECISION``, ``SCORE`` and one group column per
protected attribute) are declared here once, as a list of :class:`Derive` steps built from
the policy (:func:`derivation_plan`). Each engine compiles the steps to its own
expressions: the local engine to NumPy/pandas (:func:`cxaudit.context.build_context`), the
streaming Arrow engine to per-batch ``pyarrow.compute`` functions
(:mod:`cxaudit.engines.arrow_context`), Spark to Column expressions
(:mod:`cxaudit.engines.spark_context`). The rules the steps follow (which value is
positive, which rows cannot be audited) are in :mod:`cxaudit.engines.rules`.

This module sits below the checks and the audit context (issue 17): it reads the
policy, never a check; engines return a :class:`Derived` and
:func:`cxaudit.context.build_context` wraps it into the
:class:`~cxaudit.context.AuditContext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: ``frame.attrs`` key: the suffix of the file a frame was read from (".csv", ".parquet"),
#: so messages say file lines for CSV and row numbers otherwise.
SOURCE_KIND = "cxaudit_source_kind"
LABEL = "__cx_label"
DECISION = "__cx_decision"
SCORE = "__cx_score"
UNKNOWN_GROUP = "unknown"


def group_column(attribute: str) -> str:
    """Name of the derived text column for a protected attribute."""
    return f"__cx_group__{attribute}"


@dataclass(frozen=True)
class Derived:
    """What an engine's context builder hands back: the frame with the derived columns
    (and invalid rows left out), the data's own columns, the model's inputs, which of
    the reserved columns exist, and notes for the report (``excluded_rows``)."""

    frame: Any
    data_columns: tuple[str, ...]
    features: tuple[str, ...]
    has_label: bool = False
    has_decision: bool = False
    has_score: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


#: 0/1 (int8): 1 where the input equals the column's positive value. ``declared``: the
#: policy's ``data.positive`` (None: 1/True, or the one truthy text value), validated
#: against the column's distinct values (:func:`cxaudit.engines.rules.resolve_positive`);
#: ``where``: the policy location for messages; ``missing``: ``"refuse"`` (a missing label
#: is bad input) or ``"invalid"`` (a row without a decision cannot be audited).
POSITIVE = "positive"
#: float64: the input as a number, text that is not one as missing. ``where``; ``bounds``:
#: (low, high) a valid score lies in, or None; ``decides``: the score makes the decisions.
#: Rows whose score is missing, not finite or out of bounds cannot be audited.
NUMBER = "number"
#: 0/1 (int8): the model's decision on its features (resolved when the plan is compiled:
#: :func:`cxaudit.engines.rules.resolve_features`), predicted once. ``threshold``;
#: ``positive_from``: the step whose positive value the model's classes are read with
#: (``LABEL``), or None for ``declared``; ``scores_to``: the column the model's
#: probabilities fill (``SCORE``) or None. Rows without a decision cannot be audited.
PREDICT = "predict"
#: 0/1 (int8): 1 where the input is at least ``threshold``; missing → 0.
AT_LEAST = "at_least"
#: text: the input as the local engine spells it, stripped; missing or blank → ``unknown``.
GROUP = "group"
OPS = (POSITIVE, NUMBER, PREDICT, AT_LEAST, GROUP)


@dataclass(frozen=True)
class Derive:
    """One step of the plan: derived column ``name`` is ``op`` of ``inputs`` with ``params``."""

    name: str
    op: str
    inputs: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown derivation {self.op!r}")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def source(self) -> str:
        """The one data column a single-input step reads."""
        return self.inputs[0]


@dataclass(frozen=True)
class DerivationPlan:
    """The audit's derived columns, in the order every engine derives them: the label,
    the score, the decision, then one group column per protected attribute. The model's
    features are resolved between the label and the score (a missing feature is reported
    after a bad label, as it always was)."""

    label: Derive | None
    score: Derive | None
    decision: Derive | None
    groups: tuple[Derive, ...]

    @property
    def steps(self) -> tuple[Derive, ...]:
        """Every step, in order."""
        return tuple(s for s in (self.label, self.score, self.decision) if s) + self.groups

    @property
    def protected(self) -> tuple[str, ...]:
        """The protected attributes (each refused when it holds lists or mappings)."""
        return tuple(g.source for g in self.groups)


def derivation_plan(policy: Any, *, model: bool) -> DerivationPlan:
    """The plan for ``policy`` (with a model to predict with, or not): pure, no data read."""
    spec = policy.data
    label = None
    if spec.label:
        label = Derive(LABEL, POSITIVE, (spec.label,),
                       {"declared": spec.positive, "where": policy.locate("data", "label"),
                        "missing": "refuse"})
    decides = not spec.prediction and not model
    score = None
    if spec.score:
        score = Derive(SCORE, NUMBER, (spec.score,),
                       {"where": policy.locate("data", "score"), "decides": decides,
                        "bounds": spec.score_range or ((0.0, 1.0) if decides else None)})
    decision = None
    if spec.prediction:
        decision = Derive(DECISION, POSITIVE, (spec.prediction,),
                          {"declared": spec.positive,
                           "where": policy.locate("data", "prediction"), "missing": "invalid"})
    elif model:
        decision = Derive(DECISION, PREDICT, (),
                          {"threshold": spec.decision_threshold,
                           "positive_from": LABEL if label is not None else None,
                           "declared": spec.positive if spec.positive is not None else 1,
                           "scores_to": None if score is not None else SCORE})
    elif score is not None:
        decision = Derive(DECISION, AT_LEAST, (SCORE,), {"threshold": spec.decision_threshold})
    groups = tuple(Derive(group_column(a), GROUP, (a,)) for a in spec.protected)
    return DerivationPlan(label=label, score=score, decision=decision, groups=groups)
