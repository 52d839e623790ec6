"""Conformance of the bias judgment layer against an independent implementation (issue 16).

Hypothesis draws random data and random group structure (empty, single-class
and zero-rate groups, an ``unknown`` group), both interventions, every
confusion-count metric, ratio and difference, best / overall / named value /
mapping references, and intersections of 2 and 3 attributes. Each audit runs
through the real runner; every group value, reference, comparison, row outcome
and check status is recomputed here in plain pandas from the definitions
(issue 16 and docs/judgment.md), and group values and ratios are checked
against fairlearn's ``MetricFrame``.

The reference implementation below is deliberately written from the
definitions, not from cxaudit's code: rates from row masks, directions from a
literal table, references from the cell rule.
"""

from __future__ import annotations

import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxaudit.result import Status

from .conftest import audit_frame

UNKNOWN = "unknown"

#: metric: (numerator mask, denominator mask) over rows, from the definitions.
DEFINITIONS = {
    "selection_rate": (lambda y, d: d == 1, lambda y, d: np.ones_like(d, bool)),
    "true_positive_rate": (lambda y, d: (y == 1) & (d == 1), lambda y, d: y == 1),
    "false_positive_rate": (lambda y, d: (y == 0) & (d == 1), lambda y, d: y == 0),
    "false_negative_rate": (lambda y, d: (y == 1) & (d == 0), lambda y, d: y == 1),
    "true_negative_rate": (lambda y, d: (y == 0) & (d == 0), lambda y, d: y == 0),
    "precision": (lambda y, d: (y == 1) & (d == 1), lambda y, d: d == 1),
    "false_discovery_rate": (lambda y, d: (y == 0) & (d == 1), lambda y, d: d == 1),
    "false_omission_rate": (lambda y, d: (y == 1) & (d == 0), lambda y, d: d == 0),
    "negative_predictive_value": (lambda y, d: (y == 0) & (d == 0), lambda y, d: d == 0),
    "accuracy": (lambda y, d: y == d, lambda y, d: np.ones_like(d, bool)),
    "error_rate": (lambda y, d: y != d, lambda y, d: np.ones_like(d, bool)),
}

#: Which way is better for the group, per intervention (issue 16): rates of the
#: decision follow the intervention (positive-decision rates: assistive higher;
#: negative-decision rates: the reverse); quality metrics are fixed.
HIGHER_IS_BETTER = {
    "selection_rate": {"assistive": True, "punitive": False},
    "true_positive_rate": {"assistive": True, "punitive": False},
    "false_positive_rate": {"assistive": True, "punitive": False},
    "false_negative_rate": {"assistive": False, "punitive": True},
    "true_negative_rate": {"assistive": False, "punitive": True},
    "precision": {"assistive": True, "punitive": True},
    "negative_predictive_value": {"assistive": True, "punitive": True},
    "accuracy": {"assistive": True, "punitive": True},
    "false_discovery_rate": {"assistive": False, "punitive": False},
    "false_omission_rate": {"assistive": False, "punitive": False},
    "error_rate": {"assistive": False, "punitive": False},
}

ATTRS = ["a0", "a1", "a2"]
LEVELS = [["x", "y"], ["p", "q", "r"], ["m", "n"]]


@st.composite
def scenarios(draw):
    k = draw(st.integers(1, 3))
    attrs = ATTRS[:k]
    cells = list(product(*LEVELS[:k]))
    rows = []
    for cell in cells:
        n = draw(st.sampled_from([0, 0, 1, 3, 8, 15, 25, 40]))
        if n == 0:
            continue
        p_pos = draw(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]))
        p_sel = draw(st.sampled_from([0.0, 0.1, 0.4, 0.7, 1.0]))
        seed = draw(st.integers(0, 2**16))
        rng = np.random.default_rng(seed)
        y = (rng.random(n) < p_pos).astype(int)
        d = (rng.random(n) < p_sel).astype(int)
        rows += [(*cell, int(yi), int(di)) for yi, di in zip(y, d, strict=True)]
    if draw(st.booleans()):  # an unknown group (missing value) in the first attribute
        rest = [LEVELS[j][0] for j in range(1, k)]
        rows += [(None, *rest, v % 2, int(v % 3 == 0))
                 for v in range(draw(st.sampled_from([2, 12, 35])))]
    frame = pd.DataFrame(rows, columns=[*attrs, "y", "d"])
    # both label classes occur overall (a label absent everywhere is an input error)
    frame = pd.concat([frame, pd.DataFrame([(*[LEVELS[j][0] for j in range(k)], 0, 0),
                                            (*[LEVELS[j][0] for j in range(k)], 1, 1)],
                                           columns=frame.columns)], ignore_index=True)
    metric = draw(st.sampled_from(sorted(DEFINITIONS)))
    intervention = draw(st.sampled_from(["assistive", "punitive"]))
    compare = draw(st.sampled_from(["ratio", "difference"]))
    kind = draw(st.sampled_from(["best", "overall", "named", "mapping"]))
    if kind == "named":
        reference = draw(st.sampled_from(LEVELS[0]))
    elif kind == "mapping":
        named = draw(st.lists(st.sampled_from(attrs), min_size=1, max_size=k, unique=True))
        reference = {a: LEVELS[ATTRS.index(a)][0] for a in named}
    else:
        reference = kind
    min_group_size = draw(st.sampled_from([1, 5, 10, 20]))
    block_on = draw(st.sampled_from(["point_estimate", "significant"]))
    return {"frame": frame, "attrs": attrs, "metric": metric, "intervention": intervention,
            "compare": compare, "reference": reference, "min_group_size": min_group_size,
            "block_on": block_on}


# ---- the independent implementation -------------------------------------------------------

def _key(frame: pd.DataFrame, attrs: list[str]) -> pd.Series:
    parts = [frame[a].where(frame[a].notna(), UNKNOWN).astype(str) for a in attrs]
    return pd.Series(list(zip(*parts, strict=True)), index=frame.index)


def group_values(frame, attrs, metric):
    num_f, den_f = DEFINITIONS[metric]
    y, d = frame["y"].to_numpy(), frame["d"].to_numpy()
    num, den = num_f(y, d), den_f(y, d)
    keys = _key(frame, attrs)
    out = {}
    for key in sorted(set(keys)):
        m = (keys == key).to_numpy()
        n_den = int(den[m].sum())
        out[key] = {"n": int(m.sum()), "den": n_den,
                    "value": num[m & den].sum() / n_den if n_den else math.nan}
    overall_den = int(den.sum())
    overall = num[den].sum() / overall_den if overall_den else math.nan
    return out, overall


def oriented(value, ref, *, compare, hib):
    if compare == "difference":
        return abs(value - ref)
    num, den = (value, ref) if hib else (ref, value)
    if den == 0:
        return 1.0 if num == 0 else math.inf
    return num / den


def expected_rows(s):
    """{(attrs, key): expected row} and the expected check status."""
    frame, metric, compare = s["frame"], s["metric"], s["compare"]
    hib = HIGHER_IS_BETTER[metric][s["intervention"]]
    threshold = (0.8, None) if compare == "ratio" else (None, 0.1)
    sets = [[a] for a in s["attrs"]] + ([s["attrs"]] if len(s["attrs"]) > 1 else [])
    ref_spec = s["reference"]
    expected = {}
    for attrs in sets:
        values, overall = group_values(frame, attrs, metric)
        ok = {k: v["n"] >= s["min_group_size"] and v["den"] > 0 for k, v in values.items()}
        if isinstance(ref_spec, dict):
            mapping = {a: ref_spec[a] for a in attrs if a in ref_spec}
        elif ref_spec in ("best", "overall"):
            mapping = {}
        else:
            mapping = {a: ref_spec for j, a in enumerate(attrs)
                       if any(k[j] == ref_spec for k in values)}
        best = None
        if ref_spec != "overall" and not mapping:
            cands = [k for k in values if ok[k] and UNKNOWN not in k]
            if cands:
                pick = (max if hib else min)(values[k]["value"] for k in cands)
                best = next(k for k in sorted(cands) if values[k]["value"] == pick)
        for key, v in values.items():
            row = {"value": v["value"], "n": v["n"]}
            if ref_spec == "overall":
                ref_key, ref_value = None, overall
            elif mapping:
                ref_key = tuple(mapping.get(a, key[j]) for j, a in enumerate(attrs))
                ref_value = values[ref_key]["value"] if ref_key in values else math.nan
            else:
                ref_key = best
                ref_value = values[best]["value"] if best is not None else math.nan
            row["reference_key"] = ref_key
            ref_ok = ref_key is None and ref_spec == "overall" or (
                ref_key is not None and ref_key in values and ok[ref_key])
            if not ok[key] or not ref_ok:
                row["status"] = "insufficient_data"
                row["state"] = "insufficient"
            elif ref_key == key:
                row["status"], row["state"] = "pass", "reference"
                row["comparison"] = 1.0 if compare == "ratio" else 0.0
            else:
                c = oriented(v["value"], ref_value, compare=compare, hib=hib)
                row["comparison"], row["state"] = c, "compared"
                lo, hi = threshold
                row["holds"] = (lo is None or c >= lo) and (hi is None or c <= hi)
            expected[(tuple(attrs), key)] = row
    return expected, hib


def expected_status(rows):
    statuses = [r["status"] for r in rows]
    compared = sum(r["state"] == "compared" for r in rows)
    if "fail" in statuses:
        return "fail"
    if "inconclusive" in statuses:
        return "inconclusive"
    if compared == 0:
        return "inconclusive"
    if "insufficient_data" in statuses:
        return "insufficient_data"
    return "pass"


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if math.isinf(a) or math.isinf(b):
        return a == b
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


@settings(max_examples=160, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(s=scenarios())
def test_conformance(tmp_path, s):
    check = {"id": "c", "type": f"bias.{s['metric']}", "compare": s["compare"],
             "reference": s["reference"], "min_group_size": s["min_group_size"],
             "block_on": s["block_on"], "n_boot": 0}
    result = audit_frame(tmp_path, s["frame"], [check], protected=s["attrs"],
                         intersections=[list(s["attrs"])] if len(s["attrs"]) > 1 else [],
                         intervention=s["intervention"])
    [c] = result.checks
    if c.status is Status.ERROR:
        # only a named reference that occurs nowhere may stop the check
        assert "does not occur" in c.summary, c.summary
        assert not isinstance(s["reference"], str) or s["reference"] not in {
            str(v) for v in s["frame"][s["attrs"][0]].dropna()}
        return
    expected, hib = expected_rows(s)
    rows = {(tuple(r["attributes"]), tuple(r["group"][a] for a in r["attributes"])): r
            for r in c.details["comparisons"]}
    assert set(rows) == set(expected)
    alpha = c.details["alpha"]
    for k, want in expected.items():
        got = rows[k]
        assert got["n"] == want["n"]
        assert _same(got["value"], None if math.isnan(want["value"]) else want["value"])
        assert got["direction"] == ("higher" if hib else "lower")
        assert got["state"] == want["state"], (k, got, want)
        if want["reference_key"] is not None:
            assert got["reference_group"] == dict(zip(k[0], want["reference_key"], strict=True))
        elif s["reference"] == "overall":
            assert got["reference"] == "overall"
        if want["state"] == "compared":
            number = math.inf if got.get("comparison_infinite") else got["comparison"]
            assert _same(number, want["comparison"]), (k, got, want)
            if want["holds"]:
                want["status"] = "pass"
            elif s["block_on"] == "point_estimate":
                want["status"] = "fail"
            else:
                want["status"] = "fail" if got["p_adjusted"] < alpha else "inconclusive"
        assert got["status"] == want["status"], (k, got, want)
    assert c.status.value == expected_status(list(expected.values())), c.summary
    # strict JSON: an infinite comparison is null with a marker, never a bare Infinity
    text = result.to_json()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in audit.json"))
    for m in c.metrics:
        if m.value is not None and math.isinf(m.value):
            assert m.infinite


# ---- fairlearn: group values and ratios -----------------------------------------------------

def _fairlearn_metric(metric):
    num_f, den_f = DEFINITIONS[metric]

    def fn(y_true, y_pred):
        y, d = np.asarray(y_true), np.asarray(y_pred)
        den = den_f(y, d)
        return num_f(y, d)[den].sum() / den.sum() if den.sum() else np.nan
    return fn


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(s=scenarios())
def test_group_values_and_ratios_match_fairlearn(tmp_path, s):
    from fairlearn.metrics import MetricFrame

    frame = s["frame"].dropna()
    if frame.empty:
        return
    check = {"id": "c", "type": f"bias.{s['metric']}", "compare": "ratio", "min_group_size": 1,
             "n_boot": 0}
    result = audit_frame(tmp_path, frame, [check], protected=s["attrs"],
                         intersections=[list(s["attrs"])] if len(s["attrs"]) > 1 else [],
                         intervention=s["intervention"])
    [c] = result.checks
    for attrs in [[a] for a in s["attrs"]] + ([s["attrs"]] if len(s["attrs"]) > 1 else []):
        mf = MetricFrame(metrics=_fairlearn_metric(s["metric"]), y_true=frame["y"],
                         y_pred=frame["d"], sensitive_features=frame[attrs].astype(str))
        by_group = mf.by_group
        rows = [r for r in c.details["comparisons"] if r["attributes"] == attrs]
        for r in rows:
            key = tuple(r["group"][a] for a in attrs)
            want = by_group.loc[key if len(attrs) > 1 else key[0]]
            assert _same(r["value"], None if np.isnan(want) else float(want))
        defined = by_group.dropna()
        if len(defined) == len(rows) and len(rows) > 1 and (defined > 0).all():
            # every group is compared with the best-off: the smallest ratio is fairlearn's
            # between-groups ratio (min / max), whichever way the metric points
            smallest = min(r["comparison"] for r in rows)
            assert smallest == pytest.approx(float(mf.ratio(method="between_groups")), rel=1e-9)
