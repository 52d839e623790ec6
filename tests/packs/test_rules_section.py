"""The Rules covered section: citations split, grouped, worst outcome, in md and html."""

from __future__ import annotations

from cxaudit.render import render
from cxaudit.render.rules import rules_covered, split_citations, threshold_source
from cxaudit.result import AuditResult, CheckResult, Severity, Status, Verdict


def test_split_citations_keeps_brackets_together():
    assert split_citations("GDPR Art. 7(3); CJEU C-203/22") == ["GDPR Art. 7(3)", "CJEU C-203/22"]
    assert split_citations("EU AI Act Art. 10(3) (complete; representative)") == [
        "EU AI Act Art. 10(3) (complete; representative)"]
    assert split_citations(" ; ") == []


def test_threshold_source():
    assert threshold_source("Threshold (0.8) is set by the rule.") == "rule"
    assert threshold_source("Threshold is a cxaudit default.") == "cxaudit default"
    assert threshold_source("set by the rule; coverage is a cxaudit default") == (
        "rule and cxaudit default")
    assert threshold_source("no word on it") is None
    assert threshold_source(None) is None


def _check(cid, status, rule, description=None):
    return CheckResult(id=cid, type="governance.metadata", status=status, severity=Severity.BLOCK,
                       summary="s", rule=rule, description=description)


def _result():
    checks = (
        _check("a", Status.PASS, "GDPR Art. 7(3); GDPR Art. 35", "set by the rule"),
        _check("b", Status.FAIL, "GDPR Art. 35", "a cxaudit default"),
        _check("c", Status.WARN, None),
    )
    return AuditResult(verdict=Verdict.FAIL, verdict_reason="b failed",
                       policy={"name": "p", "sha256": "0" * 64}, system={"name": "s"},
                       checks=checks, inputs={})


def test_rules_grouped_with_worst_outcome():
    rows = rules_covered(_result())
    assert [r["rule"] for r in rows] == ["GDPR Art. 7(3)", "GDPR Art. 35"]
    assert rows[0]["outcome"] == "pass"
    assert rows[1]["outcome"] == "fail"
    assert [c["id"] for c in rows[1]["checks"]] == ["a", "b"]
    assert rows[1]["checks"][1]["threshold_source"] == "cxaudit default"


def test_reports_carry_the_section_and_disclaimer():
    result = _result()
    md = render(result, "md")
    section = md[md.index("### Rules covered"):]
    assert "| GDPR Art. 35 | `a` (pass; threshold: rule), `b` (fail; threshold: cxaudit default) |" \
        in section
    assert "Not legal advice" in section
    html = render(result, "html")
    assert "<h2>Rules covered</h2>" in html and 'href="#check-b"' in html
