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
from cxaudit.context import DECISION, AuditContext, group_column
from cxaudit.result import Metric, Status


class PracticalParams(CheckParams):
    """Declaration of ``eeoc.practical_significance``."""

    ratio: float = Field(default=0.8, gt=0.0, le=1.0, description="Impact ratio below which "
                         "adverse impact is indicated (four-fifths: 0.8).")
    flip: int = Field(default=2, ge=1, le=10, description="Decisions that may be flipped: a "
                      "shortfall of at most this many is not practically significant.")
    min_group_size: int = Field(default=1, ge=1, description="Smaller groups are "
                                "insufficient_data.")
    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all, with intersections).")


def shortfall(selected: int, n: int, best_rate: float, ratio: float) -> int:
    """Additional selections a group of ``n`` needs for its rate to reach ``ratio`` × best.

    Parameters
    ----------
    selected, n
        The group's selections and size.
    best_rate
        The highest group's selection rate.
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

    For each group whose selection rate is below ``ratio`` (0.8) of the highest
    group's, the shortfall is the number of additional selections that would
    lift it to the ratio. A shortfall of at most ``flip`` (2) decisions is the
    classic "flip-flop" case: the impact is not practically significant and the
    group warns; a larger shortfall fails. Groups at or above the ratio pass.
    It is a rule of thumb, not a legal finding; pair it with
    ``bias.selection_rate`` and ``block_on: significant`` for statistical
    significance.

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

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: PracticalParams = self.params  # type: ignore[assignment]
        metrics: list[Metric] = []
        failing, flip_flops, insufficient = [], [], []
        for attributes in ctx.group_sets(params.attributes):
            columns = [group_column(a) for a in attributes]
            counts = ctx.engine.count_by(ctx.frame, [*columns, DECISION])
            table = counts.pivot_table(index=columns, columns=DECISION, values="count",
                                       aggfunc="sum", fill_value=0).reindex(columns=[0, 1],
                                                                            fill_value=0)
            groups = {}
            for key, row in table.iterrows():
                key = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
                groups[key] = (int(row[1]), int(row[0] + row[1]))
            eligible = {k: v for k, v in groups.items() if v[1] >= params.min_group_size}
            if not eligible:
                continue
            best = max(s / n for s, n in eligible.values())
            for key, (selected, n) in sorted(groups.items()):
                group = dict(zip(attributes, key, strict=True))
                label = ", ".join(f"{a}={v}" for a, v in group.items())
                if key not in eligible:
                    insufficient.append(label)
                    metrics.append(Metric(name="shortfall", group=group, value=None, n=n,
                                          status=Status.INSUFFICIENT_DATA))
                    continue
                ratio = (selected / n) / best if best else 1.0
                short = shortfall(selected, n, best, params.ratio)
                if ratio >= params.ratio:
                    status = Status.PASS
                elif short <= params.flip:
                    status = Status.WARN
                    flip_flops.append(f"{label} ({short})")
                else:
                    status = Status.FAIL
                    failing.append(f"{label} ({short})")
                metrics.append(Metric(name="impact_ratio", group=group, value=ratio, n=n,
                                      threshold={"min": params.ratio}))
                metrics.append(Metric(name="shortfall", group=group, value=float(short), n=n,
                                      threshold={"max": float(params.flip)}, status=status,
                                      note=f"{selected} of {n} selected"))
        caveat = " The four-fifths rule is a rule of thumb, not a legal finding."
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), summary=(
                f"{len(failing)} group(s) would need more than {params.flip} additional "
                f"selection(s) to reach {params.ratio:g} of the highest rate (shortfall): "
                f"{'; '.join(failing[:4])}." + caveat))
        if flip_flops:
            return CheckOutcome(status=Status.WARN, metrics=tuple(metrics), summary=(
                f"{len(flip_flops)} group(s) fall below {params.ratio:g} but {params.flip} or "
                f"fewer more selections would lift them (not practically significant): "
                f"{'; '.join(flip_flops[:4])}." + caveat))
        return CheckOutcome(status=Status.PASS if metrics else Status.INSUFFICIENT_DATA,
                            metrics=tuple(metrics), summary=(
                                f"Every group reaches {params.ratio:g} of the highest selection "
                                "rate." + caveat if metrics else "No group to compare."))


CHECKS = (PracticalSignificance,)
