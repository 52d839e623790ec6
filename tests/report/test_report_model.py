"""The report's view model: verdict words, tones, rules that apply, baseline, sign-off."""

from __future__ import annotations

import json

import pytest

from cxaudit.render import render
from cxaudit.render.html import build_view, render_bundle
from cxaudit.render.html.sections import applies
from cxaudit.render.html.status import check_tone, verdict_words
from cxaudit.result import AuditResult, CheckResult, Severity, Status, Verdict, decide_verdict


def _check(cid: str, status: str, severity: str = "block", ctype: str = "data.x",
           **extra) -> CheckResult:
    return CheckResult(id=cid, type=ctype, status=Status(status), severity=Severity(severity),
                       summary=f"summary of {cid}", **extra)


def _result(*checks: CheckResult, system: dict | None = None) -> AuditResult:
    verdict, reason = decide_verdict(checks)
    return AuditResult(verdict=verdict, verdict_reason=reason, policy={"name": "p", "sha256": "0"},
                       system=system or {"name": "sys", "model_type": "churn"},
                       checks=checks, inputs={}, versions={"cxaudit": "0"})


@pytest.mark.parametrize("checks, word", [
    ((_check("a", "pass"),), "Pass"),
    ((_check("a", "pass"), _check("b", "fail", "warn")), "Pass with warnings"),
    ((_check("a", "fail"),), "Blocked by failures"),
    ((_check("a", "inconclusive"),), "Blocked by inconclusive checks"),
    ((_check("a", "fail"), _check("b", "inconclusive")), "Blocked by failures and inconclusive"),
    ((_check("a", "error"),), "Error — the gate fails closed"),
])
def test_verdict_in_words(checks, word):
    assert verdict_words(_result(*checks))["word"].startswith(word)


def test_blocking_failures_and_warnings_look_different():
    block, warn = check_tone(_check("a", "fail")), check_tone(_check("b", "fail", "warn"))
    assert (block.key, block.glyph, block.word) != (warn.key, warn.glyph, warn.word)
    html = render(_result(_check("a", "fail"), _check("b", "fail", "warn")), "html")
    assert 'class="tag t-block">✖ Blocking failure' in html
    assert 'class="tag t-warn">▲ Warning' in html


def test_unknown_status_is_shown_by_its_value():
    from cxaudit.render.html.status import status_tone

    tone = status_tone("newly_invented")
    assert tone.word == "Newly invented" and tone.glyph


def test_rules_that_do_not_apply_are_left_out_by_the_audits_own_data():
    """The standing of a rule is the check's: its law (jurisdiction, domains, dates) decided
    at audit time, never the citation's words."""
    from cxaudit.lawdates import AuditDate, LawMeta, standing
    from cxaudit.policy.model import System

    churn = System(name="s", model_type="churn", automation="human_in_the_loop")
    ll144 = LawMeta(jurisdiction="US-NY-NYC", domains=["employment"], confidence="Q")
    when = AuditDate(None, "no date")
    assert standing(ll144, churn, when).status == "not_applicable"   # advertising, not hiring
    hiring = System(name="s", domains=["employment"], jurisdictions=["US-NY"])
    assert standing(ll144, hiring, when).status is None
    gdpr = LawMeta(jurisdiction="EU", confidence="S")
    assert "jurisdictions US-NY" in standing(gdpr, hiring, when).reason
    assert standing(gdpr, churn, when).status is None              # no jurisdictions declared
    assert applies("Calibration within groups (Kleinberg et al. 2016)", []) == \
        "a method, not a rule"
    result = _result(_check("ll144", "not_applicable", "info", "bias.scoring_rate",
                            rule="NYC Local Law 144 (6 RCNY 5-301)",
                            law={"jurisdiction": "US-NY-NYC", "confidence": "Q",
                                 "standing": "covers employment decisions"}),
                     _check("c", "pass", rule="GDPR Art. 7(3)",
                            law={"jurisdiction": "EU", "confidence": "S",
                                 "note": "per secondary sources; verify against the official "
                                         "text"}))
    view = build_view(result)
    assert [r["rule"] for r in view["rules"]] == ["GDPR Art. 7(3)"]
    assert view["rules"][0]["confidence"] == "S" and "EU" in view["rules"][0]["where"]
    assert view["rules_left_out"] == [{"rule": "NYC Local Law 144 (6 RCNY 5-301)",
                                       "why": "covers employment decisions"}]
    md = render(result, "md")
    assert "[S] — per secondary sources; verify against the official text" in md


def test_baseline_panel_uses_report_diff():
    old = _result(_check("a", "pass"), _check("b", "fail"), _check("gone", "fail"))
    new = _result(_check("a", "fail"), _check("b", "pass"), _check("c", "error"))
    panel = build_view(new, baseline=old)["baseline"]
    assert [c["id"] for c in panel["worse"]] == ["a"]
    assert [c["id"] for c in panel["new"]] == ["c"]
    assert sorted(c["id"] for c in panel["resolved"]) == ["b", "gone"]
    assert panel["regressed"]
    assert "Since the baseline" in render(new, "html", baseline=old)
    assert "Since the baseline" in render(new, "md", baseline=old)
    assert build_view(new)["baseline"] is None


def test_render_bundle_fills_the_sign_off_from_the_approvals_log(tmp_path):
    from cxaudit.evidence.approvals import record_approval
    from cxaudit.evidence.bundle import write_bundle

    result = _result(_check("a", "pass"), _check("b", "fail", "warn"))
    assert result.verdict is Verdict.WARN
    write_bundle(tmp_path, result, ["json", "html", "md"], trail=False)
    before = (tmp_path / "audit.html").read_text()
    assert "to be signed" in before and "po@example.com" not in before
    record_approval(tmp_path, approver="po@example.com", role="release", comment="risk accepted",
                    trail=False)
    written = render_bundle(tmp_path)
    assert sorted(written) == ["html", "md"]
    after = (tmp_path / "audit.html").read_text()
    assert "po@example.com" in after and "risk accepted" in after
    assert after.count("to be signed") == before.count("to be signed") - 1
    # audit.json, and so the digest approvals bind, is untouched.
    assert json.loads((tmp_path / "audit.json").read_text())["verdict"] == "warn"
