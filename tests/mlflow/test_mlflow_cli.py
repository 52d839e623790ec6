"""``cxaudit gate`` and ``cxaudit audit --mlflow`` through the real CLI and a real server."""

from __future__ import annotations

import json

from click.testing import CliRunner
from mlflow_testserver import free_port

from cxaudit.cli import cli


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _client(uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def test_gate_cli_promotes_a_pass_and_refuses_a_fail(registry, tmp_path):
    client = _client(registry.uri)
    passed = _run("gate", f"models:/{registry.name}/{registry.fair_version}",
                  "--policy", registry.policy, "--promote-to", "production",
                  "--tracking-uri", registry.uri, "--out", tmp_path / "pass")
    assert passed.exit_code == 0, passed.output
    assert "Verdict: PASS" in passed.stdout
    assert "View run" not in passed.stdout  # MLflow's own URL lines stay off cxaudit's stdout
    assert f"promoted: @production → {registry.name} v{registry.fair_version}" in passed.stdout
    assert (tmp_path / "pass" / "audit.json").is_file()
    assert client.get_model_version_by_alias(registry.name, "production").version == \
        registry.fair_version

    refused = _run("gate", f"models:/{registry.name}/{registry.unfair_version}",
                   "--policy", registry.policy, "--promote-to", "production",
                   "--data", registry.train_csv, "--tracking-uri", registry.uri,
                   "--out", tmp_path / "fail")
    assert refused.exit_code == 1, refused.output
    assert "Verdict: FAIL" in refused.stdout
    assert f"alias @production NOT moved (still v{registry.fair_version})" in refused.stderr
    assert client.get_model_version_by_alias(registry.name, "production").version == \
        registry.fair_version
    report = json.loads((tmp_path / "fail" / "audit.json").read_text())
    assert report["verdict"] == "fail" and report["inputs"]["data"]["detail"]["origin"] == "--data"


def test_gate_cli_unknown_model_exits_2_listing_what_exists(registry, tmp_path):
    result = _run("gate", "models:/churn-synht/1", "--policy", registry.policy,
                  "--promote-to", "champion", "--tracking-uri", registry.uri, "--out", tmp_path)
    assert result.exit_code == 2
    assert "there is no registered model named 'churn-synht'" in result.stderr
    assert f"registered models: {registry.name}" in result.stderr
    assert "Traceback" not in result.output


def test_audit_mlflow_logs_a_run_and_tags_the_version(registry, tmp_path):
    uri = f"models:/{registry.name}/{registry.unfair_version}"
    result = _run("audit", "--policy", registry.policy, "--data", registry.train_csv,
                  "--model", uri, "--mlflow", "--tracking-uri", registry.uri,
                  "--out", tmp_path, "--format", "json,md")
    assert result.exit_code == 1, result.output  # the unfair model fails the policy
    assert f"tagged {uri} cxaudit.verdict=fail" in result.stdout
    assert "View run" not in result.stdout
    run_id = result.stdout.split("logged to MLflow: run ")[1].split(";")[0].strip()
    client = _client(registry.uri)
    tags = client.get_model_version(registry.name, registry.unfair_version).tags
    assert tags["cxaudit.run_id"] == run_id
    run = client.get_run(run_id)
    assert run.data.tags["cxaudit.verdict"] == "fail"
    logged = {a.path for a in client.list_artifacts(run_id, "cxaudit")}
    # Every file of the report folder: the reports asked for and the evidence manifest.
    assert {"cxaudit/audit.json", "cxaudit/audit.md", "cxaudit/manifest.json"} <= logged


def test_audit_mlflow_unreachable_keeps_reports_and_fails_closed(registry, tmp_path):
    data = tmp_path / "scored.csv"
    registry.frame.assign(pred="No").to_csv(data, index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(registry.policy.read_text().replace("  positive: \"Yes\"\n",
                                                          "  positive: \"Yes\"\n  prediction: pred\n"))
    result = _run("audit", "--policy", policy, "--data", data, "--mlflow",
                  "--tracking-uri", f"http://127.0.0.1:{free_port()}", "--out", tmp_path / "r",
                  "--format", "json")
    assert (tmp_path / "r" / "audit.json").is_file()
    assert "logging the audit to MLflow failed" in result.stderr
    assert result.exit_code != 0
