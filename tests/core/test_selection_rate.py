"""bias.selection_rate agrees with fairlearn on raw rows and handles edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate

from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status
from cxaudit.runner import audit_loaded

POLICY = """\
cxaudit: 1
system: {{name: t, intervention: {intervention}}}
data:
  prediction: decision
  positive: 1
  protected: [g, h]
  intersections: [[g, h]]
checks:
  - id: parity
    type: bias.selection_rate
    min_group_size: {min_group_size}
    {extra}
"""


def run(write, frame, *, intervention="assistive", min_group_size=1, extra=""):
    path = write("p.yaml", POLICY.format(intervention=intervention, min_group_size=min_group_size,
                                         extra=extra))
    result = audit_loaded(load_policy(path), frame, engine=LocalEngine())
    return result.checks[0]


def metric(check, name, group):
    (found,) = [m for m in check.metrics if m.name == name and m.group == group]
    return found


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 5000
    g = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    h = rng.choice(["x", "y"], size=n)
    rate = np.select([g == "a", g == "b"], [0.30, 0.22], 0.27)
    return pd.DataFrame({"g": g, "h": h, "decision": (rng.random(n) < rate).astype(int)})


def test_group_rates_and_ratio_match_fairlearn(write, frame):
    check = run(write, frame)
    frame_g = MetricFrame(metrics=selection_rate, y_true=frame["decision"],
                          y_pred=frame["decision"], sensitive_features=frame["g"])
    for group, value in frame_g.by_group.items():
        assert metric(check, "selection_rate", {"g": group}).value == pytest.approx(value, abs=1e-12)
    ratios = [m.value for m in check.metrics
              if m.name == "selection_rate_ratio" and set(m.group) == {"g"}]
    expected = demographic_parity_ratio(frame["decision"], frame["decision"],
                                        sensitive_features=frame["g"])
    assert min(ratios) == pytest.approx(expected, abs=1e-12)
    inter = MetricFrame(metrics=selection_rate, y_true=frame["decision"], y_pred=frame["decision"],
                        sensitive_features=frame[["g", "h"]])
    for (g, h), value in inter.by_group.items():
        assert metric(check, "selection_rate", {"g": g, "h": h}).value == pytest.approx(value,
                                                                                        abs=1e-12)
    # b's rate is about 0.22/0.30 of a's: below four-fifths, so the check fails.
    assert check.status is Status.FAIL
    assert metric(check, "selection_rate_ratio", {"g": "b"}).status is Status.FAIL


def test_punitive_direction_uses_lowest_rate_as_best(write, frame):
    check = run(write, frame, intervention="punitive")
    rates = frame.groupby("g")["decision"].mean()
    for group in rates.index:
        assert metric(check, "selection_rate_ratio", {"g": group}).value == pytest.approx(
            rates.min() / rates[group], abs=1e-12)


def test_difference_against_named_reference(write, frame):
    check = run(write, frame, extra="compare: difference\n    reference: {g: c, h: x}\n"
                "    attributes: [g, h]\n    threshold: {max: 0.5}")
    rates = frame.groupby(["g", "h"])["decision"].mean()
    got = metric(check, "selection_rate_difference", {"g": "a", "h": "y"}).value
    assert got == pytest.approx(abs(rates[("a", "y")] - rates[("c", "x")]), abs=1e-12)
    assert check.status is Status.PASS


def test_small_groups_are_insufficient_never_pass(write):
    frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 5, "h": ["x"] * 45,
                          "decision": [1, 0] * 20 + [1] * 5})
    check = run(write, frame, min_group_size=30, extra="attributes: [g]")
    # a is the reference and b is too small: no comparison was judged, so the check measured
    # nothing and is inconclusive (issue 15) -- still never a pass
    assert check.status is Status.INCONCLUSIVE
    assert metric(check, "selection_rate_ratio", {"g": "b"}).status is Status.INSUFFICIENT_DATA


def test_missing_attribute_values_form_an_unknown_group(write):
    frame = pd.DataFrame({"g": ["a", None, "b", "", "a", "b"], "h": ["x"] * 6,
                          "decision": [1, 0, 1, 1, 0, 0]})
    check = run(write, frame, extra="attributes: [g]")
    assert metric(check, "selection_rate", {"g": "unknown"}).n == 2
    assert metric(check, "selection_rate", {"g": "unknown"}).value == 0.5
