"""Rank correlation and top-k helpers against scipy and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from cxaudit.explain.stats import jaccard, spearman, spearman_rows, top_k, top_k_frequency


def test_spearman_matches_scipy_with_ties_and_constants():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.integers(0, 4, size=9).astype(float)  # many ties
        b = a + rng.integers(-2, 3, size=9)
        expected = spearmanr(a, b).statistic if np.ptp(a) and np.ptp(b) else np.nan
        assert spearman(a, b) == pytest.approx(expected, nan_ok=True)
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))


def test_spearman_rows_matches_scipy_row_by_row():
    rng = np.random.default_rng(1)
    a = np.round(rng.random((30, 7)), 1)
    b = np.round(a + rng.normal(scale=0.3, size=(30, 7)), 1)
    got = spearman_rows(a, b)
    expected = [spearmanr(x, y).statistic for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_top_k_and_frequency_by_brute_force():
    names = ["a", "b", "c", "d"]
    assert top_k(np.array([0.1, 0.5, 0.5, 0.2]), names, 2) == [1, 2]  # tie broken by name
    reps = np.array([[4, 3, 2, 1], [1, 4, 3, 2], [4, 1, 3, 2]], dtype=float)
    expected = np.mean([[r[i] >= sorted(r)[-2] for i in range(4)] for r in reps], axis=0)
    np.testing.assert_allclose(top_k_frequency(reps, 2), expected)
    assert jaccard({1, 2}, {2, 3}) == pytest.approx(1 / 3) and jaccard(set(), set()) == 1.0
