"""Is a gap between two groups real? Tests, FDR control and detectable effects."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri
from scipy.stats import hypergeom

#: Below this expected count in any cell of the 2×2 table, the z-test's normal
#: approximation is not trusted and Fisher's exact test is used instead.
FISHER_BELOW_EXPECTED = 5.0


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (H0: p1 == p2).

    Returns NaN when a sample is empty; 1.0 when both proportions are 0 or 1.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return float(math.erfc(abs(z) / math.sqrt(2.0)))


def fisher_exact_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value of the 2×2 table [[x1, n1-x1], [x2, n2-x2]].

    Sums the probabilities of every table with the same margins that is at
    most as likely as the observed one (the usual two-sided definition).
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan")
    total, successes = n1 + n2, x1 + x2
    dist = hypergeom(total, successes, n1)
    lo, hi = max(0, successes - n2), min(successes, n1)
    support = np.arange(lo, hi + 1)
    probs = dist.pmf(support)
    observed = dist.pmf(x1)
    # Relative tolerance: tables as likely as the observed one, up to rounding.
    p = probs[probs <= observed * (1.0 + 1e-7)].sum()
    return float(min(1.0, p))


def compare_proportions(x1: int, n1: int, x2: int, n2: int) -> tuple[float, str]:
    """p-value of H0 p1 == p2 and the test used: ``z`` or ``fisher``.

    Fisher's exact test is used when any expected cell count is below
    :data:`FISHER_BELOW_EXPECTED`.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), "none"
    total = n1 + n2
    successes = x1 + x2
    failures = total - successes
    expected = min(n1 * successes, n1 * failures, n2 * successes, n2 * failures) / total
    if expected < FISHER_BELOW_EXPECTED:
        return fisher_exact_test(x1, n1, x2, n2), "fisher"
    return two_proportion_z_test(x1, n1, x2, n2), "z"


def benjamini_hochberg(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (step-up, monotone, capped at 1).

    NaN entries are ignored (left NaN) and do not count as hypotheses.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    values = p[ok]
    order = np.argsort(values, kind="stable")
    ranked = values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    out[ok] = result
    return out


def minimum_detectable_effect(p_reference: float, n_group: int, n_reference: int, *,
                              alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest absolute gap in a proportion the pooled z-test detects with ``power``.

    Solves the usual power equation of the two-sided pooled two-proportion
    z-test, ``δ = z_{1-α/2}·sqrt(p̄q̄(1/n1+1/n2)) + z_{power}·sqrt(p1q1/n1 + p2q2/n2)``
    with ``p2`` the reference proportion and ``p1 = p2 ± δ``, by fixed-point
    iteration, and returns the larger of the upward and downward gaps (the
    gap detectable whichever way the group differs). A reference proportion
    of exactly 0 or 1 is treated as 0.5 (the conservative choice).
    """
    if n_group <= 0 or n_reference <= 0 or not math.isfinite(p_reference):
        return float("nan")
    p2 = p_reference if 0.0 < p_reference < 1.0 else 0.5
    z_a, z_b = float(ndtri(1.0 - alpha / 2.0)), float(ndtri(power))
    n1, n2 = float(n_group), float(n_reference)
    found = []
    for sign in (1.0, -1.0):
        delta = (z_a + z_b) * math.sqrt(p2 * (1 - p2) * (1 / n1 + 1 / n2))
        for _ in range(50):
            p1 = min(max(p2 + sign * delta, 1e-9), 1 - 1e-9)
            pooled = (n1 * p1 + n2 * p2) / (n1 + n2)
            new = (z_a * math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                   + z_b * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))
            if abs(new - delta) < 1e-12:
                break
            delta = new
        found.append(min(delta, 1.0))
    return max(found)


def mde_from_standard_error(standard_error: float, *, alpha: float = 0.05,
                            power: float = 0.8) -> float:
    """Smallest detectable gap given the standard error of the difference."""
    if not math.isfinite(standard_error):
        return float("nan")
    return float((ndtri(1.0 - alpha / 2.0) + ndtri(power)) * standard_error)
