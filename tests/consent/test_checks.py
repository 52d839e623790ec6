"""Consent checks end to end on the telco data with a generated ledger.

The expected states come from a plain per-row Python reference written from
the ledger format's rules, not from the vectorised implementation.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from cxaudit.demo.consent import generate_ledger
from cxaudit.masking import hash_id
from cxaudit.resources import demo_dataset
from cxaudit.result import Status
from cxaudit.runner import run_checks

from .conftest import ledger_frame, record

RANK = {"granted": 0, "expired": 1, "withdrawn": 2, "refused": 3}
POLICY = """
cxaudit: 1
system: {name: churn-offers, purpose: retention_offers}
data:
  id: customerID
  prediction: offer
  positive: "Yes"
  timestamp: scored_at
  protected: [gender, SeniorCitizen]
consent:
  fallback: {value: "No"}
checks:
  - {id: cov, type: consent.coverage}
  - {id: wd, type: consent.withdrawn}
  - {id: ex, type: consent.expired}
  - {id: rf, type: consent.refused}
  - {id: ob, type: consent.objection}
  - {id: oo, type: consent.opt_out_honoured}
  - {id: mi, type: consent.minors}
"""


@pytest.fixture(scope="module")
def scoring_log() -> pd.DataFrame:
    frame = pd.read_csv(demo_dataset()).head(2500)
    rng = np.random.default_rng(11)
    base = pd.Timestamp("2026-09-01T00:00:00Z")
    frame["scored_at"] = (base + pd.to_timedelta(rng.integers(0, 60 * 86400, len(frame)),
                                                 unit="s")).astype(str)
    frame["offer"] = np.where(frame["Contract"] == "Month-to-month", "Yes", "No")
    return frame


@pytest.fixture(scope="module")
def ledger(scoring_log) -> pd.DataFrame:
    # Place each subject's story relative to a *different* time than the scoring
    # time, so the as-of join (not the scenario label) decides the state.
    shifted = scoring_log.assign(anchor=pd.to_datetime(scoring_log["scored_at"])
                                 - pd.Timedelta(days=20))
    return generate_ledger(shifted, purpose="retention_offers", seed=3,
                           timestamp_column="anchor")


def reference_state(rows: list[dict], t: pd.Timestamp, accepted: set[str]) -> str:
    started = [r for r in rows if r["granted_at"] <= t]
    if not started:
        return "no_record"
    latest = max(started, key=lambda r: (r["granted_at"], RANK[r["status"]]))
    withdrawn = pd.notna(latest["withdrawn_at"]) and latest["withdrawn_at"] <= t
    expired = pd.notna(latest["expires_at"]) and latest["expires_at"] <= t
    refused = latest["status"] == "refused"
    if latest["signal"] == "objection" and (refused or withdrawn):
        return "objected"
    if refused:
        return "refused"
    if withdrawn:
        return "withdrawn"
    if expired:
        return "expired"
    if latest["lawful_basis"] not in accepted:
        return "basis_not_accepted"
    return "valid"


@pytest.fixture(scope="module")
def expected_states(scoring_log, ledger) -> list[str]:
    relevant = ledger[ledger["purpose"].isin(["retention_offers", "*"])]
    by_subject: dict[str, list[dict]] = {}
    for row in relevant.to_dict("records"):
        by_subject.setdefault(row["subject_id"], []).append(row)
    return [reference_state(by_subject.get(s, []), pd.Timestamp(t), {"consent"})
            for s, t in zip(scoring_log["customerID"], scoring_log["scored_at"], strict=True)]


@pytest.fixture(scope="module")
def results(tmp_path_factory, scoring_log, ledger):
    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.loaders.consent import prepare_consent
    from cxaudit.policy.loader import load_policy

    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    policy = load_policy(path)
    # Round-trip through CSV text, as the runner reads it.
    csv = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    ledger.to_csv(csv, index=False)
    consent = prepare_consent(policy, scoring_log, pd.read_csv(csv))
    ctx = build_context(policy, scoring_log, LocalEngine(), consent=consent)
    return {r.id: r for r in run_checks(ctx)}


def metric(result, name, **group):
    found = [m for m in result.metrics if m.name == name and m.group == group]
    assert len(found) == 1, (name, group)
    return found[0].value


def test_coverage_counts_match_the_per_row_reference(results, expected_states):
    counts = Counter(expected_states)
    cov = results["cov"]
    got = {k: v for k, v in cov.details["rows_by_state"].items() if v}
    assert got == dict(counts)
    uncovered = len(expected_states) - counts["valid"]
    assert uncovered > 100  # the generated ledger has every kind of problem
    assert cov.status is Status.FAIL
    assert metric(cov, "affected_rows") == uncovered
    assert metric(cov, "affected_share") == pytest.approx(uncovered / len(expected_states))


@pytest.mark.parametrize(("check", "state"), [("wd", "withdrawn"), ("ex", "expired"),
                                              ("rf", "refused"), ("ob", "objected")])
def test_state_checks_count_their_state(results, expected_states, check, state):
    expected = Counter(expected_states)[state]
    assert expected > 0
    assert metric(results[check], "affected_rows") == expected
    assert results[check].status is Status.FAIL


def test_bias_impact_matches_fairlearn_on_the_kept_rows(results, scoring_log, expected_states):
    cov = results["cov"]
    kept = scoring_log[np.array(expected_states) == "valid"]
    frame = MetricFrame(metrics=selection_rate, y_true=np.zeros(len(kept)),
                        y_pred=(kept["offer"] == "Yes").astype(int),
                        sensitive_features=kept["gender"])
    for group, rate in frame.by_group.items():
        assert metric(cov, "selection_rate_without_affected", gender=str(group)) == \
            pytest.approx(rate)
    every = MetricFrame(metrics=selection_rate, y_true=np.zeros(len(scoring_log)),
                        y_pred=(scoring_log["offer"] == "Yes").astype(int),
                        sensitive_features=scoring_log["SeniorCitizen"])
    impact = {tuple(d["attributes"]): d for d in cov.details["bias_impact"]}
    rates = every.by_group
    assert impact[("SeniorCitizen",)]["lowest_ratio_all_rows"] == pytest.approx(
        rates.min() / rates.max())
    assert "→" in cov.summary


def test_findings_hash_ids_and_never_show_raw_ids(results, scoring_log, expected_states):
    cov = results["cov"]
    affected = scoring_log["customerID"][np.array(expected_states) != "valid"]
    assert cov.details["example_subjects"] == [hash_id(v) for v in affected.head(5)]
    dumped = "".join(r.model_dump_json() for r in results.values())
    assert not any(raw in dumped for raw in scoring_log["customerID"])


def test_opt_out_rows_without_fallback_are_reported(results, scoring_log, expected_states):
    states = np.array(expected_states)
    opted = np.isin(states, ["objected", "refused", "withdrawn"])
    expected = int((opted & (scoring_log["offer"] != "No").to_numpy()).sum())
    oo = results["oo"]
    assert metric(oo, "affected_rows") == expected > 0
    assert metric(oo, "opted_out_rows") == opted.sum()
    assert metric(oo, "gpc_rows") > 0


def test_minors_without_age_column_warns_about_unverified(results):
    mi = results["mi"]
    assert mi.status is Status.WARN
    assert metric(mi, "age_unverified_rows") > 0


MINI = """
cxaudit: 1
system: {name: t, purpose: offers}
data: {id: cid, timestamp: ts, prediction: offer, positive: "Yes"}
consent:
  age_column: age
  age_limit: 16
  fallback: {column: offer, value: "No"}
checks:
  - {id: mi, type: consent.minors}
  - {id: oo, type: consent.opt_out_honoured}
  - {id: ob, type: consent.objection, purposes: [direct_marketing]}
  - {id: cov, type: consent.coverage, threshold: {max: 0.5}}
"""


def test_minors_objection_and_opt_out_by_hand(write_policy, make_context):
    ledger = ledger_frame(
        record("kid", parental_consent=False, age_verified=False),
        record("kid2", parental_consent=True, age_verified=False),
        record("adult", parental_consent=False, age_verified=True),
        record("gpc", "refused", "2025-02-01T00:00:00Z", purpose="*", signal="gpc",
               parental_consent=False, age_verified=True),
        record("objector", "refused", "2025-02-01T00:00:00Z", purpose="direct_marketing",
               signal="objection", parental_consent=False, age_verified=True),
    )
    frame = pd.DataFrame({
        "cid": ["kid", "kid2", "adult", "gpc", "gpc", "objector"],
        "ts": ["2025-03-01T00:00:00Z"] * 6,
        "age": [15, 12, 40, 30, 30, np.nan],
        "offer": ["Yes", "Yes", "Yes", "Yes", "No", "Yes"],
    })
    ctx = make_context(write_policy(MINI), frame, ledger)
    out = {r.id: r for r in run_checks(ctx)}
    assert metric(out["mi"], "affected_rows") == 1  # kid: 15 < 16, no parental consent
    assert metric(out["mi"], "minor_rows") == 2
    assert out["mi"].status is Status.FAIL
    assert metric(out["oo"], "affected_rows") == 1  # the gpc row that got "Yes"
    assert metric(out["oo"], "gpc_rows") == 2
    assert metric(out["ob"], "affected_rows") == 1  # objection to direct_marketing
    assert metric(out["ob"], "objected_rows", purpose="direct_marketing") == 1
    assert out["ob"].details["direct_marketing"] is False  # "offers" is not in the mapping
    # coverage: gpc ×2 refused, objector has no record for "offers": 3 of 6 = 0.5 ≤ 0.5
    assert metric(out["cov"], "affected_share") == 0.5
    assert out["cov"].status is Status.PASS


def test_no_event_time_uses_as_of_or_says_audit_time(write_policy, make_context):
    ledger = ledger_frame(record("A", "withdrawn", withdrawn="2025-06-01T00:00:00Z"))
    frame = pd.DataFrame({"cid": ["A"]})
    policy = write_policy("""
        cxaudit: 1
        system: {name: t, purpose: offers}
        data: {id: cid}
        consent: {as_of: "2025-05-01T00:00:00Z"}
        checks: [{id: cov, type: consent.coverage}]
    """)
    result = run_checks(make_context(policy, frame, ledger))[0]
    assert result.status is Status.PASS and "consent.as_of" in result.summary
    policy = write_policy("""
        cxaudit: 1
        system: {name: t, purpose: offers}
        data: {id: cid}
        checks: [{id: cov, type: consent.coverage}]
    """, name="p2.yaml")
    result = run_checks(make_context(policy, frame, ledger))[0]
    assert result.status is Status.FAIL and "audit time" in result.summary


def test_opt_out_fallback_on_the_model_decision(write_policy, make_context):
    """Without a treatment column the model's own 0/1 decision is compared to the fallback."""
    ledger = ledger_frame(
        record("a"), record("b", "refused", "2025-02-01T00:00:00Z", signal="gpc", purpose="*"),
        record("c", "refused", "2025-02-01T00:00:00Z"))
    frame = pd.DataFrame({"cid": ["a", "b", "c"], "ts": ["2025-03-01T00:00:00Z"] * 3,
                          "p": [0.9, 0.8, 0.1]})
    policy = write_policy("""
        cxaudit: 1
        system: {name: t, purpose: offers}
        data: {id: cid, timestamp: ts, score: p, decision_threshold: 0.5}
        consent: {fallback: {value: 0}}
        checks: [{id: oo, type: consent.opt_out_honoured}]
    """)
    out = run_checks(make_context(policy, frame, ledger))[0]
    # b (GPC) scored 0.8 → decision 1: not honoured; c refused and got 0: honoured.
    assert metric(out, "affected_rows") == 1 and metric(out, "gpc_rows_not_honoured") == 1
    assert out.details["treatment_column"] == "model decision"


def test_coverage_of_training_rows_given_as_reference(write_policy):
    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.loaders.consent import prepare_consent

    ledger = ledger_frame(
        record("a", "withdrawn", "2025-01-01T00:00:00Z", withdrawn="2025-06-01T00:00:00Z"),
        record("b"))
    scored = pd.DataFrame({"cid": ["a", "b"], "ts": ["2025-07-01T00:00:00Z"] * 2})
    training = pd.DataFrame({"cid": ["a", "b", "c"], "ts": ["2025-03-01T00:00:00Z"] * 3})
    policy = write_policy("""
        cxaudit: 1
        system: {name: t, purpose: offers}
        data: {id: cid, timestamp: ts}
        checks:
          - {id: cov, type: consent.coverage, datasets: [data, reference]}
          - {id: wd, type: consent.withdrawn, datasets: [reference]}
    """)
    ctx = build_context(policy, scored, LocalEngine(),
                        consent=prepare_consent(policy, scored, ledger), reference=training)
    cov, wd = run_checks(ctx)
    # scored: a withdrew before July (1 of 2); training in March: a was valid, c unknown.
    assert metric(cov, "affected_rows") == 1
    assert metric(cov, "affected_rows", dataset="reference") == 1
    assert metric(cov, "affected_rows", dataset="reference", reason="no_record") == 1
    assert cov.status is Status.FAIL and "Reference (training) data:" in cov.summary
    assert metric(wd, "affected_rows", dataset="reference") == 0 and wd.status is Status.PASS
    with pytest.raises(Exception, match="datasets"):
        write_policy("""
            cxaudit: 1
            system: {name: t, purpose: offers}
            data: {id: cid}
            checks: [{id: mi, type: consent.minors, datasets: [reference]}]
        """, name="bad.yaml")


def test_bias_impact_never_takes_the_unknown_group_as_reference():
    from cxaudit.checks.consent._common import _lowest_ratio

    rates = {("A",): (100, 0.5), ("unknown",): (100, 0.9), ("B",): (100, 0.25)}
    # The best-off known group (A, 0.5) is the reference: B is at half of it. With the
    # unknown group as reference, B would be at 0.25 / 0.9.
    assert _lowest_ratio(rates, 30, higher_is_better=True) == (0.5, ("B",))
    assert _lowest_ratio({("unknown",): (100, 0.9), ("A",): (10, 0.5)}, 30, True) == (None, None)


def test_example_ids_are_fetched_only_when_they_can_be_shown(tmp_path, scoring_log, ledger,
                                                             monkeypatch):
    """Without an id key, findings list no examples, so no engine is asked for any (on
    Spark each would be a fetch by position); the counts are the same either way."""
    from cxaudit.context import build_context
    from cxaudit.engines.local import LocalEngine
    from cxaudit.loaders.consent import prepare_consent
    from cxaudit.policy.loader import load_policy

    class Spy(LocalEngine):
        limits: list[int] = []

        def distinct_where(self, frame, column, mask, limit):  # noqa: ANN001, ANN201
            self.limits.append(limit)
            return super().distinct_where(frame, column, mask, limit)

    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    policy = load_policy(path)
    found = {}
    for keyed in (True, False):
        if not keyed:
            monkeypatch.delenv("CXAUDIT_ID_SALT", raising=False)
        Spy.limits = []
        consent = prepare_consent(policy, scoring_log, ledger.copy())
        ctx = build_context(policy, scoring_log, Spy(), consent=consent)
        out = {r.id: r for r in run_checks(ctx)}
        found[keyed] = ({k: r.details.get("affected_subjects") for k, r in out.items()},
                        list(Spy.limits), out["cov"].details["example_subjects"])
    assert found[True][1] and all(limit > 0 for limit in found[True][1])
    assert found[False][1] and all(limit == 0 for limit in found[False][1])
    assert found[True][0] == found[False][0]
    assert found[True][2] and found[False][2] == []
