"""Bias checks: group fairness metrics compared across customer groups.

Group metrics are functions of per-group counts, computed in one pass by the
engine (``count_by``); everything after that is arithmetic on a small table,
and the bootstrap is a multinomial draw over that table's cells.
"""

from __future__ import annotations

from cxaudit.checks.bias.auto import Auto, choose_metric
from cxaudit.checks.bias.compare import comparison_value, group_label
from cxaudit.checks.bias.count_checks import COUNT_CHECKS, SelectionRate
from cxaudit.checks.bias.outcome_checks import OUTCOME_CHECKS
from cxaudit.checks.bias.params import GroupComparisonParams
from cxaudit.checks.bias.score_checks import SCORE_CHECKS
from cxaudit.checks.bias.shift import ShiftStress
from cxaudit.checks.bias.slices import Slices

CHECKS = (*COUNT_CHECKS, *SCORE_CHECKS, *OUTCOME_CHECKS, Auto, Slices, ShiftStress)

__all__ = ["CHECKS", "Auto", "GroupComparisonParams", "SelectionRate", "choose_metric",
           "comparison_value", "group_label"]
