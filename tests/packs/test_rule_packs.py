"""The 2027 packs end to end on generated logs with planted violations (exact counts), and on
audits dated before and after each rule's start, deadline and end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from cxaudit.result import Status

from .conftest import assert_rules_listed, by_id, run

NOTICE = """---
purpose: decide instalment-plan eligibility
opt_out: online form or phone, honoured within 15 business days
opt_out_methods: [online form, toll-free number]
access_right: yes
no_retaliation: yes
---
# Notice
## Personal information categories
## Output and use
## Alternative process
"""


def _write(folder, name, text):
    (folder / name).write_text(text, encoding="utf-8")
    return name


def _policy(folder, pack, *, system, logs=None, data=None, name="policy"):
    doc = {"cxaudit": 1, "extends": [pack],
           "system": {"name": "s", **system},
           "data": {"id": "customer_id", **(data or {})}}
    if logs:
        doc["logs"] = logs
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _customers(folder, n=50, **extra):
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                          "decision": [i % 2 for i in range(n)], **extra})
    frame.to_csv(folder / "data.csv", index=False)
    return folder / "data.csv"


# ---- ca-admt -------------------------------------------------------------------------

def _optouts(folder):
    """200 opt-outs honoured the next day, plus planted cases (Los Angeles local times):
    - C9001: Fri 8 Jan 2027 23:30 (Sat in UTC); 15 business days skip MLK day (18 Jan):
      deadline Mon 1 Feb. Honoured 2 Feb 10:00 -> late (in UTC it would count from Sat and
      the deadline would be 2 Feb: the log's time zone decides).
    - C9002: Fri 8 Jan 2027 10:00, honoured 1 Feb 17:00 -> in time (the last day).
    - C9003..C9005: 4 Jan 2027, honoured 10 Feb -> late (3).
    - C9006: Wed 10 Feb 2027, never honoured; deadline Thu 4 Mar (Presidents' Day skipped):
      pending on 1 Mar, late from 5 Mar.
    - C9007: 3 Feb 2027, never honoured; deadline 25 Feb: late on 1 Mar.
    """
    rng = np.random.default_rng(4)
    days = pd.bdate_range("2027-01-04", "2027-02-19")
    picked = rng.choice(days, 200)
    rows = [{"customer_id": f"C{i:04d}", "requested_at": f"{pd.Timestamp(d):%Y-%m-%d} 09:00",
             "honoured_at": f"{pd.Timestamp(d) + pd.Timedelta(days=1):%Y-%m-%d} 09:00"}
            for i, d in enumerate(picked)]
    rows += [
        {"customer_id": "C9001", "requested_at": "2027-01-08 23:30", "honoured_at": "2027-02-02 10:00"},
        {"customer_id": "C9002", "requested_at": "2027-01-08 10:00", "honoured_at": "2027-02-01 17:00"},
        *({"customer_id": f"C900{k}", "requested_at": "2027-01-04 09:00",
           "honoured_at": "2027-02-10 09:00"} for k in (3, 4, 5)),
        {"customer_id": "C9006", "requested_at": "2027-02-10 09:00", "honoured_at": ""},
        {"customer_id": "C9007", "requested_at": "2027-02-03 09:00", "honoured_at": ""},
    ]
    pd.DataFrame(rows).to_csv(folder / "optouts.csv", index=False)
    return {"optouts": {"file": "optouts.csv", "timezone": "America/Los_Angeles",
                        "columns": {"subject": "customer_id", "time": "requested_at",
                                    "done": "honoured_at"}}}


@pytest.fixture()
def ca(tmp_path):
    docs = {"pre_use_notice": _write(tmp_path, "notice.md", NOTICE),
            "access_response": _write(tmp_path, "access.md", "# Purpose\n# Logic\n# Outcome\n"),
            "risk_assessment": _write(tmp_path, "risk.md",
                                      "---\napprovers: [cro]\n---\n# Logic\n"
                                      "# Assumptions and limitations\n# Negative impacts\n"
                                      "# Safeguards\n")}
    policy = _policy(tmp_path, "ca-admt", logs=_optouts(tmp_path),
                     system={"jurisdictions": ["US-CA"], "domains": ["financial_services"],
                             "documents": docs})
    return policy, _customers(tmp_path)


@pytest.mark.parametrize("as_of, late, done_late, open_late, pending", [
    ("2027-03-01", 5, 4, 1, 1), ("2027-03-05", 6, 4, 2, 0)])
def test_ca_admt_optouts_within_15_business_days(ca, as_of, late, done_late, open_late, pending):
    policy, data = ca
    result, md = run(policy, data, as_of=as_of)
    check = by_id(result)["optouts-honoured-in-time"]
    values = {m.name: m.value for m in check.metrics}
    assert (values["late"], values["late_after_handling"], values["not_handled_past_deadline"],
            values["pending"]) == (late, done_late, open_late, pending), check.summary
    assert check.status is Status.FAIL and check.metrics[0].n == 207
    assert check.law["confidence"] == "Q" and check.law["pack_version"] == "2026.12.1"
    checks = by_id(result)
    for cid in ("pre-use-notice", "opt-out-route", "access-responses", "risk-assessment"):
        assert checks[cid].status is Status.PASS, (cid, checks[cid].summary)
    # The attestation is not filed: before 1 Apr 2028 that warns, it does not block.
    assert checks["risk-assessment-submitted"].status is Status.FAIL
    assert checks["risk-assessment-submitted"].severity.value == "warn"
    assert_rules_listed(result, md)


def test_ca_admt_before_2027_and_for_advertising(ca, tmp_path):
    policy, data = ca
    checks = by_id(run(policy, data, as_of="2026-12-31")[0])
    assert checks["optouts-honoured-in-time"].status is Status.NOT_APPLICABLE
    assert "not in force until 2027-01-01" in checks["pre-use-notice"].summary
    assert checks["risk-assessment"].status is Status.PASS  # in force since 2026
    ads = yaml.safe_load(policy.read_text())
    ads["system"]["domains"] = ["advertising"]
    policy.write_text(yaml.safe_dump(ads), encoding="utf-8")
    result, md = run(policy, data, as_of="2027-03-01")
    assert {c.status for c in result.checks} == {Status.NOT_APPLICABLE}
    assert "covers financial_services, housing" in result.checks[0].summary
    assert_rules_listed(result, md)


def test_ca_admt_incomplete_notice_and_one_opt_out_method(ca):
    policy, data = ca
    notice = policy.parent / "notice.md"
    notice.write_text(NOTICE.replace("opt_out_methods: [online form, toll-free number]",
                                     "opt_out_methods: [online form]")
                      .replace("no_retaliation: yes\n", ""), encoding="utf-8")
    checks = by_id(run(policy, data, as_of="2027-03-01")[0])
    assert checks["pre-use-notice"].details["missing"] == ["no_retaliation"]
    assert "opt_out_methods lists 1 (at least 2)" in checks["opt-out-route"].summary
    notice.write_text("---\nhuman_appeal: yes\nappeal_reviewer: credit team\n"
                      "reviewer_can_overturn: false\n---\n", encoding="utf-8")
    checks = by_id(run(policy, data, as_of="2027-03-01")[0])
    assert checks["opt-out-route"].details["missing"] == [
        "reviewer_can_overturn (with human_appeal)"]


# ---- colorado-ai ---------------------------------------------------------------------

def test_colorado_adverse_explanations_within_30_days(tmp_path):
    rows = []
    for i in range(120):
        adverse = i % 3 == 0
        rows.append({"customer_id": f"C{i:04d}", "decided_at": "2027-02-01T10:00:00-07:00",
                     "adverse": adverse, "sent_at": "2027-02-10T10:00:00-07:00" if adverse
                     else "", "kind": "plain_language" if i % 2 else "ecoa_adverse_action"})
    rows[0]["sent_at"] = "2027-03-05T10:00:00-07:00"     # day 32: late
    rows[3]["sent_at"] = "2027-03-03T10:00:00-07:00"     # day 30: in time
    rows[6]["sent_at"] = ""                              # never sent: late after 3 Mar
    rows[1]["sent_at"] = ""                              # not adverse: not counted
    pd.DataFrame(rows).to_csv(tmp_path / "decisions.csv", index=False)
    docs = {"developer_documentation": _write(
        tmp_path, "dev.md", "---\nrecord_retention_years: 3\n---\n# Intended uses\n"
        "# Harmful uses\n# Training data categories\n# Limitations\n"
        "# Human review instructions\n"),
        "pre_use_notice": _write(tmp_path, "notice.md", "# Notice\n"),
        "decision_rights": _write(tmp_path, "rights.md", "# Data correction\n")}
    logs = {"decisions": {"file": "decisions.csv", "columns": {
        "subject": "customer_id", "time": "decided_at", "flag": "adverse", "done": "sent_at",
        "kind": "kind"}}}
    policy = _policy(tmp_path, "colorado-ai", logs=logs,
                     system={"jurisdictions": ["US-CO"], "domains": ["insurance"],
                             "documents": docs})
    data = _customers(tmp_path)
    result, md = run(policy, data, as_of="2027-04-01")
    checks = by_id(result)
    late = checks["adverse-explanations-in-time"]
    assert late.metrics[0].value == 2 and late.metrics[0].n == 40, late.summary
    assert checks["developer-documentation"].status is Status.PASS
    assert checks["records-kept-three-years"].status is Status.PASS
    assert checks["correction-and-review"].details["missing"] == ["human_review"]
    assert_rules_listed(result, md)
    early = by_id(run(policy, data, as_of="2026-12-31")[0])
    assert {c.status for c in early.values()} == {Status.NOT_APPLICABLE}
    elsewhere = yaml.safe_load(policy.read_text())
    elsewhere["system"]["jurisdictions"] = ["US-CA"]
    policy.write_text(yaml.safe_dump(elsewhere), encoding="utf-8")
    assert {c.status for c in run(policy, data, as_of="2027-04-01")[0].checks} == {
        Status.NOT_APPLICABLE}


# ---- algorithmic-pricing -------------------------------------------------------------

NY = "THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA."
EU = "Price personalised on the basis of automated decision-making."


def _pricing(tmp_path, jurisdictions):
    rng = np.random.default_rng(9)
    n = 400
    band = np.where(np.arange(n) % 2 == 0, "18-34", "65+")
    price = np.round(np.where(band == "65+", 120.0, 100.0) + rng.normal(0, 5, n), 2)
    postcode = np.where(band == "65+", "BX", "AX")
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)], "age_band": band,
                          "postcode": postcode, "tenure": rng.integers(0, 10, n),
                          "price": price})
    frame.to_csv(tmp_path / "data.csv", index=False)
    shown = []
    for i in range(300):
        personalised = i % 4 != 0                  # 225 personalised exposures
        text = f"{NY} {EU}" if personalised else ""
        shown.append({"customer_id": f"C{i:04d}", "shown_at": "2027-01-05T12:00:00Z",
                      "personalised": personalised, "disclosure": text})
    for i in (1, 2, 3, 5, 6):                      # 5 without the NY text (one lower-cased)
        shown[i]["disclosure"] = EU if i != 6 else f"{NY.lower()} {EU}"
    for i in (9, 10):                              # 2 without the EU text
        shown[i]["disclosure"] = NY
    pd.DataFrame(shown).to_csv(tmp_path / "prices.csv", index=False)
    logs = {"prices": {"file": "prices.csv", "columns": {
        "subject": "customer_id", "time": "shown_at", "text": "disclosure",
        "flag": "personalised"}}}
    policy = _policy(tmp_path, "algorithmic-pricing", logs=logs,
                     system={"model_type": "pricing", "intervention": "punitive",
                             "jurisdictions": jurisdictions},
                     data={"protected": ["age_band"], "features": ["postcode", "tenure"]})
    return policy, tmp_path / "data.csv"


def test_algorithmic_pricing_disclosures_parity_and_proxies(tmp_path):
    policy, data = _pricing(tmp_path, ["US-NY", "EU"])
    result, md = run(policy, data, as_of="2027-01-31")
    checks = by_id(result)
    ny = checks["ny-algorithmic-price-disclosure"]
    assert (ny.status, ny.metrics[0].value, ny.metrics[0].n) == (Status.FAIL, 5, 225)
    assert ny.law == {**ny.law, "jurisdiction": "US-NY", "confidence": "P",
                      "applies_from": "2025-07-08"}
    eu = checks["eu-personalised-price-disclosure"]
    assert (eu.metrics[0].value, eu.law["note"]) == (
        2, "per secondary sources; verify against the official text")
    assert checks["mean-price-parity"].status is Status.FAIL       # 65+ pay ~20 % more
    assert checks["location-proxies"].status is Status.FAIL        # postcode encodes age band
    assert_rules_listed(result, md)


def test_algorithmic_pricing_by_place_and_date(tmp_path):
    policy, data = _pricing(tmp_path, ["US-NY"])
    checks = by_id(run(policy, data, as_of="2025-07-07")[0])
    assert checks["ny-algorithmic-price-disclosure"].status is Status.NOT_APPLICABLE
    assert checks["eu-personalised-price-disclosure"].status is Status.NOT_APPLICABLE
    assert checks["mean-price-parity"].status is Status.FAIL       # good practice: everywhere
    checks = by_id(run(policy, data, as_of="2025-07-08")[0])
    assert checks["ny-algorithmic-price-disclosure"].status is Status.FAIL


# ---- uk-automated-decisions ----------------------------------------------------------

def test_uk_safeguards_declared_and_exercised(tmp_path):
    events = [{"customer_id": f"C{i:03d}", "at": "2026-03-01 10:00",
               "event": ["information_given", "representation", "human_intervention"][i % 3]}
              for i in range(30)]
    events.append({"customer_id": "C999", "at": "2026-06-01 10:00", "event": "contest"})
    pd.DataFrame(events).to_csv(tmp_path / "events.csv", index=False)
    docs = {"decision_rights": _write(tmp_path, "rights.md", "# Information given\n"
                                      "# Representations\n# Human intervention\n# Contest\n")}
    logs = {"decision_events": {"file": "events.csv", "timezone": "Europe/London",
                                "columns": {"subject": "customer_id", "time": "at",
                                            "kind": "event"}}}
    policy = _policy(tmp_path, "uk-automated-decisions", logs=logs,
                     system={"automation": "autonomous", "significant_effect": True,
                             "jurisdictions": ["UK"], "documents": docs})
    data = _customers(tmp_path)
    result, md = run(policy, data, as_of="2026-04-01")
    checks = by_id(result)
    assert checks["safeguards-declared"].status is Status.PASS
    used = checks["safeguards-exercised"]
    assert used.status is Status.FAIL and used.details["counts"] == {
        "information_given": 10, "representation": 10, "human_intervention": 10, "contest": 0}
    assert_rules_listed(result, md)
    assert by_id(run(policy, data, as_of="2026-07-01")[0])["safeguards-exercised"].status \
        is Status.PASS
    assert {c.status for c in run(policy, data, as_of="2026-02-04")[0].checks} == {
        Status.NOT_APPLICABLE}
    human = yaml.safe_load(policy.read_text())
    human["system"]["automation"] = "human_in_the_loop"
    policy.write_text(yaml.safe_dump(human), encoding="utf-8")
    checks = by_id(run(policy, data, as_of="2026-04-01")[0])
    assert "solely automated" in checks["safeguards-declared"].summary
