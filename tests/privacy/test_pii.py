"""Direct identifiers and special-category data among features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.checks.privacy.detectors import PII_NAME_RULES, iban_valid, luhn_valid, match_name
from cxaudit.resources import demo_dataset
from cxaudit.result import Status

POLICY = """
cxaudit: 1
system: {name: t}
data: {id: customerID, label: Churn, positive: "Yes"}
checks:
  - {id: pii, type: privacy.pii_features, allowed: {allowed_email: "hashed before training"}}
  - {id: sc, type: privacy.special_category}
"""


def declared(text: str, frame: pd.DataFrame) -> str:
    """The policy with data.features listing every column but the id and the label (the
    model's inputs must be declared: without them the scans are inconclusive)."""
    import json

    features = [c for c in frame.columns if c not in ("customerID", "Churn")]
    return text.replace('positive: "Yes"}', f'positive: "Yes", features: {json.dumps(features)}}}')


def test_without_declared_features_the_scans_are_inconclusive(run_policy):
    out = run_policy(POLICY, _people())
    for check in ("pii", "sc"):
        assert out[check].status is Status.INCONCLUSIVE
        assert "declare `data.features` (the model's inputs)" in out[check].summary


@pytest.mark.parametrize(("number", "valid"), [
    ("4111111111111111", True), ("4111111111111112", False), ("79927398713", True),
    ("79927398710", False), ("378282246310005", True), ("6011111111111117", True)])
def test_luhn_against_published_test_numbers(number, valid):
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(("iban", "valid"), [
    ("GB82WEST12345698765432", True), ("DE89370400440532013000", True),
    ("DE89370400440532013001", False)])
def test_iban_mod97(iban, valid):
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(("name", "kind"), [
    ("customerEmail", "email"), ("first_name", "name"), ("Surname", "name"),
    ("phone_number", "phone"), ("StreetAddress", "address"), ("ssn", "national_id"),
    ("client_ip", "ip_address"), ("cc_number", "card_number"), ("PhoneService", None),
    ("plan_name", None), ("tenure", None), ("PaymentMethod", None)])
def test_column_name_rules(name, kind):
    assert match_name(name, PII_NAME_RULES) == kind


def _people(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    first = np.array(["Anna", "Ben", "Carla", "David", "Eva", "Farid", "Greta", "Hugo", "Ines",
                      "Jonas", "Kemal", "Lena", "Marta", "Nils", "Olga", "Paul"])
    last = np.array(["Schmidt", "Meyer", "Okafor", "Nguyen", "Rossi", "Dubois", "Kowalski",
                     "Jansen", "Garcia", "Novak", "Larsen", "Weber", "Ivanova", "Fischer"])
    cards = ["4111111111111111", "5500 0000 0000 0004", "3782-822463-10005",
             "6011111111111117"]
    return pd.DataFrame({
        "customerID": [f"C{i}" for i in range(n)],
        "Churn": rng.choice(["Yes", "No"], n),
        "holder": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)],
        "contact": [f"user{i}@example.org" for i in range(n)],
        "allowed_email": [f"u{i}@example.org" for i in range(n)],
        "reach": [f"+49 151 {rng.integers(1000000, 9999999)}" for _ in range(n)],
        "home": [f"{rng.integers(1, 200)} {rng.choice(last)} Street" for _ in range(n)],
        "tax": [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
                for _ in range(n)],
        "last_seen_from": [f"10.{rng.integers(0, 255)}.{rng.integers(0, 255)}."
                           f"{rng.integers(1, 254)}" for _ in range(n)],
        "payment": [cards[i % 4] for i in range(n)],
        "monthly_charges": rng.uniform(20, 120, n).round(2),
        "faith": rng.choice(["Christian", "Muslim", "Jewish", "Hindu", "none"], n),
        "health_status": rng.choice(["ok", "chronic"], n),
        "plan": rng.choice(["Basic Plan", "Fiber Optic"], n),
    })


def test_identifiers_found_by_values_with_their_kind(run_policy):
    frame = _people()
    out = run_policy(declared(POLICY, frame), frame)
    flagged = {f["feature"]: f["kind"] for f in out["pii"].details["flagged"]}
    assert flagged == {"holder": "name", "contact": "email", "allowed_email": "email",
                       "reach": "phone", "home": "address", "tax": "national_id",
                       "last_seen_from": "ip_address", "payment": "card_number"}
    assert out["pii"].status is Status.FAIL
    assert "allowed_email" not in out["pii"].summary  # allowed with a justification
    dumped = out["pii"].model_dump_json()
    assert "example.org" not in dumped and "Street" not in dumped


def test_invalid_card_numbers_are_not_cards(run_policy):
    frame = _people()[["customerID", "Churn"]].assign(
        ref=[f"41111111111111{i % 10}{(i + 3) % 10}" for i in range(300)])
    valid = [luhn_valid(v) for v in frame["ref"]]
    out = run_policy(declared(POLICY, frame), frame)
    kinds = {f["feature"]: f["kind"] for f in out["pii"].details["flagged"]}
    # Only about one number in ten passes Luhn: below min_share, so not flagged as cards.
    assert sum(valid) / len(valid) < 0.5 and kinds.get("ref") != "card_number"


def test_special_category_by_name_values_and_declaration(run_policy):
    frame = _people()[["customerID", "Churn", "faith", "health_status", "plan",
                       "monthly_charges"]].rename(columns={"faith": "f1"})
    text = POLICY.replace("checks:", "consent: {special_category: [monthly_charges]}\nchecks:")
    out = run_policy(declared(text, frame), frame)
    flagged = {f["feature"]: (f["kind"], f["found_by"]) for f in out["sc"].details["flagged"]}
    assert flagged == {"f1": ("religion", "values"), "health_status": ("health", "name"),
                       "monthly_charges": ("declared", "policy")}
    assert out["sc"].status is Status.FAIL


def test_real_telco_features_raise_no_false_alarms(run_policy):
    frame = pd.read_csv(demo_dataset())
    out = run_policy(declared(POLICY, frame), frame)
    assert out["pii"].status is Status.PASS, out["pii"].summary
    assert out["sc"].status is Status.PASS, out["sc"].summary
