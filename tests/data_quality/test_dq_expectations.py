"""data.expectation: GX really runs, its numbers come through, personal data does not."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cxaudit.checks.gx_adapter import GxSession, build_expectation
from cxaudit.errors import PolicyError
from cxaudit.masking import hash_id
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status


def _gx_direct(frame: pd.DataFrame, name: str, **kwargs):
    """GX's own result, from a context built here without cxaudit's folding."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("ref").add_dataframe_asset("t")
             .add_batch_definition_whole_dataframe("b").get_batch(
                 batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name="ref")
    suite.add_expectation(build_expectation(name, kwargs))
    return batch.validate(suite, result_format={"result_format": "SUMMARY"}).results[0]


def test_failing_expectation_reports_gx_counts(audit, telco):
    checks, _ = audit("""
        - id: total-charges-numeric
          type: data.expectation
          expectation: expect_column_values_to_match_regex
          column: TotalCharges
          regex: "^[0-9]+(?:\\\\.[0-9]+)?$"
        """, telco)
    result = checks["total-charges-numeric"]
    assert result.status is Status.FAIL
    gx_result = _gx_direct(telco, "expect_column_values_to_match_regex", column="TotalCharges",
                           regex=r"^[0-9]+(?:\.[0-9]+)?$")
    blanks = int(telco["TotalCharges"].str.strip().eq("").sum())  # pandas, independently
    assert blanks == 11
    assert gx_result.result["unexpected_count"] == blanks
    (metric,) = [m for m in result.metrics if m.name == "unexpected_percent"]
    assert metric.value == pytest.approx(gx_result.result["unexpected_percent"])
    assert metric.value == pytest.approx(100 * blanks / len(telco))
    assert metric.n == len(telco)
    (count,) = [m for m in result.metrics if m.name == "unexpected_count"]
    assert count.value == blanks
    (detail,) = result.details["expectations"]
    assert detail["unexpected_count"] == blanks
    # The example rows are the blank ones, as salted hashes of their customer ids.
    blank_ids = telco.loc[telco["TotalCharges"].str.strip().eq(""), "customerID"]
    assert detail["example_ids"] == [hash_id(v) for v in blank_ids.head(5)]
    assert "11 of 7,043" in result.summary


def test_regex_with_groups_runs_without_pandas_warning(audit, telco):
    # pandas warns about capturing groups in str.contains; GX would turn that into an error
    # under `-W error`, and users would see the warning: the adapter silences exactly it.
    checks, _ = audit("""
        - id: grouped-regex
          type: data.expectation
          expectation: expect_column_values_to_match_regex
          column: TotalCharges
          regex: "^([0-9]+)(\\\\.[0-9]+)?$"
        """, telco)
    detail = checks["grouped-regex"].details["expectations"][0]
    assert "error" not in detail
    assert detail["unexpected_count"] == 11


def test_passing_expectation_and_mostly_threshold(audit, telco):
    checks, _ = audit("""
        - id: charges-numeric-mostly
          type: data.expectation
          expectation: expect_column_values_to_match_regex
          column: TotalCharges
          regex: "^[0-9]"
          mostly: 0.99
        - id: tenure-range
          type: data.expectation
          expectation: expect_column_values_to_be_between
          column: tenure
          min_value: 0
          max_value: 72
        - id: mean-charges
          type: data.expectation
          expectation: expect_column_mean_to_be_between
          column: MonthlyCharges
          min_value: 10
          max_value: 60
        """, telco)
    assert checks["charges-numeric-mostly"].status is Status.PASS
    (metric,) = [m for m in checks["charges-numeric-mostly"].metrics
                 if m.name == "unexpected_percent"]
    assert metric.threshold == {"max": pytest.approx(1.0)}
    assert checks["tenure-range"].status is Status.PASS
    mean = checks["mean-charges"]
    assert mean.status is Status.FAIL  # the real mean is about 64.8
    (observed,) = [m for m in mean.metrics if m.name == "observed_value"]
    assert observed.value == pytest.approx(telco["MonthlyCharges"].mean())
    assert observed.threshold == {"min": 10.0, "max": 60.0}


def test_examples_never_show_raw_ids_or_text(audit, telco):
    checks, result = audit("""
        - id: ids-in-allowlist
          type: data.expectation
          expectation: expect_column_values_to_be_in_set
          column: customerID
          value_set: ["0000-NOPE"]
        - id: payment-known
          type: data.expectation
          expectation: expect_column_values_to_be_in_set
          column: PaymentMethod
          value_set: ["Mailed check"]
        """, telco)
    text = result.to_json()
    for raw in telco["customerID"].head(20):
        assert raw not in text
    ids = checks["ids-in-allowlist"].details["expectations"][0]
    assert ids["examples"] == [hash_id(v) for v in telco["customerID"].head(5)]
    payment = checks["payment-known"].details["expectations"][0]
    assert "Electronic check" not in json.dumps(payment["examples"])
    assert payment["examples"][0] == "E**************k"
    expected = int((telco["PaymentMethod"] != "Mailed check").sum())
    assert payment["unexpected_count"] == expected


def test_per_group_counts_match_pandas(audit, telco):
    checks, _ = audit("""
        - id: charges-by-group
          type: data.expectation
          expectation: expect_column_values_to_match_regex
          column: TotalCharges
          regex: "^[0-9]"
          groups: [gender, SeniorCitizen]
        """, telco)
    result = checks["charges-by-group"]
    blank = telco["TotalCharges"].str.strip().eq("")
    expected = {("gender", str(k)): int(v) for k, v in blank.groupby(telco["gender"]).sum().items()}
    expected |= {("SeniorCitizen", str(k)): int(v)
                 for k, v in blank.groupby(telco["SeniorCitizen"]).sum().items()}
    found = {}
    for detail in result.details["expectations"]:
        for attribute, value in detail["group"].items():
            found[(attribute, value)] = detail["unexpected_count"]
    assert found == expected
    sizes = {(m.group.get("gender") or m.group.get("SeniorCitizen")): m.n
             for m in result.metrics if len(m.group) == 2}
    assert sizes["Female"] == int((telco["gender"] == "Female").sum())


def test_missing_column_is_a_finding_not_a_crash(audit, telco):
    checks, _ = audit("""
        - id: ghost
          type: data.expectation
          expectation: expect_column_values_to_not_be_null
          column: NoSuchColumn
        """, telco)
    assert checks["ghost"].status is Status.FAIL
    assert "NoSuchColumn" in checks["ghost"].summary


def test_consent_table_and_missing_table(audit, telco):
    ledger = pd.DataFrame({"subject_id": ["a", "b", None], "status": ["granted", "x", "refused"]})
    checks = """
        - id: ledger-status
          type: data.expectation
          table: consent
          expectation: expect_column_values_to_be_in_set
          column: status
          value_set: [granted, refused, withdrawn, expired]
        """
    found, _ = audit(checks, telco, consent=ledger)
    detail = found["ledger-status"].details["expectations"][0]
    assert detail["unexpected_count"] == 1 and detail["element_count"] == 3
    found, _ = audit(checks, telco)
    assert found["ledger-status"].status is Status.ERROR
    assert "--consent" in found["ledger-status"].summary


def test_gx_writes_nothing_to_the_project(audit, telco, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    audit("""
        - id: tenure-known
          type: data.expectation
          expectation: expect_column_values_to_not_be_null
          column: tenure
        """, telco)
    assert list(project.iterdir()) == []


def test_one_gx_pass_for_all_expectations(telco):
    session = GxSession()
    expectations = [(f"k{i}", build_expectation("expect_column_values_to_not_be_null",
                                                {"column": c}, key=f"k{i}"))
                    for i, c in enumerate(["tenure", "gender", "Churn"])]
    results = session.validate(telco, expectations)
    assert sorted(results) == ["k0", "k1", "k2"]
    assert all(r.success for r in results.values())


# -- declaration errors at policy load time -------------------------------------------


def _problems(write_policy, checks: str) -> list:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(checks))
    return caught.value.problems


def test_unknown_expectation_names_closest(write_policy):
    (problem,) = _problems(write_policy, """
        - id: typo
          type: data.expectation
          expectation: expect_column_value_to_not_be_null
          column: tenure
        """)
    assert "unknown expectation 'expect_column_value_to_not_be_null'" in problem.message
    assert "expect_column_values_to_not_be_null" in problem.message
    assert problem.path == "checks[0].expectation"
    assert problem.line == 12  # the `expectation:` line of the policy


def test_wrong_argument_value_gets_gx_message_at_its_line(write_policy):
    (problem,) = _problems(write_policy, """
        - id: bad-mostly
          type: data.expectation
          expectation: expect_column_values_to_not_be_null
          column: tenure
          mostly: 2
        """)
    assert problem.path == "checks[0].mostly"
    assert problem.line == 14
    assert "less than or equal to 1" in problem.message  # GX's own pydantic message


def test_unknown_and_missing_arguments(write_policy):
    problems = _problems(write_policy, """
        - id: bad-args
          type: data.expectation
          expectation: expect_column_values_to_be_in_set
          colum: tenure
          value_set: [1]
        """)
    messages = {p.path: p.message for p in problems}
    assert "did you mean `column`" in messages["checks[0].colum"]
    assert "`column` is required" in messages["checks[0].column"]


def test_expectation_own_rule_message(write_policy):
    (problem,) = _problems(write_policy, """
        - id: no-bounds
          type: data.expectation
          expectation: expect_column_values_to_be_between
          column: tenure
        """)
    assert "min_value and max_value cannot both be None" in problem.message
    assert problem.line == 10  # the check itself


def test_reserved_argument(write_policy):
    (problem,) = _problems(write_policy, """
        - id: reserved
          type: data.expectation
          expectation: expect_column_values_to_not_be_null
          column: tenure
          result_format: COMPLETE
        """)
    assert problem.path == "checks[0].result_format"
    assert "set by cxaudit" in problem.message


def test_gx_error_messages_are_scrubbed():
    from cxaudit.checks.gx_adapter import scrub

    assert scrub("could not convert string to float: 'jane@example.com'", ["tenure"]) == (
        "could not convert string to float: 'j**************m'")
    assert scrub('The column "tenure" in BatchData', ["tenure"]) == 'The column "tenure" in BatchData'


# -- the audit imports GX in the background, and still refuses the same policies ------

BAD_MOSTLY = """
    - id: bad-mostly
      type: data.expectation
      expectation: expect_column_values_to_not_be_null
      column: tenure
      mostly: 2
    - id: suite
      type: data.suite
      suite: customer-profile
      columns: {customer_id: customerID}
    """


def test_deferred_argument_checks_are_listed_not_run(write_policy):
    from cxaudit.checks.gx_adapter import deferring_argument_checks

    path = write_policy(BAD_MOSTLY)
    with deferring_argument_checks() as deferred:
        policy = load_policy(path)  # GX's own check of `mostly` left for later
    assert [c.id for c in policy.checks] == ["bad-mostly", "suite"]
    assert deferred == ["expect_column_values_to_not_be_null", "suite customer-profile"]
    with pytest.raises(PolicyError):
        load_policy(path)  # outside the block: the full validation, as before


@pytest.mark.parametrize("background", [True, False], ids=["gx-in-background", "gx-up-front"])
@pytest.mark.parametrize("data", ["good", "missing"])
def test_an_audit_refuses_bad_arguments_as_policy_validation_does(write_policy, telco, tmp_path,
                                                                  data, background, monkeypatch):
    from cxaudit import runner
    from cxaudit.runner import AuditInputs, audit

    imports = []
    real = runner._validated_later
    monkeypatch.setattr(runner, "_validated_later",
                        lambda path, policy, deferred: imports.append(deferred) or
                        real(path, policy, deferred))
    if background:  # as for inputs of 64 MB and more
        monkeypatch.setattr(runner, "BACKGROUND_GX_BYTES", 0)
    path = write_policy(BAD_MOSTLY)
    with pytest.raises(PolicyError) as expected:
        load_policy(path)
    csv = tmp_path / "data.csv"
    if data == "good":
        telco.head(50).to_csv(csv, index=False)
    # A missing data file is an input error too; the policy's error still comes first.
    with pytest.raises(PolicyError) as caught:
        audit(AuditInputs(policy=str(path), data=str(csv)))
    assert caught.value.format() == expected.value.format()
    assert caught.value.problems[0].line == 14
    assert bool(imports and imports[0]) == background  # deferred, or refused at once
