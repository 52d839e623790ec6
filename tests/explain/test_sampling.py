"""The stratified sample, its design weights and its bootstrap error, against hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.context import DECISION, build_context, group_column
from cxaudit.engines.local import LocalEngine
from cxaudit.explain.sampling import allocate, bootstrap_counts, draw_sample
from cxaudit.explain.stats import interval, replicate_means, weighted_mean
from cxaudit.policy.loader import load_policy


def test_allocation_is_proportional_with_floor_and_cap():
    counts = {("a",): 9000, ("b",): 900, ("c",): 80, ("d",): 20}
    got = allocate(counts, size=1000, floor=30)
    # proportional shares 900.0, 90.0, 8.0, 2.0 → floors lift c and d to 30, d capped at 20
    assert got == {("a",): 900, ("b",): 90, ("c",): 30, ("d",): 20}
    assert allocate(counts, size=20_000, floor=30) == counts  # census when the data is small


def test_allocation_rounds_by_largest_remainder():
    counts = {("a",): 1, ("b",): 1, ("c",): 1}
    got = allocate({k: v * 100 for k, v in counts.items()}, size=100, floor=1)
    assert sorted(got.values()) == [33, 33, 34] and sum(got.values()) == 100


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """5% minority group with very different values: oversampled, so weights matter."""
    rng = np.random.default_rng(11)
    n = 40_000
    g = np.where(rng.random(n) < 0.05, "minority", "majority")
    decision = (rng.random(n) < np.where(g == "minority", 0.6, 0.2)).astype(int)
    value = np.where(g == "minority", 10.0, 0.0) + decision * 3.0 + rng.normal(size=n)
    frame = pd.DataFrame({"g": g, "decision": decision, "value": value,
                          "id": np.arange(n)})
    path = tmp_path_factory.mktemp("sampling") / "p.yaml"
    path.write_text("cxaudit: 1\nsystem: {name: s}\ndata: {prediction: decision, positive: 1, "
                    "protected: [g]}\n")
    ctx = build_context(load_policy(path), frame, LocalEngine(), seed=5)
    return frame, ctx


def test_sample_follows_the_allocation_and_weights_sum_to_the_population(skewed):
    frame, ctx = skewed
    sample = draw_sample(ctx, size=800, floor=150, columns=["value", "id"], seed=1)
    counts = frame.groupby(["g", "decision"]).size()
    for (g, d), population in counts.items():
        in_stratum = (sample.rows[group_column("g")] == g) & (sample.rows[DECISION] == d)
        expected = allocate({(k[0], str(k[1])): int(v) for k, v in counts.items()}, 800, 150)
        assert in_stratum.sum() == expected[(g, str(d))]
        assert sample.weights[in_stratum.to_numpy()].sum() == pytest.approx(population)
    assert sample.rows["id"].is_unique
    # the sampled rows are the population's own rows, with their own values
    original = frame.set_index("id").loc[sample.rows["id"], "value"].to_numpy()
    np.testing.assert_array_equal(original, sample.rows["value"].to_numpy())
    again = draw_sample(ctx, size=800, floor=150, columns=["value", "id"], seed=1)
    pd.testing.assert_frame_equal(sample.rows, again.rows)


def test_weighted_estimate_is_unbiased_and_bootstrap_error_matches_the_formula(skewed):
    frame, ctx = skewed
    sample = draw_sample(ctx, size=1000, floor=200, columns=["value"], seed=2)
    values = sample.rows[["value"]].to_numpy()
    estimate = weighted_mean(values, sample.weights)[0]
    # Analytic standard error of a stratified mean: sqrt(sum (N_h/N)^2 s_h^2 / n_h).
    N = len(frame)
    var = 0.0
    for h in np.unique(sample.strata):
        members = values[sample.strata == h, 0]
        share = sample.weights[sample.strata == h].sum() / N
        var += share**2 * members.var(ddof=1) / len(members)
    se = np.sqrt(var)
    assert abs(estimate - frame["value"].mean()) < 4 * se
    # the unweighted mean is biased by the oversampled minority: the weights are needed
    assert abs(values.mean() - frame["value"].mean()) > 10 * se
    counts = bootstrap_counts(sample.strata, 400, seed=3)
    for h in np.unique(sample.strata):  # each replicate keeps every stratum's size
        assert (counts[:, sample.strata == h].sum(axis=1) == (sample.strata == h).sum()).all()
    replicates = replicate_means(values, sample.weights, counts)
    assert np.std(replicates[:, 0], ddof=1) == pytest.approx(se, rel=0.2)
    lo, hi = interval(replicates, 0.95)
    assert lo[0] < estimate < hi[0]
