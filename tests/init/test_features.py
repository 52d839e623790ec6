"""What a model's features are: its own names, else data.features, else not known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from cxaudit.result import Status
from cxaudit.runner import AuditInputs, audit

POLICY = """cxaudit: 1
system: {name: t}
data: {id: cid, label: churn, protected: [sex]FEATURES}
checks:
  - {id: pii, type: privacy.pii_features}
  - {id: proxies, type: privacy.proxy}
  - {id: justified, type: privacy.minimisation, severity: warn}
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "cid": [f"c{i}" for i in range(n)],
        "name": [f"{rng.choice(['Anna', 'Ben', 'Carla', 'Dev'])} "
                 f"{rng.choice(['Meyer', 'Okafor', 'Rossi', 'Novak'])}" for _ in range(n)],
        "email": [f"user{i}@example.org" for i in range(n)],
        "sex": rng.choice(["F", "M"], n),
        "tenure": rng.integers(1, 72, n),
        "charges": rng.uniform(20, 120, n).round(2),
        "churn": rng.integers(0, 2, n),
    })
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    model = LogisticRegression().fit(frame[["tenure", "charges"]], frame["churn"])
    path = folder / "model.skops"
    sio.dump(model, path)
    return folder, data, path


def _audit(folder, data, features: str = "", model=None):
    policy = folder / "p.yaml"
    policy.write_text(POLICY.replace("FEATURES", features), encoding="utf-8")
    result = audit(AuditInputs(policy=str(policy), data=str(data),
                               model=str(model) if model else None))
    return {c.id: c for c in result.checks}, result


def test_without_model_or_declared_features_the_input_checks_are_inconclusive(files):
    folder, data, _ = files
    checks, result = _audit(folder, data)
    for check_id in ("pii", "proxies", "justified"):
        assert checks[check_id].status is Status.INCONCLUSIVE, checks[check_id].summary
        assert "declare `data.features` (the model's inputs)" in checks[check_id].summary
    # The protected attribute and the personal columns are not taken for inputs.
    assert result.verdict.value != "pass"


def test_declared_features_are_judged(files):
    folder, data, _ = files
    checks, _ = _audit(folder, data, ", features: [tenure, charges]")
    assert checks["pii"].status is Status.PASS
    checks, _ = _audit(folder, data, ", features: [tenure, email]")
    assert checks["pii"].status is Status.FAIL and "email" in checks["pii"].summary


def test_a_model_names_its_own_features(files):
    folder, data, model = files
    checks, _ = _audit(folder, data, model=model)
    assert checks["pii"].status is Status.PASS
    assert checks["pii"].details["features_scanned"] == 2
    assert "features-match-model" not in checks


def test_a_policy_list_that_disagrees_with_the_model_fails_naming_both(files):
    folder, data, model = files
    checks, result = _audit(folder, data, ", features: [tenure, email]", model=model)
    finding = checks["features-match-model"]
    assert finding.type == "governance.model_features" and finding.status is Status.FAIL
    assert finding.severity.value == "block" and result.verdict.value == "fail"
    assert "[tenure, email]" in finding.summary and "[tenure, charges]" in finding.summary
    assert finding.details["only_in_policy"] == ["email"]
    assert finding.details["only_in_model"] == ["charges"]
    # The audit used the model's list, not the policy's.
    assert checks["pii"].status is Status.PASS
    same, _ = _audit(folder, data, ", features: [charges, tenure]", model=model)
    assert "features-match-model" not in same           # same columns, other order
