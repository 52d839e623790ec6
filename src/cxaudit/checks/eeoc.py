"""Practical significance of adverse impact under the Uniform Guidelines (29 CFR 1607.4(D)).

The four-fifths rule is a rule of thumb: a ratio below 0.8 on small numbers may
hinge on one or two decisions. This check reports, for every group below the
ratio, the shortfall (how many more selections the group would need) and the
"flip-flop" test (would selecting one or two more of its members lift it to
the ratio?). It reads the same 0/1 decisions as ``bias.selection_rate``.
"""

from __future__ import annotations

import math

from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.context import DECISION, UNKNOWN_GROUP, AuditContext, group_column
from cxaudit.result import Metric, Status


class PracticalParams(CheckParams):
    """Declaration of ``eeoc.practical_significance``."""

    ratio: float = Field(default=0.8, gt=0.0, le=1.0, description="Impact ratio below which "
                         "adverse impact is indicated (four-fifths: 0.8).")
    flip: int = Field(default=2, ge=1, le=10, description="Decisions that may be flipped: a "
                      "shortfall of at most this many is not practically significant.")
    min_group_size: int = Field(default=30, ge=1, description="Smaller groups are "
                                "insufficient_data and never the reference (default as in the "
                                "bias checks).")
    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all, with intersections).")


def shortfall(selected: int, n: int, best_rate: float, ratio: float) -> int:
    """Additional favourable outcomes a group of ``n`` needs to reach ``ratio`` × best.

    Parameters
    ----------
    selected, n
        The group's favourable outcomes (selections; for punitive decisions, rows
        not flagged) and size.
    best_rate
        The highest group's favourable rate.
    ratio
        The impact ratio to reach (0.8 for four-fifths).

    Returns
    -------
    int
        0 when the group already reaches it; at most ``n - selected``.
    """
    needed = math.ceil(ratio * best_rate * n - 1e-9) - selected
    return max(0, min(needed, n - selected))


class PracticalSignificance(Check):
    """Practical significance: does the four-fifths shortfall hinge on one or two decisions?

    The Uniform Guidelines define adverse impact on the rate of the favourable
    outcome: the selection rate for assistive decisions (an offer, a hire), the
    *not-flagged* rate for punitive ones (``system.intervention: punitive``: a
    flag, a refusal). For each group whose favourable rate is below ``ratio``
    (0.8) of the highest group's, the shortfall is the number of additional
    favourable outcomes — selections, or flags that would have to be lifted —
    that would bring it to the ratio. A shortfall of at most ``flip`` (2) is the
    classic "flip-flop" case: the impact is not practically significant and the
    group warns; a larger shortfall fails. Groups at or above the ratio pass.
    Only groups with at least ``min_group_size`` (30) rows are judged or serve
    as the highest-rate reference, and never the ``unknown`` group; a check
    that cannot judge any group is ``inconclusive``. It is a rule of thumb, not
    a legal finding; pair it with ``bias.selection_rate`` (``rate:
    favourable``) and ``block_on: significant`` for statistical significance.

    Failing example: 200 women with 70 selected (35 %) against men at 50 %:
    the ratio is 0.7 and 10 more selections are needed, far more than two.

    Example::

        - id: practical-significance
          type: eeoc.practical_significance
          ratio: 0.8
          flip: 2
    """

    type = "eeoc.practical_significance"
    params_model = PracticalParams
    rule = "29 CFR 1607.4(D) (practical significance)"
    requires = frozenset({"decision"})

    def count_needs(self, ctx: AuditContext) -> list[list[str]]:
        """Decisions per group of each attribute set (for the audit's count plan)."""
        params: PracticalParams = self.params  # type: ignore[assignment]
        return [[*(group_column(a) for a in s), DECISION] for s in ctx.group_sets(params.attributes)]

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.checks.bias.cells import counts_by

        params: PracticalParams = self.params  # type: ignore[assignment]
        punitive = ctx.policy.system.intervention.value == "punitive"
        favourable = 0 if punitive else 1  # the decision value that is the favourable outcome
        rate_name = "not_flagged_rate" if punitive else "selection_rate"
        unit = "flag(s) lifted" if punitive else "selection(s)"
        metrics: list[Metric] = []
        failing, flip_flops, insufficient = [], [], []
        judged = 0
        for attributes in ctx.group_sets(params.attributes):
            columns = [group_column(a) for a in attributes]
            counts = counts_by(ctx, [*columns, DECISION])
            table = counts.pivot_table(index=columns, columns=DECISION, values="count",
                                       aggfunc="sum", fill_value=0).reindex(columns=[0, 1],
                                                                            fill_value=0)
            groups = {}
            for key, row in table.iterrows():
                key = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
                groups[key] = (int(row[favourable]), int(row[0] + row[1]))
            eligible = {k: v for k, v in groups.items() if v[1] >= params.min_group_size}
            candidates = {k: v for k, v in eligible.items() if UNKNOWN_GROUP not in k}
            best_key = (max(sorted(candidates), key=lambda k: candidates[k][0] / candidates[k][1])
                        if candidates else None)
            best = candidates[best_key][0] / candidates[best_key][1] if best_key else None
            best_label = (", ".join(f"{a}={v}" for a, v in zip(attributes, best_key, strict=True))
                          if best_key else None)
            for key, (selected, n) in sorted(groups.items()):
                group = dict(zip(attributes, key, strict=True))
                label = ", ".join(f"{a}={v}" for a, v in group.items())
                if key not in eligible or best is None:
                    insufficient.append(label)
                    why = (f"fewer than {params.min_group_size} rows" if key not in eligible
                           else "no group has enough rows to serve as the reference")
                    metrics.append(Metric(name="shortfall", group=group, value=None, n=n,
                                          status=Status.INSUFFICIENT_DATA, note=why))
                    continue
                if key == best_key:
                    metrics.append(Metric(name="impact_ratio", group=group, value=1.0, n=n,
                                          threshold={"min": params.ratio}, direction="higher",
                                          note=f"reference (highest {rate_name})"))
                    metrics.append(Metric(name="shortfall", group=group, value=0.0, n=n,
                                          threshold={"max": float(params.flip)},
                                          status=Status.PASS, direction="lower",
                                          note="reference group"))
                    continue
                judged += 1
                ratio = (selected / n) / best if best else 1.0
                short = shortfall(selected, n, best, params.ratio)
                if ratio >= params.ratio:
                    status = Status.PASS
                elif short <= params.flip:
                    status = Status.WARN
                    flip_flops.append(f"{label} ({short} vs {best_label})")
                else:
                    status = Status.FAIL
                    failing.append(f"{label} ({short} vs {best_label})")
                what = "not flagged" if punitive else "selected"
                metrics.append(Metric(name="impact_ratio", group=group, value=ratio, n=n,
                                      threshold={"min": params.ratio}, direction="higher",
                                      note=f"{rate_name} against {best_label}"))
                metrics.append(Metric(name="shortfall", group=group, value=float(short), n=n,
                                      threshold={"max": float(params.flip)}, status=status,
                                      direction="lower",
                                      note=f"{selected} of {n} {what}; reference: {best_label}"))
        caveat = " The four-fifths rule is a rule of thumb, not a legal finding."
        basis = (" (punitive decisions: compared on the not-flagged rate, the favourable outcome)"
                 if punitive else "")
        details = {"rate": rate_name, "favourable_decision": favourable,
                   "min_group_size": params.min_group_size}
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=(
                f"{len(failing)} group(s) would need more than {params.flip} additional "
                f"{unit} to reach {params.ratio:g} of the highest {rate_name.replace('_', ' ')} "
                f"(shortfall){basis}: {'; '.join(failing[:4])}." + caveat))
        if flip_flops:
            return CheckOutcome(status=Status.WARN, metrics=tuple(metrics), details=details,
                                summary=(
                f"{len(flip_flops)} group(s) fall below {params.ratio:g} but {params.flip} or "
                f"fewer more {unit} would lift them (not practically significant){basis}: "
                f"{'; '.join(flip_flops[:4])}." + caveat))
        if judged == 0:
            return CheckOutcome(status=Status.INCONCLUSIVE, metrics=tuple(metrics),
                                details=details, summary=(
                f"Nothing could be judged: no two groups with at least {params.min_group_size} "
                f"rows to compare ({len(insufficient)} group(s) too small or without a "
                "reference)." + caveat))
        status = Status.INSUFFICIENT_DATA if insufficient else Status.PASS
        tail = (f" {len(insufficient)} group(s) could not be judged (insufficient data)."
                if insufficient else "")
        return CheckOutcome(status=status, metrics=tuple(metrics), details=details, summary=(
            f"Every judged group reaches {params.ratio:g} of the highest "
            f"{rate_name.replace('_', ' ')}{basis}.{tail}" + caveat))


CHECKS = (PracticalSignificance,)
