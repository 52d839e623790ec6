"""Waivers: approved and unexpired ones accept a finding, which stays visible; others are
ignored and the report says why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cxaudit.errors import PolicyError
from cxaudit.evidence.schema import Waiver
from cxaudit.evidence.waivers import apply_waivers, load_waivers, verdict_with_waivers
from cxaudit.result import Status, Verdict

TODAY = dt.date(2026, 11, 23)


def _failing_groups(csv: Path) -> list[str]:
    """Independent reference: SeniorCitizen groups whose churn-rate ratio to the best is < 0.8."""
    frame = pd.read_csv(csv)
    rates = (frame["Churn"] == "Yes").groupby(frame["SeniorCitizen"].astype(str)).mean()
    return sorted(rates[rates / rates.max() < 0.8].index)


def _waiver(**changes) -> Waiver:
    base = {"check": "offer-rate-parity", "group": {"SeniorCitizen": "0"},
            "justification": "General retention programme covers this group.",
            "approver": "head-of-cx@example.com", "expires": "2026-12-31"}
    return Waiver.model_validate({**base, **changes})


def test_reference_says_exactly_the_non_senior_group_fails(telco_csv: Path, audited) -> None:
    assert _failing_groups(telco_csv) == ["0"]
    check = {c.id: c for c in audited[1].checks}["offer-rate-parity"]
    failing = [m.group for m in check.metrics if m.status is Status.FAIL]
    assert failing == [{"SeniorCitizen": "0"}]
    assert audited[1].verdict is Verdict.FAIL


def test_an_approved_group_waiver_unblocks_but_keeps_the_finding(audited) -> None:
    checks, report = apply_waivers(audited[1].checks, [_waiver()], TODAY)
    verdict, reason = verdict_with_waivers(checks, report)
    waived = {c.id: c for c in checks}["offer-rate-parity"]
    original = {c.id: c for c in audited[1].checks}["offer-rate-parity"]
    assert waived.status is Status.FAIL  # still visible as a failure ...
    assert waived.metrics == original.metrics  # ... with every number ...
    assert waived.summary.startswith("WAIVED until 2026-12-31 (offer-rate-parity[SeniorCitizen=0])")
    assert original.summary in waived.summary
    assert waived.waiver["groups"] == [{"SeniorCitizen": "0"}]
    assert not waived.blocks
    assert verdict is Verdict.WARN  # ... and never a clean pass
    assert "offer-rate-parity (waived)" in reason
    assert [n["status"] for n in report] == ["applied"]


def test_the_expiry_day_counts_and_the_day_after_does_not(audited) -> None:
    waiver = _waiver(expires="2026-11-23")
    _, on_day = apply_waivers(audited[1].checks, [waiver], TODAY)
    checks, after = apply_waivers(audited[1].checks, [waiver], TODAY + dt.timedelta(days=1))
    assert on_day[0]["status"] == "applied"
    assert after[0]["status"] == "expired"
    assert after[0]["message"] == "it expired on 2026-11-23, so it is ignored"
    verdict, reason = verdict_with_waivers(checks, after)
    assert verdict is Verdict.FAIL
    assert "ignored waiver(s): offer-rate-parity[SeniorCitizen=0] (expired)" in reason
    assert all(c.waiver is None for c in checks)


@pytest.mark.parametrize(("changes", "approvers", "status"), [
    ({"approver": None}, None, "unapproved"),
    ({}, ["compliance@example.com"], "unauthorised"),
    ({"check": "offer-rate-parit"}, None, "unmatched"),
    ({"group": {"SeniorCitizen": "1"}}, None, "not_needed"),
    ({"group": {"gender": "Male"}}, None, "not_needed"),
])
def test_waivers_that_do_not_count_leave_the_verdict_alone(audited, changes, approvers,
                                                           status) -> None:
    checks, report = apply_waivers(audited[1].checks, [_waiver(**changes)], TODAY,
                                   approvers=approvers)
    assert report[0]["status"] == status
    assert verdict_with_waivers(checks, report)[0] is Verdict.FAIL
    if status == "unmatched":
        assert "did you mean offer-rate-parity?" in report[0]["message"]


def test_a_group_waiver_does_not_cover_other_failing_groups(audited) -> None:
    from cxaudit.result import Metric

    check = {c.id: c for c in audited[1].checks}["offer-rate-parity"]
    extra = Metric(name="selection_rate_ratio", group={"gender": "Female"}, value=0.5,
                   status=Status.FAIL)
    widened = check.model_copy(update={"metrics": (*check.metrics, extra)})
    checks, report = apply_waivers([widened], [_waiver()], TODAY)
    assert checks[0].waiver is None
    assert report[0]["status"] == "not_covered"
    assert "gender=Female" in report[0]["message"]


def test_group_waivers_together_cover_several_groups(audited) -> None:
    from cxaudit.result import Metric

    check = {c.id: c for c in audited[1].checks}["offer-rate-parity"]
    extra = Metric(name="selection_rate_ratio", group={"gender": "Female"}, value=0.5,
                   status=Status.FAIL)
    widened = check.model_copy(update={"metrics": (*check.metrics, extra)})
    checks, report = apply_waivers([widened], [_waiver(), _waiver(group={"gender": "Female"})],
                                   TODAY)
    assert [n["status"] for n in report] == ["applied", "applied"]
    assert checks[0].waiver["groups"] == [{"SeniorCitizen": "0"}, {"gender": "Female"}]


def test_a_whole_check_waiver_covers_every_group(audited) -> None:
    checks, report = apply_waivers(audited[1].checks, [_waiver(group=None)], TODAY)
    assert {c.id: c for c in checks}["offer-rate-parity"].waiver["groups"] is None
    assert verdict_with_waivers(checks, report)[0] is Verdict.WARN


def test_errors_are_never_waived(audited) -> None:
    check = {c.id: c for c in audited[1].checks}["offer-rate-parity"]
    errored = check.model_copy(update={"status": Status.ERROR, "error": "boom"})
    checks, report = apply_waivers([errored], [_waiver(group=None)], TODAY)
    assert report[0]["status"] == "not_applicable"
    assert verdict_with_waivers(checks, report)[0] is Verdict.ERROR


def test_policy_waivers_flow_through_the_audit_into_audit_json(audited_waived) -> None:
    from cxaudit.result import AuditResult

    _, result = audited_waived
    assert result.verdict is Verdict.WARN
    again = AuditResult.from_json(result.to_json())  # the waiver survives the JSON contract
    check = {c.id: c for c in again.checks}["offer-rate-parity"]
    assert check.status is Status.FAIL and check.waiver is not None
    assert again.waivers[0]["status"] == "applied"


def test_a_waivers_file_is_read_hashed_and_applied(tmp_path: Path, telco_csv: Path,
                                                   policy_file) -> None:
    import hashlib

    from cxaudit.runner import AuditInputs, audit

    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - check: offer-rate-parity\n"
        "    justification: Seniors have their own retention programme this quarter.\n"
        "    approver: head-of-cx@example.com\n"
        "    expires: 2000-01-31\n", encoding="utf-8")
    result = audit(AuditInputs(policy=str(policy_file()), data=str(telco_csv),
                               waivers=str(waivers)))
    assert result.verdict is Verdict.FAIL  # expired long ago
    assert result.waivers[0]["status"] == "expired"
    assert "ignored waiver(s): offer-rate-parity (expired)" in result.verdict_reason
    assert result.inputs["waivers"].sha256 == hashlib.sha256(waivers.read_bytes()).hexdigest()


def test_waiver_file_errors_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n"
                    "  - check: offer-rate-parity\n"
                    "    justification: too short\n"
                    "    approver: not-an-email\n"
                    "    expirs: 2027-01-01\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_waivers(path)
    text = caught.value.format()
    assert f"{path}:3:" in text and "at least 20 characters" in text
    assert f"{path}:4:" in text and "approver must be an email address" in text
    assert f"{path}:5:" in text and "unknown key `expirs`" in text
    assert "`expires` is required" in text
    assert "not-an-email" not in text  # the message does not echo the value


def test_policy_waiver_errors_are_located_in_the_policy(policy_file) -> None:
    from cxaudit.policy.loader import load_policy

    path = policy_file("waivers:\n  - check: offer-rate-parity\n    justification: "
                       "A long enough justification text.\n    expires: someday\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    line = path.read_text().splitlines().index("    expires: someday") + 1
    assert f"{path}:{line}:5: waivers[0].expires:" in caught.value.format()


def test_waived_and_ignored_waivers_show_in_every_report_format(tmp_path: Path, audited) -> None:
    from evidence_helpers import REPORT_FORMATS

    from cxaudit.render import write_reports
    from cxaudit.result import AuditResult

    checks, report = apply_waivers(audited[1].checks, [
        _waiver(), _waiver(id="old-exception", group=None, expires="2026-01-31")], TODAY)
    verdict, reason = verdict_with_waivers(checks, report)
    result = audited[1].model_copy(update={"checks": checks, "waivers": report,
                                           "verdict": verdict, "verdict_reason": reason})
    result = AuditResult.from_json(result.to_json())
    written = write_reports(result, tmp_path, REPORT_FORMATS)
    assert set(written) == set(REPORT_FORMATS)
    for path in written.values():
        text = path.read_text(encoding="utf-8")
        assert "WAIVED until 2026-12-31" in text, path.name  # the finding stays, marked
        assert "SeniorCitizen=0 (0.57)" in text, path.name
        if path.suffix != ".xml":  # JUnit carries per-check messages only
            assert "old-exception (expired)" in text, path.name


def test_a_waiver_never_removes_a_check(audited) -> None:
    checks, _ = apply_waivers(audited[1].checks, [_waiver(group=None)], TODAY)
    assert [c.id for c in checks] == [c.id for c in audited[1].checks]
    assert [c.status for c in checks] == [c.status for c in audited[1].checks]
