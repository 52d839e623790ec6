"""The GitHub Action and pre-commit hook are well-formed and call real commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_action_runs_audit_and_gates_on_exit_code(tmp_path, telco_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = {step.get("name", step.get("uses")): step for step in action["runs"]["steps"]}
    audit_script = steps["Audit"]["run"]
    assert "GITHUB_STEP_SUMMARY" in steps["Job summary"]["run"]
    assert steps["Upload reports"]["uses"].startswith("actions/upload-artifact@")
    # Run the action's audit script with bash against a real policy and data.
    policy = tmp_path / "policy.yaml"
    policy.write_text("cxaudit: 1\nsystem: {name: t}\ndata: {prediction: Churn, positive: 'Yes',"
                      " protected: [SeniorCitizen]}\nchecks:\n  - {id: p, type: bias.selection_rate}\n")
    outputs = tmp_path / "outputs"
    env = {"POLICY": str(policy), "DATA": str(telco_path), "MODEL": "", "CONSENT": "",
           "REFERENCE": "", "OUT": str(tmp_path / "out"), "FORMAT": "json", "STRICT": "false",
           "EXTRA": "", "GITHUB_OUTPUT": str(outputs), "PATH": _path()}
    subprocess.run(["bash", "-c", audit_script], env=env, check=True, cwd=tmp_path)
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values == {"verdict": "fail", "exit_code": "1"}
    assert (tmp_path / "out" / "audit.md").is_file()
    gate = subprocess.run(["bash", "-c", steps["Gate"]["run"]], capture_output=True, text=True,
                          env={"CODE": values["exit_code"], "VERDICT": values["verdict"],
                               "PATH": _path()})
    assert gate.returncode == 1 and "gate blocks" in gate.stdout


def test_pre_commit_hook_entry_is_a_real_command():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"] == "cxaudit policy validate"


def _path() -> str:
    import os
    import sys

    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
