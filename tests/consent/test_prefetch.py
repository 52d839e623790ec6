"""The audit starts the consent view on a thread before the checks run; what the consent
checks see is exactly what computing it on demand gives, errors included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.consent.states import STATES, consent_view, prefetch_consent_view
from cxaudit.engines.local import LocalEngine
from cxaudit.errors import InputError
from cxaudit.masking import using_id_key
from cxaudit.runner import audit_loaded

from .conftest import ledger_frame, record

POLICY = """
cxaudit: 1
system: {name: t, purpose: offers}
data: {id: cid, timestamp: ts, label: y, prediction: d, protected: [g]}
checks:
  - {id: cov, type: consent.coverage}
  - {id: wd, type: consent.withdrawn}
"""


def _inputs(n: int = 400):
    rng = np.random.default_rng(2)
    subjects = [f"S{i}" for i in range(n)]
    ledger = ledger_frame(*[
        record(s, ["granted", "withdrawn", "refused"][i % 3], "2025-01-01T00:00:00Z",
               withdrawn="2025-02-01T00:00:00Z" if i % 3 == 1 else None)
        for i, s in enumerate(subjects[: n - 40])])
    frame = pd.DataFrame({"cid": rng.choice(subjects, n), "y": rng.integers(0, 2, n),
                          "d": rng.integers(0, 2, n), "g": rng.choice(["a", "b"], n),
                          "ts": rng.choice(["2025-01-15T00:00:00Z", "2025-03-01T00:00:00Z"], n)})
    return frame, ledger


def test_prefetched_view_equals_the_view_on_demand(write_policy, make_context):
    policy = write_policy(POLICY)
    frame, ledger = _inputs()
    on_demand = consent_view(make_context(policy, frame, ledger))
    ctx = make_context(policy, frame, ledger)
    with using_id_key(b"k" * 32):
        prefetch_consent_view(ctx)
        prefetched = consent_view(ctx)
    np.testing.assert_array_equal(prefetched.state, on_demand.state)
    np.testing.assert_array_equal(prefetched.record, on_demand.record)
    assert {STATES[i] for i in np.unique(prefetched.state)} >= {"valid", "withdrawn", "refused",
                                                                 "no_record"}
    assert consent_view(ctx) is prefetched  # computed once


def test_a_prefetch_error_surfaces_where_the_view_is_asked_for(write_policy, make_context):
    policy = write_policy(POLICY)
    frame, ledger = _inputs(1600)
    # Past the first 1,000 event times (all the up-front check samples): found by the view.
    frame.loc[1500, "ts"] = "not a time"
    ctx, ctx_demand = make_context(policy, frame, ledger), make_context(policy, frame, ledger)
    prefetch_consent_view(ctx)  # no error here
    with pytest.raises(InputError) as demand:
        consent_view(ctx_demand)
    with pytest.raises(InputError) as prefetched:
        consent_view(ctx)
    assert prefetched.value.format() == demand.value.format()
    assert "line 1502" in prefetched.value.format()


def test_the_audit_reports_the_same_with_and_without_the_prefetch(write_policy, monkeypatch):
    from cxaudit.consent import states

    policy = write_policy(POLICY)
    frame, ledger = _inputs()
    started = []
    real = states.prefetch_consent_view
    monkeypatch.setattr(states, "prefetch_consent_view",
                        lambda ctx: started.append(1) or real(ctx))
    with_prefetch = audit_loaded(policy, frame, engine=LocalEngine(), consent=ledger)
    assert started == [1]
    monkeypatch.setattr(states, "prefetch_consent_view", lambda ctx: None)
    without = audit_loaded(policy, frame, engine=LocalEngine(), consent=ledger)

    def dump(result):
        return [{k: v for k, v in c.model_dump(mode="json").items() if k != "duration_s"}
                for c in result.checks]

    assert dump(with_prefetch) == dump(without)
    assert {c.id for c in with_prefetch.checks} == {"cov", "wd"}
