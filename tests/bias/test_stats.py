"""The statistics module against scipy and against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cxaudit.stats import (
    benjamini_hochberg,
    compare_proportions,
    fisher_exact_test,
    minimum_detectable_effect,
    percentile_interval,
    two_proportion_z_test,
    wilson_interval,
)

counts = st.tuples(st.integers(1, 400), st.integers(1, 400)).flatmap(
    lambda n: st.tuples(st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1])))


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy(xn, confidence):
    x, n = xn
    low, high = wilson_interval(x, n, confidence)
    ref = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert low == pytest.approx(ref.low, abs=1e-12)
    assert high == pytest.approx(ref.high, abs=1e-12)


def test_wilson_zero_trials_is_undefined():
    low, high = wilson_interval(np.array([0, 3]), np.array([0, 10]))
    assert np.isnan(low[0]) and np.isnan(high[0]) and 0 < low[1] < high[1] < 1


@given(counts)
def test_z_test_matches_chi_square_without_correction(c):
    x1, n1, x2, n2 = c
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    p = two_proportion_z_test(x1, n1, x2, n2)
    if (table.sum(axis=0) == 0).any():  # a column of zeros: no variance, no evidence
        assert p == 1.0
        return
    ref = stats.chi2_contingency(table, correction=False).pvalue
    assert p == pytest.approx(ref, rel=1e-9, abs=1e-15)


@given(counts)
@settings(max_examples=60)
def test_fisher_matches_scipy(c):
    x1, n1, x2, n2 = c
    ref = stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert fisher_exact_test(x1, n1, x2, n2) == pytest.approx(ref, rel=1e-9, abs=1e-14)


def test_compare_proportions_switches_to_fisher_for_small_expected_counts():
    assert compare_proportions(1, 10, 4, 12)[1] == "fisher"
    assert compare_proportions(40, 100, 60, 100)[1] == "z"
    assert np.isnan(compare_proportions(0, 0, 3, 10)[0])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_benjamini_hochberg_matches_scipy(p):
    ours = benjamini_hochberg(p)
    ref = stats.false_discovery_control(np.array(p), method="bh")
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)


def test_benjamini_hochberg_ignores_missing_p_values():
    out = benjamini_hochberg([0.01, float("nan"), 0.04])
    np.testing.assert_allclose(out[[0, 2]], stats.false_discovery_control([0.01, 0.04]))
    assert np.isnan(out[1])


@pytest.mark.parametrize(("p_ref", "n1", "n2", "sign"),
                         [(0.3, 400, 600, 1), (0.1, 2000, 1500, 1), (0.6, 150, 3000, -1)])
def test_minimum_detectable_effect_has_at_least_80_percent_power(p_ref, n1, n2, sign):
    """At the reported MDE, a simulated z-test at alpha 0.05 rejects about 80% of the time.

    The MDE is the larger of the upward and downward gaps, so the power in the
    tested direction is at least 0.8 and close to it.
    """
    mde = minimum_detectable_effect(p_ref, n1, n2)
    rng = np.random.default_rng(11)
    x2 = rng.binomial(n2, p_ref, size=4000)
    x1 = rng.binomial(n1, p_ref + sign * mde, size=4000)
    rejected = np.mean([two_proportion_z_test(a, n1, b, n2) < 0.05
                        for a, b in zip(x1, x2, strict=True)])
    assert 0.78 <= rejected <= 0.86  # 4,000 simulations: sd of the rate ≈ 0.006


@given(st.integers(5, 60), st.integers(1, 4), st.floats(0.5, 0.99))
@settings(max_examples=40)
def test_percentile_interval_matches_numpy_nanquantile(rows, cols, confidence):
    rng = np.random.default_rng(rows * 7 + cols)
    reps = rng.normal(size=(rows, cols))
    reps[rng.random((rows, cols)) < 0.2] = np.nan
    low, high = percentile_interval(reps, confidence)
    alpha = (1 - confidence) / 2
    ok = np.isfinite(reps).sum(axis=0) * 2 >= rows
    for j in range(cols):
        if ok[j]:
            assert low[j] == pytest.approx(np.nanquantile(reps[:, j], alpha), abs=1e-12)
            assert high[j] == pytest.approx(np.nanquantile(reps[:, j], 1 - alpha), abs=1e-12)
        else:
            assert np.isnan(low[j]) and np.isnan(high[j])
