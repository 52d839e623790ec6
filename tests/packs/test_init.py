"""`cxaudit init` writes a policy that validates and runs, on real and generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats.contingency import association

from cxaudit.cli import cli
from cxaudit.init_policy import cramers_v, inspect_data
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status

from .conftest import by_id, run


def _init(*args):
    result = CliRunner().invoke(cli, ["init", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_init_on_the_telco_table_validates_and_runs(tmp_path, telco_path):
    out = tmp_path / "policy.yaml"
    _init("--model-type", "churn", "--data", str(telco_path), "--out", str(out))
    policy = load_policy(out)
    assert policy.data.id == "customerID"
    assert policy.data.label == "Churn" and policy.data.positive == "Yes"
    assert policy.data.protected == ["gender", "SeniorCitizen"]
    text = out.read_text(encoding="utf-8")
    # No model, decisions, ledger or reference: those checks are listed, not declared.
    assert "#   fairness-auto (bias.auto): decisions" in text
    assert "#   consent-coverage (consent.coverage): a consent ledger" in text
    # A service, not a phone number: a feature, not personal data.
    assert "PhoneService" in policy.data.features and "#   PhoneService" not in text
    assert not {"customerID", "Churn", "gender", "SeniorCitizen"} & set(policy.data.features)
    result, _ = run(out, telco_path)
    assert result.checks and all(c.status is not Status.ERROR for c in result.checks)


def _applicants(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ethnicity = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    # postcode_area is a planted proxy: it follows ethnicity 85 % of the time.
    area = np.where(rng.random(n) < 0.85, np.char.add("P-", ethnicity),
                    rng.choice(["P-A", "P-B", "P-C"], n))
    age = rng.integers(18, 80, n)
    return pd.DataFrame({
        "applicant_id": [f"X{i:05d}" for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)],
        "Gender": rng.choice(["M", "F"], n),
        "age": age,
        "age_band": pd.cut(age, [17, 34, 54, 120], labels=["18-34", "35-54", "55+"]).astype(str),
        "ethnicity": ethnicity,
        "postcode_area": area,
        "income": rng.normal(40, 10, n).round(1),
        "approved": rng.integers(0, 2, n),
    })


def test_init_finds_protected_attributes_and_a_planted_proxy(tmp_path):
    frame = _applicants()
    found = inspect_data(frame)
    assert found.id == "applicant_id" and found.prediction == "approved"
    assert found.protected == {"Gender": "sex", "age_band": "age", "ethnicity": "race/ethnicity"}
    assert "age" in found.skipped and "band" in found.skipped["age"]
    assert found.pii == ["email"]
    proxies = dict(found.proxies["ethnicity"])
    assert list(proxies)[0] == "postcode_area"
    table = pd.crosstab(frame["ethnicity"], frame["postcode_area"]).to_numpy()
    assert proxies["postcode_area"] == pytest.approx(association(table, method="cramer"), abs=1e-3)
    assert "income" not in proxies

    path = tmp_path / "applicants.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "policy.yaml"
    printed = _init("--model-type", "credit_scoring", "--data", str(path), "--out", str(out))
    assert "protected Gender, age_band, ethnicity" in printed
    text = out.read_text(encoding="utf-8")
    assert "# Pack: eu-ai-act-high-risk" in text and "postcode_area 0." in text
    result, md = run(out, path)
    checks = by_id(result)
    assert all(c.status is not Status.ERROR for c in result.checks)
    # Governance is left for the team to declare: the generated policy says so by failing.
    assert checks["provider-and-purpose"].status is Status.FAIL
    assert "decision-parity" in checks and "### Rules covered" in md


def test_cramers_v_matches_scipy_on_numbers_and_text():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.choice(list("xyz"), 500))
    b = pd.Series(rng.choice(list("pq"), 500))
    expected = association(pd.crosstab(a, b).to_numpy(), method="cramer")
    assert cramers_v(a, b) == pytest.approx(expected)
    assert cramers_v(a, pd.Series(["k"] * 500)) == 0.0


def test_init_with_every_demo_input_extends_the_pack(demo, tmp_path):
    out = tmp_path / "policy.yaml"
    _init("--model-type", "churn", "--data", str(demo.data), "--out", str(out),
          "--model", str(demo.model), "--consent", str(demo.consent),
          "--reference", str(demo.reference))
    policy = load_policy(out)
    assert policy.extends == ("cx-personalization-baseline",)
    assert policy.consent.purpose == "retention_offers"
    assert {c.id for c in load_policy(out).checks} >= {"consent-coverage", "reasons-for-no-offer"}


def test_init_refuses_to_overwrite(tmp_path, telco_path):
    out = tmp_path / "policy.yaml"
    out.write_text("keep", encoding="utf-8")
    result = CliRunner().invoke(cli, ["init", "--model-type", "churn", "--data", str(telco_path),
                                      "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "keep"


def test_init_for_a_chatbot_log_uses_the_chatbot_pack(tmp_path):
    from .test_chatbot_pack import _log

    log, truth = _log(seed=5, n=80)
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "policy.yaml"
    _init("--model-type", "chatbot", "--data", str(path), "--out", str(out))
    policy = load_policy(out)
    assert policy.extends == ("chatbot-automation",)
    assert policy.data.protected == ["language"]
    result, md = run(out, path, as_of="2026-09-01")  # Art. 50(1) applies from 2 Aug 2026
    checks = by_id(result)
    assert checks["ai-disclosed"].status is Status.FAIL      # planted: every 37th conversation
    assert {m.name: m.value for m in checks["ai-disclosed"].metrics}["without_disclosure"] == (
        (~truth["disclosed"]).sum())
