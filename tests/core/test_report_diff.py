"""cxaudit report diff: regressions, fixes and interval-aware metric changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.diff import diff_audits, render_markdown
from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.result import AuditResult, CheckResult, Metric, Severity, Status, Verdict
from cxaudit.runner import audit_loaded

POLICY = """\
cxaudit: 1
system: {name: offers}
data: {prediction: decision, positive: 1, protected: [g]}
checks:
  - {id: parity, type: bias.selection_rate, min_group_size: 5}
"""


def result_with(metric_ci, status="pass", verdict="pass"):
    metric = Metric(name="rate", group={"g": "a"}, value=sum(metric_ci) / 2, ci=metric_ci)
    check = CheckResult(id="c", type="bias.x", status=Status(status), severity=Severity.BLOCK,
                        summary="s", metrics=(metric,))
    return AuditResult(verdict=Verdict(verdict), verdict_reason="r", policy={}, checks=(check,),
                       inputs={})


@pytest.mark.parametrize("new_ci, beyond", [((0.25, 0.3), True), ((0.15, 0.3), False),
                                            ((0.0, 0.09), True), ((0.2, 0.2), False)])
def test_beyond_intervals_means_non_overlapping(new_ci, beyond):
    change = diff_audits(result_with((0.1, 0.2)), result_with(new_ci)).metrics
    assert len(change) == 1 and change[0].beyond_intervals is beyond


def test_real_audits_regression_and_fix(write, tmp_path):
    policy = load_policy(write("p.yaml", POLICY))
    fair = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10, "decision": [1, 0] * 10})
    unfair = fair.assign(decision=[1] * 10 + [0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    before = audit_loaded(policy, fair, engine=LocalEngine())
    after = audit_loaded(policy, unfair, engine=LocalEngine())
    worse = diff_audits(before, after)
    assert worse.regressed and [c.kind for c in worse.checks] == ["regressed"]
    moved = {(m.name, tuple(m.group.items())): m for m in worse.metrics}
    assert moved[("selection_rate", (("g", "b"),))].delta == pytest.approx(0.2 - 0.5)
    better = diff_audits(after, before)
    assert not better.regressed and [c.kind for c in better.checks] == ["fixed"]
    assert "### Fixed" in render_markdown(better)
    assert render_markdown(diff_audits(before, before)).endswith("No differences.\n")

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(before.to_json())
    new.write_text(after.to_json())
    runner = CliRunner()
    shown = runner.invoke(cli, ["report", "diff", str(old), str(new)])
    assert shown.exit_code == 0 and "PASS → FAIL (regression)" in shown.output
    gated = runner.invoke(cli, ["report", "diff", str(old), str(new), "--fail-on-regression"])
    assert gated.exit_code == 1
    as_json = json.loads(runner.invoke(cli, ["report", "diff", str(new), str(old), "--format",
                                             "json"]).output)
    assert as_json["regressed"] is False and as_json["checks"][0]["kind"] == "fixed"
    bad = runner.invoke(cli, ["report", "diff", str(old), str(tmp_path / "missing.json")])
    assert bad.exit_code == 2 and "report not found" in bad.output
