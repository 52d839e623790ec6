"""Defaults from pyproject.toml / cxaudit.toml and CXAUDIT_* variables; logs and quiet mode."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.config import find_config

POLICY = """\
cxaudit: 1
system: {name: offers}
data: {prediction: decision, positive: 1, protected: [g]}
checks:
  - {id: parity, type: bias.selection_rate, min_group_size: 1, severity: warn}
"""


def project(tmp_path, config_name, config_text):
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "policy.yaml").write_text(POLICY)
    (tmp_path / "audit" / "data.csv").write_text("g,decision\na,1\na,1\nb,0\nb,1\n")
    (tmp_path / config_name).write_text(config_text)
    (tmp_path / "sub").mkdir()
    find_config.cache_clear()


def test_pyproject_defaults_relative_to_the_file(tmp_path, monkeypatch):
    project(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool.cxaudit.audit]\n'
            'policy = "audit/policy.yaml"\ndata = "audit/data.csv"\nout = "reports"\n'
            'format = "json"\nstrict = true\n')
    monkeypatch.chdir(tmp_path / "sub")
    result = CliRunner().invoke(cli, ["audit"])
    # strict from the file turns the warning (a 0.5 ratio, severity warn) into exit 1
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "reports" / "audit.json").read_text())
    assert report["verdict"] == "warn"
    assert not (tmp_path / "reports" / "audit.html").exists()
    # the command line overrides the file
    assert CliRunner().invoke(cli, ["audit", "--format", "md"]).exit_code == 1
    assert (tmp_path / "reports" / "audit.md").exists()


def test_environment_variables_and_cxaudit_toml(tmp_path, monkeypatch):
    project(tmp_path, "cxaudit.toml", '[audit]\npolicy = "audit/policy.yaml"\nformat = "json"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CXAUDIT_AUDIT_DATA", str(tmp_path / "audit" / "data.csv"))
    monkeypatch.setenv("CXAUDIT_AUDIT_OUT", str(tmp_path / "env-out"))
    result = CliRunner().invoke(cli, ["audit"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-out" / "audit.json").exists()


def test_unknown_config_option_and_bad_toml_exit_2(tmp_path, monkeypatch):
    project(tmp_path, "cxaudit.toml", '[audit]\npolcy = "x.yaml"\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["audit"])
    assert result.exit_code == 2 and "unknown option 'polcy'" in result.output
    (tmp_path / "cxaudit.toml").write_text("[audit\n")
    find_config.cache_clear()
    result = CliRunner().invoke(cli, ["audit"])
    assert result.exit_code == 2 and "invalid TOML" in result.output


def test_quiet_prints_only_the_verdict_and_json_logs(tmp_path, monkeypatch):
    project(tmp_path, "cxaudit.toml", '[audit]\npolicy = "audit/policy.yaml"\n'
            'data = "audit/data.csv"\nformat = "json"\n')
    monkeypatch.chdir(tmp_path)
    quiet = CliRunner().invoke(cli, ["--quiet", "audit"])
    assert quiet.output.strip().splitlines() == [
        "Verdict: WARN — no blocking failures; needs attention: parity"]
    logged = CliRunner().invoke(cli, ["--verbose", "--log-format", "json", "audit"])
    lines = [json.loads(line) for line in logged.stderr.splitlines() if line.startswith("{")]
    assert any(entry.get("check") == "parity" and entry["status"] == "fail" for entry in lines)
    assert all("a,1" not in line for line in logged.stderr.splitlines())
