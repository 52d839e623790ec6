"""NYC LL144 at the time of use: the one-year limit (Admin. Code § 20-871(a)(1)) checked by
`cxaudit verify --as-of`, and the 10-business-day candidate notice (§ 20-871(b)(1), 6 RCNY
§ 5-304) checked from a declared notice log, with New York's holidays."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.ll144 import use_standing, valid_through

# Notices (time) and the tool's use on each candidate (done), New York time (EST, -05:00).
# 10 business days after Mon 4 Jan 2027: 5, 6, 7, 8, 11, 12, 13, 14, 15, (18 is Martin Luther
# King Jr. Day, a New York holiday) 19 -> the earliest use is Tue 19 Jan.
# A notice on Sat 9 Jan counts from Fri 8 Jan: 11, 12, 13, 14, 15, 19, 20, 21, 22, 25 -> 25 Jan.
NOTICES = [
    ("c1", "2027-01-04T09:00:00-05:00", "2027-01-19T10:00:00-05:00"),  # the 10th business day: in time
    ("c2", "2027-01-04T09:00:00-05:00", "2027-01-18T10:00:00-05:00"),  # on the holiday: too soon
    ("c3", "2027-01-09T12:00:00-05:00", "2027-01-22T10:00:00-05:00"),  # Saturday notice: too soon
    ("c4", "2027-01-09T12:00:00-05:00", "2027-01-25T09:00:00-05:00"),  # in time
    ("c5", "2027-01-20T09:00:00-05:00", ""),                     # not used yet
    ("c6", "2027-01-05T04:30:00+00:00", "2027-01-19T14:00:00+00:00"),  # 23:30 on 4 Jan in NY
]


def _data(folder: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n),
                          "race": rng.choice(["W", "B", "A"], n),
                          "selected": rng.integers(0, 2, n)})
    path = folder / "applicants.csv"
    frame.to_csv(path, index=False)
    return path


def _policy(folder: Path, *, notices: bool = False, pack: bool = True, **extra) -> Path:
    doc = {"cxaudit": 1, "extends": ["nyc-ll144"] if pack else [],
           "system": {"name": "screen", "jurisdictions": ["US-NY-NYC"],
                      "domains": ["employment"]},
           "data": {"prediction": "selected", "protected": ["sex", "race"],
                    "intersections": [["sex", "race"]]}, **extra}
    if not pack:
        doc["checks"] = [{"id": "rates", "type": "bias.selection_rate", "severity": "info"}]
    if notices:
        pd.DataFrame(NOTICES, columns=["candidate", "notified_at", "screened_at"]).to_csv(
            folder / "notices.csv", index=False)
        doc["logs"] = {"ll144_notices": {
            "file": "notices.csv", "timezone": "America/New_York",
            "columns": {"subject": "candidate", "time": "notified_at", "done": "screened_at"}}}
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _audit(folder: Path, *args: str):
    return CliRunner().invoke(cli, ["audit", "--policy", str(folder / "policy.yaml"), "--data",
                                    str(_data(folder)), "--out", str(folder / "out"),
                                    "--no-trail", "--format", "json", *args])


def _notice_check(folder: Path) -> dict:
    audit = json.loads((folder / "out" / "audit.json").read_text())
    return {c["id"]: c for c in audit["checks"]}["ll144-candidate-notice"]


def test_the_notice_is_checked_in_new_york_business_days(tmp_path):
    _policy(tmp_path, notices=True)
    result = _audit(tmp_path, "--as-of", "2027-02-01")
    assert result.exit_code == 1, result.output  # the notice check blocks
    check = _notice_check(tmp_path)
    metrics = {m["name"]: m["value"] for m in check["metrics"]}
    assert check["status"] == "fail"
    assert metrics == {"too_soon": 2.0, "not_done_yet": 1.0}
    assert "2 events of 6" in check["summary"] and "US-NY holidays" in check["summary"]
    assert check["law"]["pack"] == "nyc-ll144" and check["law"]["confidence"] == "Q"


def test_without_a_notice_log_the_notice_is_not_checked_and_says_so(tmp_path):
    _policy(tmp_path)
    result = _audit(tmp_path, "--as-of", "2027-02-01")
    assert result.exit_code == 0, result.output
    check = _notice_check(tmp_path)
    assert check["status"] == "not_applicable"
    assert "declares no log 'll144_notices'" in check["summary"]


def _verify(folder: Path, *args: str):
    return CliRunner().invoke(cli, ["verify", str(folder / "out"), *args])


def test_verify_refuses_an_audit_more_than_a_year_before_the_date_of_use(tmp_path):
    _policy(tmp_path)
    assert _audit(tmp_path, "--as-of", "2025-03-01").exit_code == 0
    on_anniversary = _verify(tmp_path, "--as-of", "2026-03-01")
    assert on_anniversary.exit_code == 0, on_anniversary.output
    assert "within a year of the date of use 2026-03-01" in on_anniversary.output
    late = _verify(tmp_path, "--as-of", "2026-03-02")
    assert late.exit_code == 1, late.output
    for needle in ("2025-03-01", "2026-03-02", "only through 2026-03-01", "20-871(a)(1)"):
        assert needle in late.output
    noted = _verify(tmp_path)
    assert noted.exit_code == 0 and "usable through 2026-03-01" in noted.output
    as_json = _verify(tmp_path, "--as-of", "2026-03-02", "--json")
    assert as_json.exit_code == 1 and not json.loads(as_json.output)["ok"]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "2026-03-02T10:00:00", "x" * 500])
def test_verify_refuses_a_date_it_cannot_read(tmp_path, bad):
    _policy(tmp_path)
    assert _audit(tmp_path, "--as-of", "2025-03-01").exit_code == 0
    result = _verify(tmp_path, "--as-of", bad)
    assert result.exit_code == 2, result.output
    assert "x" * 40 not in result.output


def test_verify_leaves_other_audits_alone(tmp_path):
    _policy(tmp_path, pack=False)
    assert _audit(tmp_path, "--as-of", "2020-01-01").exit_code == 0
    result = _verify(tmp_path, "--as-of", "2027-01-01")
    assert result.exit_code == 0, result.output
    assert "LL144" not in result.output


def test_an_llm144_audit_outside_new_york_city_is_not_held_to_the_limit(tmp_path):
    _policy(tmp_path)
    path = tmp_path / "policy.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["system"]["jurisdictions"] = ["US-CA"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert _audit(tmp_path, "--as-of", "2020-01-01").exit_code == 0
    result = _verify(tmp_path, "--as-of", "2027-01-01")
    assert result.exit_code == 0, result.output


def test_one_year_from_the_29th_of_february_ends_on_the_28th():
    assert valid_through(date(2028, 2, 29)) == date(2029, 2, 28)
    assert valid_through(date(2027, 1, 15)) == date(2028, 1, 15)
    audit = {"system": {"ll144": {"x": 1}}, "policy": {"as_of": {"date": "2028-02-29T00:00:00+00:00"}}}
    assert use_standing(audit, date(2029, 2, 28))[0] is True
    assert use_standing(audit, date(2029, 3, 1))[0] is False
    undated = {"system": {"ll144": {"x": 1}}, "policy": {"as_of": {"date": None}}}
    assert use_standing(undated, date(2029, 3, 1))[0] is False
    assert use_standing(undated, None)[0] is None
