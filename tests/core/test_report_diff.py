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
    # A fix that lifts group b and harms no one is no regression. (Going back from `after`
    # to `before` would level group a down from 1.0 to 0.5, outside its old interval on the
    # harmful side: that is a regression by issue 16's definition; see the test below.)
    fixed = audit_loaded(policy, unfair.assign(decision=1), engine=LocalEngine())
    better = diff_audits(after, fixed)
    assert not better.regressed and [c.kind for c in better.checks] == ["fixed"]
    assert "### Fixed" in render_markdown(better)
    assert {m.change for m in better.metrics if m.name == "selection_rate"} <= {"better", "same"}
    assert render_markdown(diff_audits(before, before)).endswith("No differences.\n")

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(before.to_json())
    new.write_text(after.to_json())
    runner = CliRunner()
    shown = runner.invoke(cli, ["report", "diff", str(old), str(new)])
    assert shown.exit_code == 0 and "PASS → FAIL (regression)" in shown.output
    gated = runner.invoke(cli, ["report", "diff", str(old), str(new), "--fail-on-regression"])
    assert gated.exit_code == 1
    fixed_path = tmp_path / "fixed.json"
    fixed_path.write_text(fixed.to_json())
    as_json = json.loads(runner.invoke(cli, ["report", "diff", str(new), str(fixed_path),
                                             "--format", "json"]).output)
    assert as_json["regressed"] is False and as_json["checks"][0]["kind"] == "fixed"
    levelled = json.loads(runner.invoke(cli, ["report", "diff", str(new), str(old), "--format",
                                              "json"]).output)
    assert levelled["regressed"] is True and levelled["checks"][0]["kind"] == "fixed"
    assert any("g=a" in r for r in levelled["regressions"])
    bad = runner.invoke(cli, ["report", "diff", str(old), str(tmp_path / "missing.json")])
    assert bad.exit_code == 2 and "report not found" in bad.output


# --- Regressions as issue 16 defines them ---------------------------------------------------

def _audit(checks):
    return AuditResult(verdict=Verdict.FAIL, verdict_reason="r", policy={}, checks=tuple(checks),
                       inputs={})


def _fpr_check(value, ci, ratio, ratio_ci, status="fail", severity=Severity.BLOCK, cid="fpr"):
    group = {"race": "African-American"}
    metrics = (Metric(name="false_positive_rate", group=group, value=value, ci=ci, n=500,
                      direction="lower"),
               Metric(name="false_positive_rate_ratio", group=group, value=ratio, ci=ratio_ci,
                      n=500, direction="higher", status=Status(status)))
    return CheckResult(id=cid, type="bias.false_positive_rate", status=Status(status),
                       severity=severity, summary="s", metrics=metrics)


def test_a_metric_that_got_worse_beyond_its_interval_regresses_while_the_status_stays_fail():
    old = _audit([_fpr_check(0.21, (0.18, 0.24), 0.60, (0.50, 0.70))])
    new = _audit([_fpr_check(0.42, (0.38, 0.46), 0.30, (0.25, 0.35))])
    diff = diff_audits(old, new)
    assert diff.checks == []          # fail → fail: no status change
    assert diff.regressed
    changes = {m.name: m for m in diff.metrics}
    assert changes["false_positive_rate"].change == "worse"
    assert changes["false_positive_rate"].regression
    assert changes["false_positive_rate_ratio"].change == "worse"
    assert changes["false_positive_rate_ratio"].regression
    assert "worse (regression)" in render_markdown(diff)
    # the reverse is better, and no regression
    back = diff_audits(new, old)
    assert not back.regressed
    assert {m.change for m in back.metrics} == {"better"}


def test_a_move_inside_the_old_interval_or_on_the_good_side_is_no_regression():
    old = _audit([_fpr_check(0.21, (0.18, 0.24), 0.60, (0.50, 0.70))])
    inside = _audit([_fpr_check(0.23, (0.20, 0.26), 0.55, (0.45, 0.65))])
    diff = diff_audits(old, inside)
    assert not diff.regressed
    assert {m.change for m in diff.metrics} == {"worse"}   # marked, but within the noise


def test_a_deleted_blocking_check_is_a_regression():
    old = _audit([_fpr_check(0.21, (0.18, 0.24), 0.60, (0.50, 0.70)),
                  _fpr_check(0.21, (0.18, 0.24), 0.90, (0.80, 1.0), status="pass", cid="keep")])
    new = _audit([_fpr_check(0.21, (0.18, 0.24), 0.90, (0.80, 1.0), status="pass", cid="keep")])
    diff = diff_audits(old, new)
    assert diff.regressed
    assert "fpr: blocking check disappeared" in diff.regressions
    demoted = _audit([_fpr_check(0.21, (0.18, 0.24), 0.60, (0.50, 0.70), severity=Severity.WARN),
                      new.checks[0]])
    assert diff_audits(old, demoted).regressed
    # a deleted warn-severity check is shown, but not a regression
    old_warn = _audit([_fpr_check(0.21, (0.18, 0.24), 0.60, (0.50, 0.70), severity=Severity.WARN)])
    assert not diff_audits(old_warn, _audit([])).regressed


@pytest.mark.parametrize("old, new, kind", [("pass", "warn", "regressed"),
                                             ("pass", "inconclusive", "regressed"),
                                             ("warn", "inconclusive", "regressed"),
                                             ("inconclusive", "fail", "regressed"),
                                             ("fail", "inconclusive", "fixed"),
                                             ("pass", "not_applicable", "changed")])
def test_status_order(old, new, kind):
    a = _audit([_fpr_check(0.2, None, 0.9, None, status=old)])
    b = _audit([_fpr_check(0.2, None, 0.9, None, status=new)])
    [change] = diff_audits(a, b).checks
    assert change.kind == kind
    assert diff_audits(a, b).regressed is (kind == "regressed")


def test_metrics_without_direction_never_regress_by_themselves():
    def check(value):
        return CheckResult(id="dq", type="data.duplicates", status=Status.PASS,
                           severity=Severity.BLOCK, summary="s",
                           metrics=(Metric(name="duplicates", value=value, ci=(0.0, 1.0)),))
    diff = diff_audits(_audit([check(0.0)]), _audit([check(50.0)]))
    assert len(diff.metrics) == 1 and diff.metrics[0].change is None
    assert not diff.regressed


def test_infinite_values_diff_and_serialise_strictly(tmp_path):
    old = _audit([_fpr_check(0.0, (0.0, 0.05), float("inf"), (2.0, float("inf")), status="pass")])
    new = _audit([_fpr_check(0.2, (0.15, 0.25), 0.5, (0.4, 0.6))])
    loaded_old = AuditResult.from_json(old.to_json())
    assert loaded_old.checks[0].metrics[1].value == float("inf")
    diff = diff_audits(loaded_old, new)
    assert diff.regressed
    text = json.dumps(diff.to_dict(), allow_nan=False)   # strict JSON: no Infinity
    ratio = next(m for m in json.loads(text)["metrics"] if m["name"].endswith("_ratio"))
    assert ratio["old"] is None and ratio["old_infinite"] is True
    assert "∞" in render_markdown(diff)
