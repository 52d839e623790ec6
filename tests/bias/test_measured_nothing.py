"""A blocking check that measured nothing is inconclusive and blocks (issue 15).

Protected columns all null or constant, one row, a single label class, every
group under ``min_group_size``: today's ``warn``/exit 0 becomes
``inconclusive``, which blocks under severity ``block`` unless the check says
``on_inconclusive: warn``. A check where some comparisons were judged and
others had too little data keeps ``insufficient_data``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.result import Status, Verdict

from .conftest import audit_frame, cells_frame


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"g": rng.choice(["A", "B"], n), "y": rng.integers(0, 2, n),
                         "d": rng.integers(0, 2, n)})


def _nothing_cases() -> dict[str, tuple[pd.DataFrame, dict]]:
    base = _frame()
    all_null = base.assign(g=None)
    constant = base.assign(g="A")
    one_row = base.head(1)
    single_class = base.assign(y=1)
    small = base.head(40)
    return {
        "all-null protected column": (all_null, {"type": "bias.selection_rate"}),
        "constant protected column": (constant, {"type": "bias.selection_rate"}),
        "one row": (one_row, {"type": "bias.selection_rate"}),
        "single label class (TNR needs negatives)": (single_class,
                                                     {"type": "bias.true_negative_rate"}),
        "single label class (FPR needs negatives)": (single_class,
                                                     {"type": "bias.false_positive_rate"}),
        "every group under min_group_size": (small, {"type": "bias.selection_rate",
                                                     "min_group_size": 50}),
    }


@pytest.mark.parametrize("case", list(_nothing_cases()))
def test_a_check_that_measured_nothing_is_inconclusive_and_blocks(tmp_path, case):
    frame, check = _nothing_cases()[case]
    result = audit_frame(tmp_path, frame, [{"id": "c", "n_boot": 0, **check}], protected=["g"])
    [c] = result.checks
    assert c.status is Status.INCONCLUSIVE, c.summary
    assert c.summary.startswith("Nothing could be judged")
    assert result.verdict is Verdict.FAIL
    assert "inconclusive" in result.verdict_reason


@pytest.mark.parametrize("case", list(_nothing_cases()))
def test_on_inconclusive_warn_makes_it_a_warning(tmp_path, case):
    frame, check = _nothing_cases()[case]
    result = audit_frame(tmp_path, frame, [{"id": "c", "n_boot": 0, "on_inconclusive": "warn",
                                            **check}], protected=["g"])
    assert result.checks[0].status is Status.INCONCLUSIVE
    assert result.checks[0].on_inconclusive == "warn"
    assert result.verdict is Verdict.WARN


def test_practical_significance_that_measured_nothing_is_inconclusive(tmp_path):
    result = audit_frame(tmp_path, _frame().head(40), [
        {"id": "p", "type": "eeoc.practical_significance"}], protected=["g"])
    assert result.checks[0].status is Status.INCONCLUSIVE
    assert result.verdict is Verdict.FAIL


def test_some_judged_some_too_small_keeps_insufficient_data(tmp_path):
    frame = cells_frame({"A": [50, 50, 0, 0], "B": [55, 45, 0, 0], "C": [3, 2, 0, 0]})
    result = audit_frame(tmp_path, frame, [{"id": "c", "type": "bias.selection_rate",
                                            "n_boot": 0}], protected=["g"])
    [c] = result.checks
    assert c.status is Status.INSUFFICIENT_DATA, c.summary
    assert result.verdict is Verdict.WARN
    statuses = {m.group["g"]: m.status for m in c.metrics if m.name == "selection_rate_ratio"}
    assert statuses == {"A": Status.PASS, "B": Status.PASS, "C": Status.INSUFFICIENT_DATA}


def test_a_failure_still_decides_when_other_groups_are_small(tmp_path):
    frame = cells_frame({"A": [50, 50, 0, 0], "B": [80, 20, 0, 0], "C": [3, 2, 0, 0]})
    result = audit_frame(tmp_path, frame, [{"id": "c", "type": "bias.selection_rate",
                                            "n_boot": 0}], protected=["g"])
    assert result.checks[0].status is Status.FAIL
