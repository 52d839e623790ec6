"""``bias.auto``: choose the fairness metric from the intervention (Aequitas tree)."""

from __future__ import annotations

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.bias.count_checks import count_needs, run_count_metric
from cxaudit.checks.bias.metrics import COUNT_METRICS
from cxaudit.checks.bias.params import AutoParams
from cxaudit.context import AuditContext


def choose_metric(intervention: str, goal: str, has_label: bool) -> tuple[str, str]:
    """The metric the Aequitas fairness tree picks, and why (one sentence)."""
    if goal == "representation":
        return "selection_rate", ("the policy's goal is representation, so every group should "
                                  "receive positive decisions at a similar rate")
    if not has_label:
        return "selection_rate", ("error-rate parity needs observed outcomes (data.label), which "
                                  "this audit lacks, so selection-rate parity is checked instead")
    if intervention == "punitive":
        return "false_positive_rate", (
            "the intervention is punitive, so the harm to avoid is flagging customers who did "
            "nothing to deserve it: false positive rate parity")
    return "true_positive_rate", (
        "the intervention is assistive with a limited budget (offers, retention spend), so the "
        "harm to avoid is missing customers who needed help: true positive rate parity "
        "(equivalently, false negative rate parity)")


class Auto(Check):
    """Automatic metric choice: the fairness metric that fits the intervention.

    Follows the Aequitas fairness tree: a ``representation`` goal checks
    selection rates; otherwise a punitive intervention (a flag, a refusal)
    checks false positive rate parity, and an assistive one with scarce
    resources (retention offers, discounts) checks true positive rate parity.
    Without observed outcomes it falls back to selection rates. The summary
    and ``details.chosen_metric`` / ``details.why`` say what was chosen and why;
    every other parameter works as in the chosen check.

    Example::

        - id: fairness
          type: bias.auto
          goal: errors          # or: representation
          threshold: {min: 0.8}
    """

    type = "bias.auto"
    params_model = AutoParams
    requires = frozenset({"decision"})
    rule = "Aequitas fairness tree (Saleiro et al. 2018)"

    def count_needs(self, ctx: AuditContext) -> list[list[str]]:
        """Counts the chosen metric reads (for the audit's plan)."""
        params: AutoParams = self.params  # type: ignore[assignment]
        name, _ = choose_metric(ctx.policy.system.intervention.value, params.goal, ctx.has_label)
        return count_needs(ctx, params, COUNT_METRICS[name])

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: AutoParams = self.params  # type: ignore[assignment]
        name, why = choose_metric(ctx.policy.system.intervention.value, params.goal, ctx.has_label)
        prefix = f"Checked {name} ({why})."
        result = run_count_metric(ctx, params, COUNT_METRICS[name],
                                  extra_details={"chosen_metric": name, "why": why,
                                                 "summary_prefix": prefix})
        return result.model_copy(update={"summary": f"{prefix} {result.summary}"})
