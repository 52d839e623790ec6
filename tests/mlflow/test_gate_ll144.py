"""`cxaudit gate --as-of`: an NYC LL144 bias audit backs the tool's use for one year
(Admin. Code § 20-871(a)(1)); the gate refuses to promote on a later date of use."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cxaudit.cli import cli

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

POLICY = """\
cxaudit: 1
extends: [nyc-ll144]
as_of: 2025-03-01
system:
  name: churn-synth
  model_type: churn
  jurisdictions: [US-NY-NYC]
  domains: [employment]
data:
  label: churn
  positive: "Yes"
  protected: [gender]
"""


def _gate(registry, tmp_path, alias, *args):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return CliRunner().invoke(cli, ["gate", f"models:/{registry.name}/{registry.fair_version}",
                                    "--policy", str(policy), "--promote-to", alias,
                                    "--tracking-uri", registry.uri, "--data",
                                    str(registry.train_csv), "--out", str(tmp_path / "out"),
                                    "--no-trail", *args])


def _alias(registry, alias):
    from mlflow import MlflowClient

    try:
        return MlflowClient(tracking_uri=registry.uri).get_model_version_by_alias(
            registry.name, alias).version
    except Exception:  # noqa: BLE001 - MLflow raises when the alias is unset
        return None


def test_the_gate_refuses_an_audit_more_than_a_year_before_use(registry, tmp_path):
    late = _gate(registry, tmp_path, "ll144-late", "--as-of", "2026-03-02")
    assert late.exit_code == 1, late.output
    for needle in ("2025-03-01", "2026-03-02", "only through 2026-03-01", "NOT moved"):
        assert needle in late.output
    assert _alias(registry, "ll144-late") is None
    clock = _gate(registry, tmp_path, "ll144-clock")
    assert clock.exit_code == 1, clock.output
    assert "by the clock; give --as-of" in clock.output
    in_time = _gate(registry, tmp_path, "ll144-ok", "--as-of", "2026-03-01")
    assert in_time.exit_code == 0, in_time.output
    assert "within a year of the date of use 2026-03-01" in in_time.output
    assert _alias(registry, "ll144-ok") == registry.fair_version


def test_a_date_of_use_the_gate_cannot_read_is_bad_input(registry, tmp_path):
    result = _gate(registry, tmp_path, "ll144-bad", "--as-of", "next week")
    assert result.exit_code == 2, result.output
    assert "--as-of 'next week'" in result.output
