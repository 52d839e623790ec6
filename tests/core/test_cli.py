"""The command line: exit codes, located errors without tracebacks, atomic reports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cxaudit.cli import COMMANDS, cli

POLICY = """\
cxaudit: 1
system: {name: churn-offers, intervention: assistive}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  prediction: decision
  protected: [gender, SeniorCitizen]
checks:
  - id: parity
    type: bias.selection_rate
    threshold: {min: 0.8}
    severity: SEVERITY
"""


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def data_path(tmp_path, telco_frame):
    """Telco rows with a decision column: the observed churn label as the decision."""
    frame = telco_frame.head(2000).copy()
    frame["decision"] = frame["Churn"]
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return path


def invoke(runner, *args):
    return runner.invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_help_does_not_import_heavy_libraries():
    code = ("import sys\nfrom cxaudit.cli import main\nsys.argv=['cxaudit','--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy=[m for m in ('pandas','numpy','sklearn','shap','great_expectations','mlflow',"
            "'fairlearn','scipy','pyarrow') if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help(runner, command):
    result = invoke(runner, command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version(runner):
    result = invoke(runner, "--version")
    assert result.exit_code == 0 and "cxaudit, version" in result.output


def test_blocking_failure_exits_1_and_writes_every_format(runner, write, data_path, tmp_path):
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block"))
    out = tmp_path / "out"
    result = invoke(runner, "audit", "--policy", policy, "--data", data_path, "--out", out)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Verdict: FAIL")
    assert sorted(p.name for p in out.iterdir()) == ["audit-trail.jsonl", "audit.html",
                                                     "audit.json", "audit.junit.xml", "audit.md",
                                                     "manifest.json"]
    report = json.loads((out / "audit.json").read_text())
    assert report["verdict"] == "fail" and report["checks"][0]["status"] == "fail"


def test_warn_passes_unless_strict(runner, write, data_path, tmp_path):
    policy = write("p.yaml", POLICY.replace("SEVERITY", "warn"))
    args = ["audit", "--policy", policy, "--data", data_path, "--out", tmp_path / "o",
            "--format", "json"]
    assert invoke(runner, *args).exit_code == 0
    assert invoke(runner, *args, "--strict").exit_code == 1


def test_missing_column_names_policy_line_and_closest_columns(runner, write, data_path, tmp_path):
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block").replace("label: Churn",
                                                                         "label: churn"))
    result = invoke(runner, "audit", "--policy", policy, "--data", data_path, "--out", tmp_path)
    assert result.exit_code == 2
    assert f"{policy}:5:3: data.label column 'churn' is not a column of the data" in result.output
    assert "closest columns in the data: Churn" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content, message", [
    (None, "data file not found"),
    ("", "data file is empty"),
    ("a,b\n", "has a header but no rows"),
    ('a,b\n1,2\n3,4,5,6\n', "is not valid CSV: Expected 2 fields in line 3, saw 4"),
])
def test_bad_data_files_exit_2_without_traceback(runner, write, tmp_path, content, message):
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block"))
    data = tmp_path / "d.csv"
    if content is not None:
        data.write_text(content)
    result = invoke(runner, "audit", "--policy", policy, "--data", data, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_input_leaves_previous_reports_intact(runner, write, data_path, tmp_path):
    out = tmp_path / "out"
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block"))
    invoke(runner, "audit", "--policy", policy, "--data", data_path, "--out", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = write("broken.yaml", "cxaudit: 1\nsystem: {name: x\n")
    result = invoke(runner, "audit", "--policy", broken, "--data", data_path, "--out", out)
    assert result.exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_unknown_format_is_a_usage_error(runner, write, data_path):
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block"))
    result = invoke(runner, "audit", "--policy", policy, "--data", data_path, "--format", "docx,xml")
    assert result.exit_code == 2 and "unknown format(s) docx, xml" in result.output


def test_pickled_model_needs_trust(runner, write, tmp_path, telco_frame):
    import joblib
    from sklearn.dummy import DummyClassifier

    frame = telco_frame.head(300)
    model = DummyClassifier(strategy="prior").fit(frame[["tenure"]], frame["Churn"])
    model_path = tmp_path / "m.joblib"
    joblib.dump(model, model_path)
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    policy = write("p.yaml", POLICY.replace("SEVERITY", "block").replace("  prediction: decision\n",
                                                                         "  features: [tenure]\n"))
    args = ["audit", "--policy", policy, "--data", data, "--model", model_path, "--out", tmp_path]
    refused = invoke(runner, *args)
    assert refused.exit_code == 2 and "pass --trust-model" in refused.output
    assert invoke(runner, *args, "--trust-model").exit_code in (0, 1)
    pinned = invoke(runner, *args, "--trust-model", "--model-sha256", "0" * 64)
    assert pinned.exit_code == 2 and "not the pinned" in pinned.output


def test_policy_commands(runner, write):
    good = write("good.yaml", POLICY.replace("SEVERITY", "block"))
    bad = write("bad.yaml", POLICY.replace("SEVERITY", "blok"))
    assert invoke(runner, "policy", "validate", good).exit_code == 0
    result = invoke(runner, "policy", "validate", good, bad)
    assert result.exit_code == 2 and f"{bad}:13:5: checks[0].severity" in result.output
    schema = json.loads(invoke(runner, "policy", "schema").output)
    assert "bias.selection_rate" in json.dumps(schema)
    assert "cx-personalization-baseline" in invoke(runner, "policy", "list").output
    assert "bias.selection_rate" in invoke(runner, "explain", "--list").output
    assert "four-fifths" in invoke(runner, "explain", "bias.selection_rate").output
    unknown = invoke(runner, "explain", "bias.selection")
    assert unknown.exit_code == 2 and "did you mean bias.selection_rate" in unknown.output
