"""Reason sentences and principal-reason selection on hand-made rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxaudit.explain.reasons import ReasonWriter, Wording, principal_reasons, weighted_median
from cxaudit.masking import hash_id


def test_principal_reasons_pick_the_strongest_adverse_pushes():
    values = np.array([[-0.5, 0.3, -0.1, -0.9, 0.0],
                       [0.2, 0.1, 0.4, 0.3, 0.05]])
    # assistive: negative SHAP pushes towards "not selected"
    assert principal_reasons(values, -1, 4, 0.0) == [[(3, 0.9), (0, 0.5), (2, 0.1)], []]
    assert principal_reasons(values, -1, 1, 0.0) == [[(3, 0.9)], []]
    assert principal_reasons(values, -1, 4, 0.2) == [[(3, 0.9), (0, 0.5)], []]
    # punitive: positive SHAP pushes towards "flagged"
    assert [j for j, _ in principal_reasons(values, 1, 2, 0.0)[1]] == [2, 3]


def test_weighted_median_against_expanded_rows():
    values = np.array([5.0, 1.0, 3.0, 9.0])
    weights = np.array([1.0, 3.0, 1.0, 1.0])
    expanded = np.repeat(values, weights.astype(int))  # 1,1,1,3,5,9 → lower median 1
    assert weighted_median(values, weights) == np.sort(expanded)[(len(expanded) - 1) // 2]


def test_sentences_compare_with_favourable_customers_and_mask_what_identifies():
    rows = pd.DataFrame({
        "customerID": ["A-1", "B-2", "C-3", "D-4", "E-5", "F-6"],
        "tenure": [2, 40, 50, 3, 60, 1],
        "Contract": ["Two year", "Two year", "Month-to-month", "Month-to-month",
                     "Two year", "One year"],
        "postcode": ["10115", "10117", "10119", "10115", "10117", "10119"],
    })
    favourable = np.array([False, False, True, True, False, True])
    writer = ReasonWriter(rows, ("tenure", "Contract", "postcode"), np.ones(6), favourable,
                          Wording("offered a discount", "not offered a discount"),
                          id_column="customerID", mask_features={"postcode"}, min_value_count=2,
                          units={"tenure": "months"})
    # favourable tenures 50, 3, 1 → median 3
    assert writer.sentence(1, "tenure") == ("tenure of 40 months is high compared with customers "
                                            "who were offered a discount (median 3 months)")
    # "Two year": 0 of 3 favourable, 3 of 3 adverse
    assert writer.sentence(0, "Contract") == (
        'Contract is "Two year": 0% of customers who were offered a discount have this value, '
        "against 100% of customers who were not offered a discount")
    one_year = writer.sentence(5, "Contract")  # seen once < min_value_count: masked
    assert "One year" not in one_year and "O******r" in one_year
    assert "10119" not in writer.sentence(2, "postcode")
    assert writer.customer(3) == hash_id("D-4")
