"""Duplicates and freshness, against pandas and hand-computed times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from cxaudit.errors import PolicyError
from cxaudit.masking import hash_id
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status


def test_duplicate_ids_counted_and_hashed(audit, telco):
    frame = pd.concat([telco, telco.iloc[[5, 5, 9]]], ignore_index=True)
    checks, result = audit("""
        - id: dupes
          type: data.duplicates
        """, frame)
    dupes = checks["dupes"]
    assert dupes.status is Status.FAIL
    values = {m.name: m.value for m in dupes.metrics}
    assert values["duplicate_rows"] == frame.duplicated("customerID").sum() == 3
    assert values["duplicated_keys"] == 2
    assert values["duplicate_rate"] == pytest.approx(3 / len(frame))
    ids = [telco["customerID"].iloc[5], telco["customerID"].iloc[9]]
    assert dupes.details["examples"] == [hash_id(i) for i in ids]
    assert ids[0] not in result.to_json()


def test_whole_row_duplicates_and_tolerance(audit, telco):
    frame = pd.concat([telco, telco.iloc[[1]]], ignore_index=True)
    frame.loc[len(frame) - 1, "customerID"] = "X"  # same customer data under another id
    checks, _ = audit("""
        - id: rows
          type: data.duplicates
          columns: []
        - id: ids-tolerant
          type: data.duplicates
          max_rate: 0.001
        """, frame)
    assert checks["rows"].status is Status.PASS  # the id differs, so no row repeats verbatim
    assert checks["ids-tolerant"].status is Status.PASS


FRESH = """
    - id: fresh
      type: data.freshness
      column: seen_at
      max_age_days: 30
      as_of: 2026-11-23T12:00:00Z
"""


def _with_times(telco, values):
    frame = telco.head(len(values)).copy()
    frame["seen_at"] = values
    return frame


def test_aware_timestamps_age_hand_computed(audit, telco):
    frame = _with_times(telco, ["2026-10-01T00:00:00+02:00", "2026-11-01T08:00:00-05:00",
                                "not a time"])
    checks, _ = audit(FRESH, frame)
    fresh = checks["fresh"]
    newest = datetime(2026, 11, 1, 13, 0, tzinfo=timezone.utc)  # 08:00 at UTC-5
    expected = (datetime(2026, 11, 23, 12, tzinfo=timezone.utc) - newest) / timedelta(days=1)
    age = next(m for m in fresh.metrics if m.name == "age_days")
    assert age.value == pytest.approx(expected)
    assert fresh.status is Status.PASS  # 21.96 days
    assert "1 value could not be read" in fresh.summary


def test_naive_timestamps_need_a_zone(audit, telco):
    frame = _with_times(telco, ["2026-10-20 23:30:00", "2026-10-01 00:00:00"])
    checks, _ = audit(FRESH, frame)
    assert checks["fresh"].status is Status.ERROR
    assert "timezone:" in checks["fresh"].summary
    checks, _ = audit(FRESH + "      timezone: Asia/Tokyo\n", frame)
    age = next(m for m in checks["fresh"].metrics if m.name == "age_days")
    newest = datetime(2026, 10, 20, 14, 30, tzinfo=timezone.utc)  # 23:30 in Tokyo (UTC+9)
    assert age.value == pytest.approx(
        (datetime(2026, 11, 23, 12, tzinfo=timezone.utc) - newest) / timedelta(days=1))
    assert checks["fresh"].status is Status.FAIL  # 33.9 days > 30


def test_freshness_declaration_errors(write_policy):
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("""
            - id: f
              type: data.freshness
              max_age_days: 7
              timezone: Mars/Olympus
              as_of: 2026-11-23T12:00:00
            """))
    messages = {p.path: p.message for p in caught.value.problems}
    assert "unknown time zone" in messages["checks[0].timezone"]
    assert "needs a UTC offset" in messages["checks[0].as_of"]
