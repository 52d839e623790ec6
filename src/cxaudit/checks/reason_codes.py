"""``explain.reason_codes``: principal reasons for adverse decisions (part of the explain family)."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, Threshold
from cxaudit.checks.explain_common import (
    ExplainParams,
    additivity_metric,
    describe_sample,
    prepare,
    unknown_columns,
)
from cxaudit.context import AuditContext
from cxaudit.explain.reasons import ReasonWriter, Wording, principal_reasons
from cxaudit.explain.stats import interval, replicate_means
from cxaudit.result import Metric, Status


class ReasonCodesParams(ExplainParams):
    """Declaration of ``explain.reason_codes``."""

    max_reasons: int = Field(default=4, ge=1, le=4, description="Most reasons per decision.")
    min_contribution: float = Field(default=0.0, ge=0.0, description="A feature is a reason only "
                                    "if it pushed the score towards the adverse decision by more "
                                    "than this (in the explainer's output space).")
    threshold: Threshold = Field(default=Threshold(min=0.95), description="Least coverage: share "
                                 "of adverse decisions with at least one reason.")
    positive_outcome: str = Field(default="selected", description="The positive decision in "
                                  "words, completing 'customers who were …', e.g. 'offered a "
                                  "retention discount'.")
    examples: int = Field(default=5, ge=0, le=20, description="Example decisions in the details.")
    mask_features: list[str] = Field(default_factory=list, description="Features whose values "
                                     "are never shown in reasons.")
    units: dict[str, str] = Field(default_factory=dict, description="Units of numeric features "
                                  "for the sentences, e.g. {tenure: months}.")
    min_value_count: int = Field(default=5, ge=1, description="Category values seen fewer times "
                                 "in the sample are masked.")


class ReasonCodes(Check):
    """Principal reasons for adverse decisions, in plain language, with coverage.

    For every adverse decision in the explained sample — not selected for an
    assistive model (an offer), selected for a punitive one (a flag) — up to
    four features that pushed the score towards that decision, strongest
    first, each as a sentence built from the feature name, the customer's value
    and the direction: "tenure of 2 months is low compared with customers who
    were offered a retention discount (median 9 months)". Coverage is the (design-weighted)
    share of adverse decisions for which at least one reason could be given,
    with a bootstrap interval; it must reach the threshold. Coverage is
    estimated from the adverse decisions in the explained sample (raise
    ``sample_size`` for a tighter interval), not computed for every customer
    of a large table. Example decisions
    in the details show hashed customer ids; rare category values and
    features under ``mask_features`` are masked.

    Example::

        - id: adverse-action-reasons
          type: explain.reason_codes
          positive_outcome: offered a retention discount
          units: {tenure: months, MonthlyCharges: dollars a month}
          threshold: {min: 0.95}
    """

    type = "explain.reason_codes"
    params_model = ReasonCodesParams
    rule = "ECOA / Reg. B 12 CFR 1002.9 (principal reasons); GDPR Art. 22(3)"
    requires = frozenset({"model", "decision"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ReasonCodesParams = self.params  # type: ignore[assignment]
        unknown = unknown_columns([*params.mask_features, *params.units], ctx)
        if unknown:
            return CheckOutcome(status=Status.ERROR, summary="mask_features or units name columns "
                                f"that are not in the data: {', '.join(unknown)}; fix the policy.")
        shared, failure = prepare(ctx, params)
        if failure:
            return failure
        punitive = ctx.policy.system.intervention.value == "punitive"
        adverse_value, sign = (1, 1) if punitive else (0, -1)
        outcome = params.positive_outcome
        wording = (Wording(favourable=f"not {outcome}", adverse=outcome) if punitive
                   else Wording(favourable=outcome, adverse=f"not {outcome}"))
        decisions = shared.decisions
        adverse = np.flatnonzero(decisions == adverse_value)
        metrics = [additivity_metric(shared, params)]
        base = {**shared.describe(), "adverse_decision": wording.adverse,
                "sign": "SHAP > 0 pushes towards adverse" if sign > 0 else
                        "SHAP < 0 pushes towards adverse"}
        if len(adverse) == 0:
            return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=base,
                                summary=f"No adverse decisions ({wording.adverse}) in "
                                        f"{describe_sample(shared)}: no reasons are owed.")
        values = shared.explanation.values[adverse]
        reasons = principal_reasons(values, sign, params.max_reasons, params.min_contribution)
        covered = np.array([1.0 if r else 0.0 for r in reasons])
        w = shared.sample.weights[adverse]
        coverage = float(np.average(covered, weights=w))
        reps = replicate_means(covered[:, None], w, shared.counts[:, adverse])
        lo, hi = interval(reps, params.confidence)
        ok = params.threshold.holds(coverage)
        counts = np.array([float(len(r)) for r in reasons])
        per_decision = float(np.average(counts, weights=w))
        per_reps = replicate_means(counts[:, None], w, shared.counts[:, adverse])
        per_lo, per_hi = interval(per_reps, params.confidence)
        metrics += [
            Metric(name="reason_coverage", value=coverage, n=len(adverse),
                   ci=(float(lo[0]), float(hi[0])), threshold=params.threshold.as_dict(),
                   status=Status.PASS if ok else Status.FAIL,
                   note=f"share of adverse decisions ({wording.adverse}) with at least one reason"),
            Metric(name="reasons_per_decision", value=per_decision, n=len(adverse),
                   ci=(float(per_lo[0]), float(per_hi[0]))),
        ]
        names = shared.features
        principal = np.zeros(len(names))
        cited = np.zeros(len(names))
        for r, weight in zip(reasons, w, strict=True):
            if r:
                principal[r[0][0]] += weight
            for j, _ in r:
                cited[j] += weight
        total = float(w.sum())
        frequency = [{"feature": names[j], "principal_share": float(principal[j] / total),
                      "cited_share": float(cited[j] / total)}
                     for j in np.argsort(-principal, kind="stable") if cited[j] > 0]
        writer = ReasonWriter(shared.sample.rows, names, shared.sample.weights,
                              decisions != adverse_value, wording,
                              id_column=ctx.policy.data.id,
                              mask_features=set(params.mask_features),
                              min_value_count=params.min_value_count, units=params.units)
        rng = np.random.default_rng(ctx.seed)
        shown = np.sort(rng.choice(len(adverse), size=min(params.examples, len(adverse)),
                                   replace=False))
        examples = []
        space = shared.explanation.output_space
        for pick in shown:
            row = int(adverse[pick])
            examples.append({
                "customer": writer.customer(row),
                "score": float(shared.explanation.output[row]),
                "score_space": space,
                "decision": wording.adverse,
                "reasons": [{"feature": names[j], "shap_value": sign * c,
                             "text": writer.sentence(row, names[j])} for j, c in reasons[pick]],
            })
        top = ", ".join(f"{f['feature']} ({f['principal_share']:.0%})" for f in frequency[:3])
        summary = (f"{coverage:.1%} [{lo[0]:.1%}, {hi[0]:.1%}] of adverse decisions "
                   f"({wording.adverse}) have principal reasons (needs "
                   f"{params.threshold.describe()}), {per_decision:.1f} per decision on average; "
                   f"most frequent principal reasons: {top or 'none'}.")
        return CheckOutcome(status=Status.PASS if ok else Status.FAIL, summary=summary,
                            metrics=tuple(metrics),
                            details={**base, "coverage": coverage, "examples": examples,
                                     "reason_frequency": frequency,
                                     "adverse_in_sample": int(len(adverse))})
