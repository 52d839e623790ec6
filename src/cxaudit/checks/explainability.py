"""Explainability checks: what the model leans on, for whom, and why each customer lost out.

All five checks read one SHAP explanation per audit (:mod:`cxaudit.explain.shared`),
computed on a stratified sample by protected group × decision, with additivity
verified against the model's own output. A model that cannot be explained, or
whose explanations do not add up, makes every one of them ``error``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, Threshold
from cxaudit.checks.explain_common import (
    ExplainParams,
    additivity_metric,
    describe_sample,
    group_masks,
    importance_list,
    prepare,
    unknown_columns,
)
from cxaudit.checks.reason_codes import ReasonCodes
from cxaudit.context import AuditContext
from cxaudit.explain.stats import (
    interval,
    jaccard,
    ranking,
    replicate_means,
    spearman,
    spearman_rows,
    top_k,
    top_k_frequency,
    weighted_mean,
)
from cxaudit.result import Metric, Status

REQUIRES = frozenset({"model", "decision"})


class GlobalImportance(Check):
    """Global drivers: mean |SHAP| per input feature, with bootstrap intervals.

    SHAP values say how much each feature moved each customer's score away
    from the average score. Their mean absolute value over a stratified sample
    (by protected group × decision, default 2,000 rows, design-weighted) ranks
    the features the model actually leans on. Each figure carries a bootstrap
    interval (stratified resampling of the sample): its sampling error.
    Pipelines are explained in terms of their original input features
    (one-hot columns summed back to their source feature). The details hold
    the importance list, per-group importances, the explainer, the output
    space (log-odds or probability), the sample design and the additivity
    error. The check passes unless the model cannot be explained.

    Example::

        - id: global-drivers
          type: explain.global_importance
          sample_size: 2000
          severity: info
    """

    type = "explain.global_importance"
    params_model = ExplainParams
    rule = "GDPR Art. 13-15, 22 (meaningful information about the logic involved)"
    requires = REQUIRES

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ExplainParams = self.params  # type: ignore[assignment]
        shared, failure = prepare(ctx, params)
        if failure:
            return failure
        names, imp = shared.features, shared.importance
        lo, hi = shared.importance_interval(params.confidence)
        se = np.nanstd(shared.replicates, axis=0, ddof=1)
        order = ranking(imp, names)
        total = float(imp.sum()) or 1.0
        space = shared.explanation.output_space
        metrics = [additivity_metric(shared, params)]
        listing = []
        for rank, i in enumerate(order, start=1):
            metrics.append(Metric(name="mean_abs_shap", group={"feature": names[i]},
                                  value=float(imp[i]), n=shared.sample.size,
                                  ci=(float(lo[i]), float(hi[i])),
                                  note=f"rank {rank}; standard error {se[i]:.3g} ({space})"))
            listing.append({"feature": names[i], "rank": rank, "mean_abs_shap": float(imp[i]),
                            "ci": [float(lo[i]), float(hi[i])], "se": float(se[i]),
                            "share": float(imp[i] / total)})
        groups: dict[str, Any] = {}
        for attribute in ctx.protected:
            groups[attribute] = {}
            for key, mask in group_masks(shared, [attribute]).items():
                values = weighted_mean(shared.abs_values[mask], shared.sample.weights[mask])
                groups[attribute][key[0]] = {"n": int(mask.sum()),
                                             "importance": importance_list(names, values, order)}
        top = ", ".join(f"{d['feature']} ({d['mean_abs_shap']:.3g} "
                        f"[{d['ci'][0]:.3g}, {d['ci'][1]:.3g}])" for d in listing[:5])
        summary = (f"Top drivers by mean |SHAP| ({space}) over {describe_sample(shared)}: "
                   f"{top}. Explanations add up (max error "
                   f"{shared.explanation.additivity_max_error:.2g}).")
        return CheckOutcome(status=Status.PASS, summary=summary, metrics=tuple(metrics),
                            details={**shared.describe(), "importance": listing,
                                     "confidence": params.confidence, "groups": groups})


class ProtectedDriverParams(ExplainParams):
    """Declaration of ``explain.protected_driver``."""

    top_k: int = Field(default=5, ge=1, description="A protected attribute or proxy ranked this "
                       "high or higher fails the check.")
    proxies: list[str] | dict[str, list[str]] = Field(
        default_factory=list, description="Features known to stand in for a protected attribute: "
        "a list, or a mapping attribute: [features].")


class ProtectedDriver(Check):
    """A protected attribute, or a declared proxy for one, is among the model's top drivers.

    Leaving gender or age out of a model does not stop it from leaning on
    features that stand in for them (household composition, payment method,
    postcode). This check ranks features by mean |SHAP| and fails when a
    protected attribute that is a model input, or a feature declared as a
    proxy, ranks within ``top_k``. Each such feature reports its rank, a
    bootstrap interval for the rank, and the share of resamples in which it is
    in the top ``k``. Declared proxies that are not columns of the data are an
    error (a typo must not silently pass).

    Example::

        - id: no-protected-drivers
          type: explain.protected_driver
          top_k: 5
          proxies: {gender: [Partner, Dependents], SeniorCitizen: [PaymentMethod]}
    """

    type = "explain.protected_driver"
    params_model = ProtectedDriverParams
    rule = "EU AI Act Art. 10(2)(f) (examination for possible biases); ECOA / Reg. B"
    requires = REQUIRES

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ProtectedDriverParams = self.params  # type: ignore[assignment]
        declared = (dict(params.proxies) if isinstance(params.proxies, dict)
                    else {"": list(params.proxies)})
        unknown = unknown_columns([p for ps in declared.values() for p in ps], ctx)
        unknown += unknown_columns([a for a in declared if a and a not in ctx.protected], ctx)
        if unknown:
            return CheckOutcome(status=Status.ERROR, summary="Declared proxies are not columns of "
                                f"the data: {', '.join(unknown)}; fix the policy.")
        shared, failure = prepare(ctx, params)
        if failure:
            return failure
        names, imp = shared.features, shared.importance
        k = min(params.top_k, len(names))
        order = ranking(imp, names)
        rank_of = {names[i]: r for r, i in enumerate(order, start=1)}
        candidates: dict[str, str] = {a: "protected attribute" for a in ctx.protected
                                      if a in names}
        for attribute, features in declared.items():
            for feature in features:
                if feature in names and feature not in candidates:
                    candidates[feature] = f"proxy for {attribute}" if attribute else "proxy"
        replicate_ranks = np.argsort(np.argsort(-shared.replicates, axis=1, kind="stable"),
                                     axis=1) + 1
        frequency = top_k_frequency(shared.replicates, k)
        lo_rank, hi_rank = interval(replicate_ranks.astype(float), params.confidence)
        metrics = [additivity_metric(shared, params)]
        failing, rows = [], []
        for feature in sorted(candidates, key=lambda f: rank_of[f]):
            i = names.index(feature)
            rank = rank_of[feature]
            bad = rank <= k
            note = (f"{candidates[feature]}; in the top {k} in {frequency[i]:.0%} of bootstrap "
                    "resamples")
            metrics.append(Metric(name="importance_rank", group={"feature": feature},
                                  value=float(rank), n=shared.sample.size,
                                  ci=(float(lo_rank[i]), float(hi_rank[i])),
                                  threshold={"min": float(k + 1)},
                                  status=Status.FAIL if bad else Status.PASS, note=note))
            rows.append({"feature": feature, "role": candidates[feature], "rank": rank,
                         "mean_abs_shap": float(imp[i]), "top_k_share": float(frequency[i])})
            if bad:
                failing.append(f"{feature} ({candidates[feature]}) is driver #{rank} of "
                               f"{len(names)} (top {k} in {frequency[i]:.0%} of resamples)")
        absent = sorted({a for a in ctx.protected if a not in names}
                        | {p for ps in declared.values() for p in ps if p not in names})
        details = {**shared.describe(), "top_k": k, "candidates": rows,
                   "not_model_inputs": absent,
                   "top_drivers": importance_list(names, imp, order, limit=k)}
        if failing:
            return CheckOutcome(status=Status.FAIL, summary="; ".join(failing) + ".",
                                metrics=tuple(metrics), details=details)
        if not candidates:
            summary = (f"No protected attribute or declared proxy is a model input "
                       f"({', '.join(absent) or 'none declared'} are not); undeclared proxies "
                       "are not tested: list them under `proxies`.")
        else:
            shown = ", ".join(f"{r['feature']} #{r['rank']}" for r in rows)
            summary = (f"No protected attribute or declared proxy is among the top {k} drivers "
                       f"({shown} of {len(names)}).")
        return CheckOutcome(status=Status.PASS, summary=summary, metrics=tuple(metrics),
                            details=details)


class GroupDivergenceParams(ExplainParams):
    """Declaration of ``explain.group_divergence``."""

    threshold: Threshold = Field(default=Threshold(min=0.7), description="Least Spearman rank "
                                 "correlation between two groups' feature importances.")
    min_group_size: int = Field(default=50, ge=5, description="Groups with fewer sampled rows "
                                "are reported as insufficient_data.")
    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all, with declared intersections).")


class GroupDivergence(Check):
    """The model leans on different drivers for different customer groups.

    For each protected attribute (and declared intersection), the features are
    ranked by mean |SHAP| within each group, and every pair of groups is
    compared with Spearman's rank correlation over the features either group
    uses. A correlation below the threshold means the model decides about the
    groups on different grounds — worth explaining even when outcome rates
    look equal. Each correlation has a bootstrap interval.

    Example::

        - id: same-drivers-for-all
          type: explain.group_divergence
          threshold: {min: 0.7}
          min_group_size: 50
    """

    type = "explain.group_divergence"
    params_model = GroupDivergenceParams
    rule = "EU AI Act Art. 10(2)(f), Art. 13 (transparency)"
    requires = REQUIRES

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: GroupDivergenceParams = self.params  # type: ignore[assignment]
        stray = [a for a in (params.attributes or []) if a not in ctx.protected]
        if stray:
            return CheckOutcome(status=Status.ERROR, summary=f"attributes {stray} are not declared "
                                "under data.protected; list them there first.")
        if not ctx.protected:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA, summary="The policy declares no "
                                "protected attributes, so there are no groups to compare.")
        shared, failure = prepare(ctx, params)
        if failure:
            return failure
        names, w, absv = shared.features, shared.sample.weights, shared.abs_values
        order = ranking(shared.importance, names)
        metrics = [additivity_metric(shared, params)]
        failing, small, compared = [], [], 0
        details: dict[str, Any] = {**shared.describe(), "groups": {}, "pairs": []}
        for attributes in ctx.group_sets(params.attributes):
            label = " × ".join(attributes)
            masks = group_masks(shared, attributes)
            values = {key: weighted_mean(absv[m], w[m]) for key, m in masks.items()}
            details["groups"][label] = {
                ", ".join(key): {"n": int(masks[key].sum()),
                                 "importance": importance_list(names, values[key], order)}
                for key in masks}
            eligible = [key for key in masks if masks[key].sum() >= params.min_group_size]
            small += [", ".join(f"{a}={v}" for a, v in zip(attributes, key, strict=True))
                      for key in masks if key not in eligible]
            reps = {key: replicate_means(absv[masks[key]], w[masks[key]],
                                         shared.counts[:, masks[key]]) for key in eligible}
            for a, b in combinations(eligible, 2):
                used = (values[a] > 0) | (values[b] > 0)
                rho = spearman(values[a][used], values[b][used])
                boot = spearman_rows(reps[a][:, used], reps[b][:, used])
                lo, hi = interval(boot[:, None], params.confidence)
                ok = params.threshold.holds(rho)
                group = dict(zip(attributes, a, strict=True))
                other = ", ".join(f"{x}={v}" for x, v in zip(attributes, b, strict=True))
                this = ", ".join(f"{x}={v}" for x, v in group.items())
                status = (Status.INSUFFICIENT_DATA if np.isnan(rho) else
                          Status.PASS if ok else Status.FAIL)
                metrics.append(Metric(name="importance_rank_correlation", group=group,
                                      value=rho, n=int(masks[a].sum() + masks[b].sum()),
                                      ci=(float(lo[0]), float(hi[0])),
                                      threshold=params.threshold.as_dict(), status=status,
                                      note=f"against {other}; {int(used.sum())} features"))
                details["pairs"].append({"group": this, "against": other, "spearman": rho,
                                         "ci": [float(lo[0]), float(hi[0])]})
                if status is Status.FAIL:
                    failing.append(f"{this} vs {other} ({rho:.2f})")
                elif status is Status.PASS:
                    compared += 1
        if failing:
            status = Status.FAIL
            summary = (f"The model ranks its drivers differently across groups (Spearman below "
                       f"{params.threshold.describe()}): {'; '.join(failing[:4])}"
                       f"{' …' if len(failing) > 4 else ''}.")
        elif small or compared == 0:
            status = Status.INSUFFICIENT_DATA
            summary = (f"No pair of groups diverges, but {len(small)} group(s) have fewer than "
                       f"{params.min_group_size} sampled rows: {'; '.join(small[:4]) or 'none'}"
                       f" ({compared} comparisons made).")
        else:
            status = Status.PASS
            summary = (f"Groups share their drivers: every rank correlation of importances is "
                       f"{params.threshold.describe()} ({compared} comparisons).")
        return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics),
                            details=details)


class StabilityParams(ExplainParams):
    """Declaration of ``explain.stability``."""

    top_k: int = Field(default=5, ge=1, description="How many top drivers must be stable.")
    threshold: Threshold = Field(default=Threshold(min=0.8), description="Least mean Jaccard "
                                 "similarity between the sample's and each resample's top-k set.")


class Stability(Check):
    """The top drivers do not change when the explained sample is resampled.

    The top ``k`` features by mean |SHAP| are recomputed in every bootstrap
    resample of the stratified sample; the check reports the mean Jaccard
    similarity between each resample's top-k set and the full sample's, the
    share of resamples with exactly the same set, and how often each feature
    makes the top ``k``. Unstable drivers mean the explanation (and anything
    built on it: reason codes, protected-driver findings) depends on which
    customers were sampled — raise ``sample_size``.

    Example::

        - id: stable-drivers
          type: explain.stability
          top_k: 5
          threshold: {min: 0.8}
    """

    type = "explain.stability"
    params_model = StabilityParams
    rule = "EU AI Act Art. 15 (accuracy, robustness)"
    requires = REQUIRES

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: StabilityParams = self.params  # type: ignore[assignment]
        shared, failure = prepare(ctx, params)
        if failure:
            return failure
        names, reps = shared.features, shared.replicates
        k = min(params.top_k, len(names))
        full = set(top_k(shared.importance, names, k))
        replicate_sets = np.argsort(-reps, axis=1, kind="stable")[:, :k]
        scores = np.array([jaccard(full, set(row.tolist())) for row in replicate_sets])
        same = float(np.mean(scores == 1.0))
        value = float(scores.mean())
        ok = params.threshold.holds(value)
        frequency = top_k_frequency(reps, k)
        seen = [i for i in np.argsort(-frequency, kind="stable") if frequency[i] > 0]
        metrics = [additivity_metric(shared, params),
                   Metric(name="top_k_jaccard", value=value, n=int(len(scores)),
                          threshold=params.threshold.as_dict(),
                          status=Status.PASS if ok else Status.FAIL,
                          note=f"top {k}; identical set in {same:.0%} of resamples")]
        metrics += [Metric(name="top_k_frequency", group={"feature": names[i]},
                           value=float(frequency[i]), n=int(len(scores))) for i in seen]
        top = ", ".join(names[i] for i in top_k(shared.importance, names, k))
        verdict = "stable" if ok else "unstable"
        summary = (f"The top {k} drivers ({top}) are {verdict} across {len(scores)} resamples: "
                   f"mean Jaccard similarity {value:.2f} (needs {params.threshold.describe()}), "
                   f"identical set in {same:.0%}.")
        details = {**shared.describe(), "top_k": k, "mean_jaccard": value, "identical": same,
                   "frequency": [{"feature": names[i], "share": float(frequency[i])}
                                 for i in seen]}
        return CheckOutcome(status=Status.PASS if ok else Status.FAIL, summary=summary,
                            metrics=tuple(metrics), details=details)

from cxaudit.checks.counterfactual import CounterfactualFlip  # noqa: E402 - issue 20

CHECKS = (GlobalImportance, ProtectedDriver, GroupDivergence, ReasonCodes, Stability,
          CounterfactualFlip)

__all__ = ["CHECKS", "ExplainParams", "GlobalImportance", "GroupDivergence", "ProtectedDriver",
           "ReasonCodes", "Stability"]
