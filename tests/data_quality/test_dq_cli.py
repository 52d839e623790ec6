"""The CLI with data-quality checks: located exit-2 errors and --reference for drift."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.resources import demo_dataset

POLICY = """\
cxaudit: 1
system: {name: churn-retention-offers, model_type: churn}
data: {id: customerID, label: Churn, positive: "Yes", protected: [gender, SeniorCitizen]}
checks:
  - id: tenure-known
    type: data.expectation
    expectation: {expectation}
    column: tenure
  - id: drift
    type: data.drift
    columns: [tenure, MonthlyCharges, Contract]
    severity: warn
"""


def test_unknown_expectation_exits_2_with_closest_names(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("{expectation}", "expect_column_values_to_not_be_nul"),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "--policy", str(policy), "--data",
                                      str(demo_dataset()), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{policy}:7:5: checks[0].expectation: unknown expectation" in result.output
    assert "expect_column_values_to_not_be_null" in result.output
    assert "Traceback" not in result.output


def test_audit_with_reference_runs_drift(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("{expectation}", "expect_column_values_to_not_be_null"),
                      encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["audit", "--policy", str(policy), "--data",
                                      str(demo_dataset()), "--reference", str(demo_dataset()),
                                      "--out", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["tenure-known"]["status"] == "pass"
    assert checks["drift"]["status"] == "pass"  # the same file as reference: PSI 0 everywhere
    assert all(m["value"] == 0 for m in checks["drift"]["metrics"] if m["value"] is not None)
