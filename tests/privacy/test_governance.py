"""Data minimisation and retention."""

from __future__ import annotations

import pandas as pd

from cxaudit.masking import hash_id
from cxaudit.result import Status

MINIMISATION = """
cxaudit: 1
system: {name: t}
data: {id: cid, features: [tenure, plan, region]}
consent:
  feature_justifications:
    tenure: "churn risk depends on contract age"
    plan: "offers differ by plan"
    old_column: "no longer used"
checks:
  - {id: mn, type: privacy.minimisation}
"""


def test_minimisation_lists_unjustified_and_stale(run_policy):
    frame = pd.DataFrame({"cid": ["a"], "tenure": [1], "plan": ["x"], "region": ["n"]})
    out = run_policy(MINIMISATION, frame)["mn"]
    assert out.status is Status.FAIL
    assert out.details == {"unjustified": ["region"], "stale_justifications": ["old_column"]}
    justified = MINIMISATION.replace('    old_column: "no longer used"',
                                     '    region: "regional offers"')
    assert run_policy(justified, frame)["mn"].status is Status.PASS


RETENTION = """
cxaudit: 1
system: {name: t}
data: {id: cid, timestamp: ts}
consent:
  retention_days: 30
  as_of: "2025-03-31T00:00:00Z"
checks:
  - {id: rt, type: privacy.retention}
"""


def test_retention_boundary_and_hashed_examples(run_policy):
    frame = pd.DataFrame({
        "cid": ["old", "edge", "new", "tz", "none"],
        # cutoff = 2025-03-01T00:00Z; exactly at the cutoff is still kept.
        "ts": ["2025-02-28T23:59:59Z", "2025-03-01T00:00:00Z", "2025-03-20T00:00:00Z",
               "2025-03-01T00:30:00+01:00", None],
    })
    out = run_policy(RETENTION, frame)["rt"]
    assert out.status is Status.FAIL
    rows = next(m for m in out.metrics if m.name == "rows_past_retention")
    assert rows.value == 2  # "old", and "tz" (23:30 UTC the day before)
    assert out.details["example_subjects"] == [hash_id("old"), hash_id("tz")]
    assert out.details["rows_without_time"] == 1


def test_retention_without_timestamp_is_insufficient_not_pass(run_policy):
    text = RETENTION.replace("timestamp: ts", "timestamp: null")
    out = run_policy(text, pd.DataFrame({"cid": ["a"], "ts": ["2020-01-01T00:00:00Z"]}))["rt"]
    assert out.status is Status.INSUFFICIENT_DATA


def test_retention_refuses_naive_data_against_aware_as_of(run_policy):
    frame = pd.DataFrame({"cid": ["a"], "ts": ["2025-01-01 00:00:00"]})
    out = run_policy(RETENTION, frame)["rt"]
    assert out.status is Status.ERROR and "naive" in out.error
    zoned = RETENTION.replace("retention_days: 30", "retention_days: 30\n  timezone: UTC")
    assert run_policy(zoned, frame)["rt"].status is Status.FAIL
