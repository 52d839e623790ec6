"""data.suite: the shipped suites load, validate, map columns, and fold GX results."""

from __future__ import annotations

import pandas as pd
import pytest

from cxaudit.checks.data_quality.expectations import validate_suite
from cxaudit.checks.data_quality.suites import builtin_suites, load_suite
from cxaudit.errors import PolicyError
from cxaudit.masking import hash_id
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status


def test_shipped_suites_are_valid_gx():
    suites = builtin_suites()
    assert {"customer-profile", "consent-ledger", "scoring-log"} <= set(suites)
    for path in suites.values():
        suite = load_suite(path)
        validate_suite(suite, {})  # raises on any expectation GX rejects
        assert suite.expectations


def test_customer_profile_on_telco(audit, telco):
    checks, _ = audit("""
        - id: profile
          type: data.suite
          suite: customer-profile
          columns: {customer_id: customerID, tenure_months: tenure,
                    monthly_charges: MonthlyCharges, total_charges: TotalCharges}
        """, telco)
    result = checks["profile"]
    assert result.status is Status.PASS, result.summary
    details = result.details["expectations"]
    skipped = {d["index"] for d in details if "skipped" in d}
    suite = load_suite(builtin_suites()["customer-profile"])
    optional_absent = {i for i, e in enumerate(suite.expectations)
                       if set(e.columns()) & {"email", "phone", "country", "signup_date"}}
    assert skipped == optional_absent
    total = next(d for d in details if d.get("kwargs", {}).get("column") == "TotalCharges")
    assert total["unexpected_count"] == int(telco["TotalCharges"].str.strip().eq("").sum())
    assert "skipped" in result.summary


def test_warning_level_failures_warn(audit, telco):
    frame = telco.copy()
    frame.loc[:199, "TotalCharges"] = " "  # 200 blanks: over the 1% the suite tolerates
    checks, _ = audit("""
        - id: profile
          type: data.suite
          suite: customer-profile
          columns: {customer_id: customerID, total_charges: TotalCharges}
        """, frame)
    result = checks["profile"]
    assert result.status is Status.WARN
    blanks = int(frame["TotalCharges"].str.strip().eq("").sum())
    assert f"{blanks} of 7,043" in result.summary


def test_consent_ledger_suite_runs_on_consent(audit, telco):
    ledger = pd.DataFrame({
        "subject_id": ["c1", "c2", "c3", None],
        "purpose": ["retention_offers"] * 4,
        "lawful_basis": ["consent", "a", "contract", "consent"],
        "status": ["granted", "Granted", "withdrawn", "refused"],
        "granted_at": ["2026-01-01T00:00:00Z", "2026-01-02", "2025-12-01T10:00:00+01:00", "x"],
        "notice_version": ["v3"] * 4,
        "channel": ["web"] * 4,
        "jurisdiction": ["EU-DE"] * 4,
    })
    checks, result = audit("""
        - id: ledger
          type: data.suite
          suite: consent-ledger
        """, telco, consent=ledger)
    ledger_result = checks["ledger"]
    assert ledger_result.status is Status.FAIL
    by_key = {(d["expectation"], d.get("kwargs", {}).get("column")): d
              for d in ledger_result.details["expectations"] if "skipped" not in d}
    status_set = by_key[("expect_column_values_to_be_in_set", "status")]
    assert status_set["unexpected_count"] == 1  # "Granted": case matters
    assert by_key[("expect_column_values_to_not_be_null", "subject_id")]["unexpected_count"] == 1
    granted = by_key[("expect_column_values_to_match_regex", "granted_at")]
    assert granted["unexpected_count"] == 1 and granted["examples"] == ["*"]  # "x", masked
    assert status_set["example_ids"] == [hash_id("c2")]  # the subject, hashed
    assert '"c2"' not in result.to_json()
    skipped = [d for d in ledger_result.details["expectations"] if "skipped" in d]
    assert {d["index"] for d in skipped}  # withdrawn_at, expires_at, signal are absent


def test_unknown_suite_and_bad_mapping_are_policy_errors(write_policy):
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("""
            - id: s
              type: data.suite
              suite: consent-ledgr
            """))
    (problem,) = caught.value.problems
    assert "did you mean consent-ledger" in problem.message
    assert problem.path == "checks[0].suite"
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("""
            - id: s
              type: data.suite
              suite: customer-profile
              columns: {customer: customerID}
            """))
    (problem,) = caught.value.problems
    assert problem.path == "checks[0].columns.customer"
    assert "no column 'customer'" in problem.message


def test_own_suite_by_path_with_located_gx_error(write_policy, tmp_path, monkeypatch):
    (tmp_path / "mine.yaml").write_text(
        "suite: mine\ncolumns:\n  id: {}\nexpectations:\n"
        "  - expectation: expect_column_values_to_not_be_null\n    column: id\n"
        "  - expectation: expect_column_values_to_be_between\n    column: id\n",
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # found from the working directory: validated at load time
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("""
            - id: s
              type: data.suite
              suite: mine.yaml
            """))
    (problem,) = caught.value.problems
    assert "mine.yaml:7:5" in problem.message  # the offending expectation in the suite file
    assert "min_value and max_value cannot both be None" in problem.message


def test_own_suite_relative_to_policy(audit, telco, tmp_path, monkeypatch):
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "ids.yaml").write_text(
        "suite: ids\nid_column: key\ncolumns:\n  key: {}\nexpectations:\n"
        "  - expectation: expect_column_values_to_be_unique\n    column: key\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path.parent)  # not the policy's folder: the path is policy-relative
    checks, _ = audit("""
        - id: ids
          type: data.suite
          suite: suites/ids.yaml
          columns: {key: customerID}
        """, telco)
    assert checks["ids"].status is Status.PASS
    (tmp_path / "suites" / "ids.yaml").write_text(
        "suite: ids\ncolumns:\n  key: {}\nexpectations:\n"
        "  - expectation: expect_column_values_to_be_unique\n    colum: key\n", encoding="utf-8")
    checks, _ = audit("""
        - id: ids
          type: data.suite
          suite: suites/ids.yaml
        - id: tenure-known
          type: data.expectation
          expectation: expect_column_values_to_not_be_null
          column: tenure
        """, telco)
    assert checks["tenure-known"].status is Status.PASS  # a broken suite spoils no other check
    # Not found from the working directory at load time: validated when the audit runs.
    assert checks["ids"].status is Status.ERROR
    assert "ids.yaml:6:5: unknown argument `colum`" in checks["ids"].summary
    assert "ids.yaml:5:5: `column` is required" in checks["ids"].summary


def test_profile_contacts_are_masked(audit, telco):
    frame = telco.head(200).copy()
    frame["email"] = [f"person{i}@example.com" for i in range(200)]
    frame["phone"] = [f"+44 20 7946 {i:04d}" for i in range(200)]
    frame.loc[:9, "email"] = [f"jane.doe{i}-at-example.com" for i in range(10)]
    frame.loc[:4, "phone"] = "call me maybe"
    checks, result = audit("""
        - id: profile
          type: data.suite
          suite: customer-profile
          columns: {customer_id: customerID}
        """, frame)
    details = {d.get("kwargs", {}).get("column"): d for d in checks["profile"].details["expectations"]
               if "skipped" not in d and d["expectation"] == "expect_column_values_to_match_regex"}
    assert details["email"]["unexpected_count"] == 10  # checked although optional: present
    assert details["phone"]["unexpected_count"] == 5
    text = result.to_json()
    assert "jane.doe" not in text and "call me maybe" not in text
    assert details["email"]["examples"][0] == "j" + "*" * 22 + "m"
    assert details["email"]["example_ids"][0] == hash_id(frame["customerID"].iloc[0])
