"""The registry gate against a real MLflow server: promote on pass, refuse otherwise."""

from __future__ import annotations

import hashlib
import json

import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from cxaudit.errors import InputError, ModelError
from cxaudit.integrations.registry_gate import run_gate

CHECK = "offer-rate-parity"


def _client(uri):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _reference_rates(registry, version):
    """Selection rates per gender from raw rows, through the sklearn flavor (not pyfunc)."""
    import mlflow

    model = mlflow.sklearn.load_model(f"models:/{registry.name}/{version}")
    frame = registry.frame
    decisions = (model.predict_proba(frame[list(model.feature_names_in_)])[:, 1] >= 0.5)
    rates = MetricFrame(metrics=selection_rate, y_true=decisions.astype(int),
                        y_pred=decisions.astype(int), sensitive_features=frame["gender"])
    return rates.by_group.to_dict()


@pytest.fixture(scope="module")
def promoted(registry, tmp_path_factory):
    out = tmp_path_factory.mktemp("gate-pass")
    outcome = run_gate(f"models:/{registry.name}/{registry.fair_version}", str(registry.policy),
                       promote_to="champion", out_dir=out, tracking_uri=registry.uri)
    return outcome, out


def test_passing_model_is_promoted_tagged_and_logged(registry, promoted):
    outcome, out = promoted
    assert outcome.result.verdict.value == "pass", outcome.lines
    assert outcome.promoted and outcome.exit_code == 0
    client = _client(registry.uri)
    assert client.get_model_version_by_alias(registry.name, "champion").version == \
        registry.fair_version
    tags = client.get_model_version(registry.name, registry.fair_version).tags
    assert tags["cxaudit.verdict"] == "pass"
    assert tags["cxaudit.run_id"] == outcome.run_id
    assert tags["cxaudit.policy_sha256"] == hashlib.sha256(registry.policy.read_bytes()).hexdigest()
    run = client.get_run(outcome.run_id)
    assert run.data.params["cxaudit.data_sha256"] == \
        hashlib.sha256(registry.train_csv.read_bytes()).hexdigest()
    assert run.data.params["cxaudit.model_uri"] == f"models:/{registry.name}/{registry.fair_version}"
    artifacts = [a.path for a in client.list_artifacts(outcome.run_id, "cxaudit")]
    assert {"cxaudit/audit.json", "cxaudit/manifest.json"} <= set(artifacts)
    # The numbers in MLflow equal fairlearn's, computed from raw rows through another loader.
    expected = _reference_rates(registry, registry.fair_version)
    for gender, rate in expected.items():
        logged = run.data.metrics[f"cxaudit_{CHECK}_selection_rate/gender_{gender}"]
        assert logged == pytest.approx(rate, abs=1e-12)
    assert run.data.metrics["cxaudit_verdict_pass"] == 1.0


def test_lineage_finds_the_training_dataset_and_says_so(registry, promoted):
    outcome, out = promoted
    record = json.loads((out / "audit.json").read_text())["inputs"]["data"]
    assert record["detail"]["origin"] == "mlflow-lineage"
    assert record["detail"]["run_id"] == registry.fair_run
    assert record["detail"]["dataset_name"] == "synthetic-train"
    assert record["detail"]["digest_matches"] is True
    assert record["rows"] == len(registry.frame)
    assert any("lineage" in line for line in outcome.lines)


def test_failing_model_is_refused_and_alias_untouched(registry, promoted, tmp_path):
    client = _client(registry.uri)
    before = client.get_model_version_by_alias(registry.name, "champion").version
    outcome = run_gate(f"models:/{registry.name}/{registry.unfair_version}", str(registry.policy),
                       promote_to="champion", out_dir=tmp_path, tracking_uri=registry.uri,
                       data=str(registry.train_csv))
    assert outcome.result.verdict.value == "fail"
    assert not outcome.promoted and outcome.exit_code == 1
    assert client.get_model_version_by_alias(registry.name, "champion").version == before
    tags = client.get_model_version(registry.name, registry.unfair_version).tags
    assert tags["cxaudit.verdict"] == "fail"
    assert tags["cxaudit.run_id"] == outcome.run_id
    # The refusal is real: fairlearn sees the same disparity.
    rates = _reference_rates(registry, registry.unfair_version)
    assert min(rates.values()) / max(rates.values()) < 0.8
    ratio_key = f"cxaudit_{CHECK}_selection_rate_ratio/gender_Male"
    logged = client.get_run(outcome.run_id).data.metrics[ratio_key]
    assert logged == pytest.approx(rates["Male"] / rates["Female"], abs=1e-12)


def test_alias_is_pinned_once_and_reported(registry, promoted, tmp_path):
    client = _client(registry.uri)
    client.set_registered_model_alias(registry.name, "candidate", registry.unfair_version)
    outcome = run_gate(f"models:/{registry.name}@candidate", str(registry.policy),
                       promote_to="champion", out_dir=tmp_path, tracking_uri=registry.uri,
                       data=str(registry.train_csv))
    pinned = f"models:/{registry.name}/{registry.unfair_version}"
    assert outcome.pinned_uri == pinned
    assert json.loads((tmp_path / "audit.json").read_text())["inputs"]["model"]["path"] == pinned
    assert any(f"→ {pinned}" in line for line in outcome.lines)


def test_require_approval_fails_closed_without_an_approval(registry, promoted, tmp_path):
    client = _client(registry.uri)
    outcome = run_gate(f"models:/{registry.name}/{registry.fair_version}", str(registry.policy),
                       promote_to="staging", out_dir=tmp_path, tracking_uri=registry.uri,
                       require_approval=True)
    assert outcome.result.verdict.value == "pass"
    assert not outcome.promoted and outcome.exit_code == 1
    assert not _has_alias(client, registry.name, "staging")
    assert any("approval" in line for line in outcome.lines)


def _has_alias(client, name, alias):
    return alias in (client.get_registered_model(name).aliases or {})


def test_unknown_model_lists_registered_names(registry, tmp_path):
    with pytest.raises(ModelError) as caught:
        run_gate("models:/no-such-model/1", str(registry.policy), promote_to="champion",
                 out_dir=tmp_path, tracking_uri=registry.uri)
    assert caught.value.exit_code == 2
    assert registry.name in caught.value.hint


def test_unknown_version_lists_versions_and_aliases(registry, promoted, tmp_path):
    with pytest.raises(ModelError) as caught:
        run_gate(f"models:/{registry.name}/99", str(registry.policy), promote_to="champion",
                 out_dir=tmp_path, tracking_uri=registry.uri)
    hint = caught.value.hint
    assert f"{registry.fair_version}, {registry.unfair_version}" in hint
    assert "@champion" in hint
    with pytest.raises(ModelError, match="no alias @nope"):
        run_gate(f"models:/{registry.name}@nope", str(registry.policy), promote_to="champion",
                 out_dir=tmp_path, tracking_uri=registry.uri)


@pytest.mark.parametrize("alias", ["latest", "v3", "bad alias"])
def test_reserved_or_invalid_alias_is_refused_before_work(alias, tmp_path):
    with pytest.raises(InputError, match="--promote-to"):
        run_gate("models:/x/1", "policy.yaml", promote_to=alias, out_dir=tmp_path,
                 tracking_uri="http://127.0.0.1:9")


def test_unreachable_server_fails_fast_with_exit_2(tmp_path):
    from mlflow_testserver import free_port

    with pytest.raises(InputError, match="cannot reach the MLflow tracking server") as caught:
        run_gate("models:/x/1", "policy.yaml", promote_to="champion", out_dir=tmp_path,
                 tracking_uri=f"http://127.0.0.1:{free_port()}")
    assert caught.value.exit_code == 2


def test_require_approval_promotes_once_the_same_audit_is_signed_off(registry, tmp_path):
    approvals = pytest.importorskip("cxaudit.evidence.approvals",
                                    reason="the approval workflow (issue 8) is not merged yet")
    client = _client(registry.uri)
    uri = f"models:/{registry.name}/{registry.fair_version}"
    first = run_gate(uri, str(registry.policy), promote_to="approved", out_dir=tmp_path,
                     tracking_uri=registry.uri, require_approval=True)
    assert not first.promoted and not _has_alias(client, registry.name, "approved")
    approvals.record_approval(tmp_path, approver="owner@example.com", role="product_owner",
                              comment="offer rates reviewed", trail=False)
    second = run_gate(uri, str(registry.policy), promote_to="approved", out_dir=tmp_path,
                      tracking_uri=registry.uri, require_approval=True)
    assert second.promoted and second.exit_code == 0, second.lines
    assert client.get_model_version_by_alias(registry.name, "approved").version == \
        registry.fair_version


def test_logging_failure_leaves_the_alias_untouched(registry, tmp_path, monkeypatch):
    # A real server-side refusal: runs cannot be created in a deleted experiment.
    client = _client(registry.uri)
    experiment = client.create_experiment(f"deleted-{tmp_path.name}")
    client.delete_experiment(experiment)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", f"deleted-{tmp_path.name}")
    outcome = run_gate(f"models:/{registry.name}/{registry.fair_version}", str(registry.policy),
                       promote_to="logged-only", out_dir=tmp_path, tracking_uri=registry.uri)
    assert outcome.result.verdict.value == "pass"
    assert not outcome.promoted and outcome.exit_code == 1 and outcome.run_id is None
    assert not _has_alias(client, registry.name, "logged-only")
    assert (tmp_path / "audit.json").is_file()
    assert any(line.startswith("error: logging the audit to MLflow failed") for line in outcome.lines)


def test_gate_reports_form_a_verifiable_evidence_bundle(promoted):
    from cxaudit.evidence.verify import verify_bundle

    _, out = promoted
    report = verify_bundle(out)
    assert report.ok, report.problems
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"]["data"]["sha256"] == json.loads(
        (out / "audit.json").read_text())["inputs"]["data"]["sha256"]
