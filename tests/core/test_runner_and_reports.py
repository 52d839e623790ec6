"""Runner: fail-closed errors and broken plugins. Reports: determinism and escaping."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.metadata import EntryPoint

import pandas as pd
import pytest

from cxaudit.checks import registry as registry_module
from cxaudit.checks.base import Check
from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.render import render, write_reports
from cxaudit.result import AuditResult, Severity, Status, Verdict
from cxaudit.runner import audit_loaded

POLICY = """\
cxaudit: 1
system: {name: "<script>alert(1)</script> offers"}
data:
  prediction: decision
  positive: 1
  protected: [g]
checks:
  - id: parity
    type: bias.selection_rate
    severity: SEVERITY
    min_group_size: 2
"""


class Exploding(Check):
    """A check that raises, to prove the gate fails closed."""

    type = "bias.selection_rate"

    def run(self, ctx):
        raise RuntimeError("boom")


@pytest.fixture
def frame():
    return pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "decision": [1, 0, 1, 1, 0]})


@pytest.fixture
def exploding_registry(monkeypatch):
    real = registry_module.load_registry()
    fake = registry_module.Registry(checks={**real.checks, Exploding.type: Exploding})
    monkeypatch.setattr("cxaudit.runner.load_registry", lambda: fake)


@pytest.mark.parametrize("severity, verdict", [("block", Verdict.ERROR), ("warn", Verdict.WARN)])
def test_a_crashing_check_never_passes(write, frame, exploding_registry, severity, verdict):
    policy = load_policy(write("p.yaml", POLICY.replace("SEVERITY", severity)))
    result = audit_loaded(policy, frame, engine=LocalEngine())
    (check,) = result.checks
    assert check.status is Status.ERROR and check.error == "RuntimeError: boom"
    assert result.verdict is verdict


def test_a_broken_plugin_is_reported_and_others_still_load(monkeypatch):
    good = EntryPoint("bias", "cxaudit.checks.bias", "cxaudit.checks")
    broken = EntryPoint("broken", "cxaudit_no_such_module", "cxaudit.checks")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [good, broken])
    registry_module.load_registry.cache_clear()
    try:
        loaded = registry_module.load_registry()
        assert "bias.selection_rate" in loaded.checks
        assert "ModuleNotFoundError" in loaded.broken["broken"]
    finally:
        registry_module.load_registry.cache_clear()


def test_json_is_deterministic_apart_from_run_and_round_trips(write, frame):
    policy = load_policy(write("p.yaml", POLICY.replace("SEVERITY", "block")))
    first = audit_loaded(policy, frame, engine=LocalEngine())
    second = audit_loaded(policy, frame, engine=LocalEngine())
    strip = lambda r: {k: v for k, v in json.loads(r.to_json()).items() if k != "run"}  # noqa: E731
    assert strip(first) == strip(second)
    assert AuditResult.from_json(first.to_json()) == first


def test_reports_escape_html_and_parse(write, frame, tmp_path):
    policy = load_policy(write("p.yaml", POLICY.replace("SEVERITY", "block")))
    result = audit_loaded(policy, frame, engine=LocalEngine())
    html = render(result, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert html.index('id="verdict"') < html.index("parity")  # the verdict comes first
    suite = ET.fromstring(render(result, "junit"))
    assert suite.get("tests") == "1"
    md = render(result, "md")
    assert md.startswith("## ") and "`parity`" in md
    written = write_reports(result, tmp_path / "r", ["json", "md"])
    assert sorted(written) == ["json", "md"]
    assert not list((tmp_path / "r").glob(".*.tmp"))


def test_verdict_rules():
    from cxaudit.result import CheckResult, decide_verdict

    def result(status, severity="block"):
        return CheckResult(id=f"{status}-{severity}", type="t", status=Status(status),
                           severity=Severity(severity), summary="s")

    assert decide_verdict([result("pass")])[0] is Verdict.PASS
    assert decide_verdict([result("pass"), result("fail", "warn")])[0] is Verdict.WARN
    assert decide_verdict([result("insufficient_data")])[0] is Verdict.WARN
    assert decide_verdict([result("fail"), result("error", "warn")])[0] is Verdict.FAIL
    assert decide_verdict([result("fail"), result("error")])[0] is Verdict.ERROR
    assert decide_verdict([result("fail", "info")])[0] is Verdict.PASS
    assert decide_verdict([])[0] is Verdict.WARN


def test_junit_is_red_exactly_where_the_gate_stops():
    """Every status × severity (× waived): a red testcase iff that check alone stops the gate."""
    import itertools

    from cxaudit.render.junit import render_junit
    from cxaudit.result import AuditResult, CheckResult, Verdict, decide_verdict

    checks = []
    for status, severity, waived in itertools.product(Status, Severity, (False, True)):
        checks.append(CheckResult(
            id=f"{status.value}-{severity.value}-{'waived' if waived else 'open'}", type="t",
            status=status, severity=severity, summary=f"summary of {status.value}",
            waiver={"waivers": ["w-1"], "expires": "2099-01-01"} if waived else None))
    result = AuditResult(verdict=Verdict.WARN, verdict_reason="r", policy={}, checks=tuple(checks),
                         inputs={})
    suite = ET.fromstring(render_junit(result))
    red = {case.get("name") for case in suite if case.find("failure") is not None
           or case.find("error") is not None}
    stops = {c.id for c in checks if decide_verdict((c,))[0] in (Verdict.FAIL, Verdict.ERROR)}
    assert red == stops and red  # the report's red cases are the gate's reasons, no more
    skipped = {case.get("name") for case in suite if case.find("skipped") is not None}
    assert skipped == {c.id for c in checks if c.waiver and c.status is not Status.PASS
                       and c.id not in stops}
    assert suite.get("failures") == str(sum(c.find("failure") is not None for c in suite))
    assert suite.get("skipped") == str(len(skipped))
