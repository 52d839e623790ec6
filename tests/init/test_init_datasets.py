"""init → policy validate → audit on public-shaped tables with different column names."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.policy.loader import load_policy
from cxaudit.resources import demo_dataset

from .datasets import ACS, acs_shaped, compas_shaped, telco_shaped

#: Every comment init writes for an inferred choice starts like this.
INFERRED = ("  # id: inferred:", "  # label: inferred:", "  # prediction: inferred:",
            "  # score: inferred:", "  # timestamp: inferred:", "  # positive: inferred:",
            "  # decision_threshold: inferred:", "  # protected: inferred",
            "  # intersections: inferred:", "  # features (the model's inputs): inferred:",
            "  # inferred: model type")


def _cli(*args, env=None):
    return CliRunner().invoke(cli, list(map(str, args)), env=env)


def init_validate_audit(tmp_path, data, *options):
    """The three commands a new user types; returns (policy text, audit.json, exit code)."""
    policy = tmp_path / "policy.yaml"
    made = _cli("init", "--data", data, "--out", policy, *options)
    assert made.exit_code == 0, made.output
    assert "next: cxaudit audit" in made.output
    checked = _cli("policy", "validate", policy)
    assert checked.exit_code == 0, checked.output
    report = tmp_path / "report"
    audited = _cli("audit", "--policy", policy, "--data", data, "--out", report,
                   "--format", "json", "--no-trail")
    assert audited.exit_code in (0, 1), audited.output           # a verdict, not an error
    result = json.loads((report / "audit.json").read_text(encoding="utf-8"))
    assert result["checks"], "init wrote a policy without checks"
    assert not [c for c in result["checks"] if c["status"] == "error"], result["checks"]
    assert audited.exit_code == (1 if result["verdict"] == "fail" else 0)
    return policy.read_text(encoding="utf-8"), result, audited.exit_code


def by_id(result):
    return {c["id"]: c for c in result["checks"]}


def test_compas_shaped_inference(tmp_path):
    data = tmp_path / "compas-scores-two-years.csv"
    compas_shaped().to_csv(data, index=False)
    text, result, code = init_validate_audit(tmp_path, data, "--model-type", "other")
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.data.label == "two_year_recid" and policy.data.prediction == "pred"
    assert policy.system.intervention == "punitive"        # a recidivism risk, not an offer
    assert policy.data.protected == ["sex", "age_cat", "race"]
    assert "c_charge_degree" not in policy.data.protected   # F/M: felony/misdemeanour
    assert policy.data.timestamp == "compas_screening_date"
    assert not {"name", "first", "last", "pred", "race", "sex"} & set(policy.data.features)
    assert "#   name: name (by its name)" in text
    proxies = text.split("Likely proxies")[-1].split("\n\n")[0]
    assert "pred " not in proxies                            # the decision is no proxy
    for comment in ("  # label: inferred:", "  # prediction: inferred:",
                    "  # inferred: 'two_year_recid' names a risk"):
        assert comment in text
    checks = by_id(result)
    assert checks["no-direct-identifiers"]["status"] == "pass"
    assert result["verdict"] == "fail" and code == 1          # planted: scores follow priors


def test_acs_shaped_with_every_choice_given(tmp_path):
    if not ACS.is_file():
        pytest.skip(f"the ACS sample is not at {ACS}")
    data = tmp_path / "acs.parquet"
    acs_shaped().to_parquet(data)
    text, result, _ = init_validate_audit(
        tmp_path, data, "--model-type", "other", "--label", "PUBCOV", "--positive", "1",
        "--score", "coverage_probability", "--threshold", "0.4", "--protected", "SEX",
        "--protected", "RAC1P", "--intervention", "assistive",
        "--features", "SCHL,PINCP,ESR,DIS", "--features", "MIL")
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.data.label == "PUBCOV" and policy.data.positive == 1
    assert policy.data.score == "coverage_probability" and policy.data.decision_threshold == 0.4
    assert policy.data.protected == ["SEX", "RAC1P"]
    assert policy.data.features == ["SCHL", "PINCP", "ESR", "DIS", "MIL"]
    for given in ("# label: given (--label COLUMN)", "# protected: given",
                  "# features (the model's inputs): given", "# given (--intervention"):
        assert given in text
    assert "one-row-per-customer (data.duplicates): an id column" in text   # no id: left out
    assert by_id(result)["fairness-auto"]["status"] in ("pass", "fail", "warn", "inconclusive")


def test_acs_shaped_inferred_from_census_codes(tmp_path):
    if not ACS.is_file():
        pytest.skip(f"the ACS sample is not at {ACS}")
    data = tmp_path / "acs.parquet"
    acs_shaped(n=3000, seed=9).to_parquet(data)
    text, result, _ = init_validate_audit(tmp_path, data, "--model-type", "other")
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.data.label == "PUBCOV" and policy.data.score == "coverage_probability"
    assert {"SEX", "RAC1P"} <= set(policy.data.protected)
    assert "Not listed: AGEP" in text
    # Fertility stands in for sex in this census table: the proxy check says so.
    assert by_id(result)["proxies"]["status"] == "fail"


def test_telco_shaped_leaves_personal_data_out_and_adds_the_pii_check(tmp_path):
    data = tmp_path / "telco.csv"
    telco_shaped(demo_dataset()).to_csv(data, index=False)
    text, result, code = init_validate_audit(tmp_path, data, "--model-type", "churn",
                                             "--pack", "gdpr-profiling")
    policy = load_policy(tmp_path / "policy.yaml")
    personal = {"full_name", "contact_email", "mobile", "agent_notes"}
    assert not personal & set(policy.data.features)
    for column, kind in (("full_name", "name"), ("contact_email", "email"), ("mobile", "phone"),
                         ("agent_notes", "free text")):
        assert f"#   {column}: {kind}" in text
    assert policy.data.score == "churn_propensity" and policy.data.positive == "Yes"
    assert any(c.type == "privacy.pii_features" for c in policy.checks)
    assert by_id(result)["no-direct-identifiers"]["status"] == "pass"

    # A model that does read the email: declared as a feature, the PII check fails.
    (tmp_path / "again").mkdir()
    _, again, code = init_validate_audit(
        tmp_path / "again", data, "--model-type", "churn", "--features",
        "tenure,Contract,contact_email")
    assert by_id(again)["no-direct-identifiers"]["status"] == "fail" and code == 1


@pytest.mark.parametrize("pack", ["eeoc-four-fifths", "nyc-ll144"])
def test_every_pack_writes_a_valid_policy_that_runs(tmp_path, pack):
    data = tmp_path / "compas.csv"
    compas_shaped(n=800).to_csv(data, index=False)
    text, result, _ = init_validate_audit(tmp_path, data, "--model-type", "other",
                                          "--pack", pack)
    assert f"# Pack: {pack}   # given (--pack)" in text
    # Without decisions the pack's checks cannot run: still a valid file.
    bare = tmp_path / "bare.csv"
    compas_shaped(n=800).drop(columns=["pred"]).to_csv(bare, index=False)
    out = tmp_path / "bare.yaml"
    made = _cli("init", "--data", bare, "--out", out, "--model-type", "other", "--pack", pack)
    assert made.exit_code == 0, made.output
    assert _cli("policy", "validate", out).exit_code == 0


def test_a_named_column_the_data_lacks_is_bad_input(tmp_path):
    data = tmp_path / "compas.csv"
    compas_shaped(n=200).to_csv(data, index=False)
    made = _cli("init", "--data", data, "--out", tmp_path / "p.yaml", "--model-type", "other",
                "--label", "two_year_recidd")
    assert made.exit_code == 2 and "did you mean two_year_recid" in made.output


def test_the_comments_init_writes_for_inferred_choices(tmp_path):
    data = tmp_path / "telco.csv"
    frame = telco_shaped(demo_dataset())
    frame["snapshot_date"] = "2026-10-01T00:00:00Z"
    frame["offered"] = (frame["churn_propensity"] > 0.7).map({True: "Yes", False: "No"})
    frame.drop(columns=["churn_propensity"]).assign(
        churn_score=frame["churn_propensity"]).to_csv(data, index=False)
    text, _, _ = init_validate_audit(tmp_path, data, "--model-type", "churn")
    found = [c for c in INFERRED if c in text]
    assert set(INFERRED) - set(found) == {"  # decision_threshold: inferred:"}, found
    for line in text.splitlines():
        if ": inferred:" in line:
            assert "; to change: " in line, line


def test_interactive_only_on_a_terminal_and_never_in_ci(tmp_path, monkeypatch):
    import cxaudit.cli.init as init_module

    data = tmp_path / "compas.csv"
    compas_shaped(n=300).to_csv(data, index=False)
    monkeypatch.setattr(init_module, "interactive_terminal", lambda: True)
    answers = "\n".join(["sex,race", "", "", "", "-", "", "priors_count,juv_fel_count", ""])
    out = tmp_path / "p.yaml"
    made = CliRunner().invoke(cli, ["init", "--data", str(data), "--out", str(out),
                                    "--model-type", "other"], input=answers + "\n",
                              env={"CI": ""})
    assert made.exit_code == 0, made.output
    assert "Protected attributes (comma-separated) [sex,age_cat,race]" in made.output
    policy = load_policy(out)
    assert policy.data.protected == ["sex", "race"]
    assert policy.data.features == ["priors_count", "juv_fel_count"]
    assert policy.data.label == "two_year_recid"
    # CI set: no prompt, whatever the terminal (and --interactive) says.
    quiet = CliRunner().invoke(cli, ["init", "--data", str(data), "--out", str(out), "--force",
                                     "--model-type", "other", "--interactive"],
                               env={"CI": "true"})
    assert quiet.exit_code == 0 and "Protected attributes" not in quiet.output
    assert init_module.interactive_terminal.__module__  # patched; the real one is below
    monkeypatch.undo()
    assert init_module.interactive_terminal() is False  # pytest's stdin is not a terminal
