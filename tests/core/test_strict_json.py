"""audit.json is strict JSON: no bare NaN or Infinity ever reaches the file."""

from __future__ import annotations

import json
import math

import pytest

from cxaudit.result import AuditResult, CheckResult, Metric, Severity, Status, Verdict


def _result(metric: Metric, details: dict | None = None) -> AuditResult:
    check = CheckResult(id="c", type="bias.selection_rate", status=Status.FAIL,
                        severity=Severity.BLOCK, summary="s", metrics=(metric,),
                        details=details or {})
    return AuditResult(verdict=Verdict.FAIL, verdict_reason="c failed",
                       policy={"name": "p", "sha256": "0" * 64}, checks=(check,), inputs={})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_values_are_written_as_null(value):
    text = _result(Metric(name="ratio", value=value, ci=(value, 1.0), p_value=value)).to_json()
    metric = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in audit.json"))
    metric = metric["checks"][0]["metrics"][0]
    assert metric["value"] is None and metric["p_value"] is None and metric["ci"][0] is None


def test_a_non_finite_detail_never_reaches_the_file_as_a_bare_constant():
    text = _result(Metric(name="ratio", value=0.5), {"gap": math.nan, "n": [math.inf]}).to_json()
    details = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}"))
    assert details["checks"][0]["details"] == {"gap": None, "n": [None]}
