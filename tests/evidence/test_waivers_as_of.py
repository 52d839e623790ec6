"""Waivers expire by the audit's date (an input), not the wall clock (issue 21).

The wall clock decides only when the audit has no date, and each waiver's entry says so.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from evidence_helpers import POLICY

from cxaudit.evidence.waivers import WALL_CLOCK
from cxaudit.result import Verdict

EXPIRING = """\
waivers:
  - check: offer-rate-parity
    group: {SeniorCitizen: 0}
    justification: Non-seniors get the general retention programme; reviewed quarterly.
    approver: head-of-cx@example.com
    expires: 2027-03-31
"""


def _audit(tmp_path: Path, telco_csv: Path, extra: str = "", as_of: str | None = None):
    from cxaudit.runner import AuditInputs, audit

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + EXPIRING + extra, encoding="utf-8")
    data = tmp_path / "telco.csv"
    if not data.exists():
        shutil.copyfile(telco_csv, data)
    return audit(AuditInputs(policy=str(policy), data=str(data), seed=7, as_of=as_of))


def test_a_waiver_counts_through_its_expiry_day_at_the_audit_date(tmp_path, telco_csv):
    on_day = _audit(tmp_path, telco_csv, as_of="2027-03-31")
    after = _audit(tmp_path, telco_csv, as_of="2027-04-01")
    assert [w["status"] for w in on_day.waivers] == ["applied"]
    assert on_day.waivers[0]["judged_at"] == "2027-03-31 (--as-of)"
    assert on_day.verdict is Verdict.WARN
    assert [w["status"] for w in after.waivers] == ["expired"]
    assert after.waivers[0]["judged_at"] == "2027-04-01 (--as-of)"
    assert after.verdict is Verdict.FAIL
    assert "wall clock" not in after.waivers[0]["message"]


def test_the_policy_as_of_decides_too(tmp_path, telco_csv):
    result = _audit(tmp_path, telco_csv, extra="as_of: 2028-01-01\n")
    assert [w["status"] for w in result.waivers] == ["expired"]
    assert result.waivers[0]["judged_at"] == "2028-01-01 (the policy's as_of)"


def test_reruns_judge_waivers_the_same_whatever_the_day(tmp_path, telco_csv):
    first = _audit(tmp_path, telco_csv, as_of="2027-01-15")
    second = _audit(tmp_path, telco_csv, as_of="2027-01-15")
    assert first.waivers == second.waivers
    assert first.checks == second.checks


def test_without_an_audit_date_the_wall_clock_decides_and_says_so(tmp_path, telco_csv):
    result = _audit(tmp_path, telco_csv)
    [note] = result.waivers
    today = dt.datetime.now(dt.timezone.utc).date()
    assert note["judged_at"].startswith(str(today)) or note["judged_at"].startswith(
        str(today - dt.timedelta(days=1)))
    assert WALL_CLOCK in note["judged_at"]
    assert "give --as-of" in note["message"]
