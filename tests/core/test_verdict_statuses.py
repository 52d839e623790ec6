"""The inconclusive and not_applicable statuses in the verdict (issue 15, "measured nothing")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxaudit.result import (
    SCHEMA_VERSION,
    AuditResult,
    CheckResult,
    Severity,
    Status,
    Verdict,
    audit_json_schema,
    decide_verdict,
)

SCHEMA = Path(__file__).resolve().parents[2] / "src/cxaudit/schemas/audit.schema.json"


def result(status: str, severity: str = "block", on_inconclusive: str = "block",
           waived: bool = False) -> CheckResult:
    return CheckResult(id=f"{status}-{severity}-{on_inconclusive}", type="t", status=Status(status),
                       severity=Severity(severity), summary="s", on_inconclusive=on_inconclusive,
                       waiver={"waivers": ["w"], "expires": "2099-01-01"} if waived else None)


def test_an_inconclusive_blocking_check_blocks_and_says_why():
    verdict, reason = decide_verdict([result("pass"), result("inconclusive")])
    assert verdict is Verdict.FAIL
    assert "inconclusive" in reason and "inconclusive-block-block" in reason
    assert "on_inconclusive: warn" in reason


def test_on_inconclusive_warn_only_warns():
    verdict, reason = decide_verdict([result("pass"), result("inconclusive", on_inconclusive="warn")])
    assert verdict is Verdict.WARN
    assert "inconclusive" in reason


@pytest.mark.parametrize("severity, verdict", [("warn", Verdict.WARN), ("info", Verdict.PASS)])
def test_inconclusive_below_block_severity(severity, verdict):
    assert decide_verdict([result("inconclusive", severity)])[0] is verdict


def test_a_waived_inconclusive_check_does_not_block():
    assert decide_verdict([result("inconclusive", waived=True)])[0] is Verdict.WARN


def test_failures_and_inconclusive_checks_are_both_named():
    verdict, reason = decide_verdict([result("fail"), result("inconclusive")])
    assert verdict is Verdict.FAIL
    assert "failed: fail-block-block" in reason and "inconclusive: inconclusive-block-block" in reason


@pytest.mark.parametrize("severity", ["block", "warn", "info"])
def test_not_applicable_never_blocks_and_never_warns(severity):
    verdict, reason = decide_verdict([result("pass"), result("not_applicable", severity)])
    assert verdict is Verdict.PASS
    assert "1 not applicable" in reason


def test_an_audit_where_nothing_applies_is_not_a_pass():
    assert decide_verdict([result("not_applicable")])[0] is Verdict.WARN


def test_schema_version_and_round_trip():
    assert SCHEMA_VERSION == "2.0"
    checks = (result("inconclusive", on_inconclusive="warn"), result("not_applicable"))
    verdict, reason = decide_verdict(checks)
    audit = AuditResult(verdict=verdict, verdict_reason=reason, policy={}, checks=checks, inputs={})
    again = AuditResult.from_json(audit.to_json())
    assert again == audit
    assert again.checks[0].on_inconclusive == "warn"
    # the verdict follows from audit.json alone
    assert decide_verdict(again.checks) == (verdict, reason)


def test_a_1_0_audit_still_loads():
    old = {"schema_version": "1.0", "verdict": "pass", "verdict_reason": "every check passed",
           "policy": {}, "checks": [{"id": "a", "type": "t", "status": "pass", "severity": "block",
                                     "summary": "s"}], "inputs": {}}
    loaded = AuditResult.from_json(json.dumps(old))
    assert loaded.checks[0].on_inconclusive == "block"


def test_shipped_schema_matches_the_model():
    shipped = json.loads(SCHEMA.read_text())
    assert shipped == json.loads(json.dumps(audit_json_schema()))
    assert shipped["$defs"]["Status"]["enum"] == [s.value for s in Status]


def test_schema_validates_an_audit():
    jsonschema = pytest.importorskip("jsonschema")
    checks = (result("inconclusive"), result("not_applicable"), result("pass"))
    verdict, reason = decide_verdict(checks)
    audit = AuditResult(verdict=verdict, verdict_reason=reason, policy={}, checks=checks, inputs={})
    jsonschema.validate(json.loads(audit.to_json()), json.loads(SCHEMA.read_text()))
    bad = json.loads(audit.to_json())
    bad["checks"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, json.loads(SCHEMA.read_text()))
