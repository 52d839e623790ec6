"""The customer-experience packs run end to end on the demo's real data, model and ledger."""

from __future__ import annotations

import pytest
import yaml

from cxaudit.result import Status, Verdict

from .conftest import assert_rules_listed, by_id, run, wrap


@pytest.fixture(scope="module")
def demo_sections(demo):
    return yaml.safe_load(demo.policy.read_text(encoding="utf-8"))


def _inputs(demo):
    return {"model": str(demo.model), "trust_model": True, "consent": str(demo.consent),
            "reference": str(demo.reference)}


def test_demo_policy_still_extends_and_overrides_the_baseline(demo):
    from cxaudit.policy.loader import load_policy

    policy = load_policy(demo.policy)
    ids = [c.id for c in policy.checks]
    assert len(ids) == len(set(ids))
    auto = next(c for c in policy.checks if c.id == "fairness-auto")
    assert auto.block_on == "significant"          # the demo's override wins
    assert next(c for c in policy.checks if c.id == "selection-rate-parity").min_group_size == 50


def test_baseline_on_the_demo(demo, demo_sections, tmp_path):
    policy = wrap("cx-personalization-baseline", tmp_path, base=demo_sections)
    result, md = run(policy, demo.data, **_inputs(demo))
    checks = by_id(result)
    assert all(c.status is not Status.ERROR for c in result.checks), [
        (c.id, c.summary) for c in result.checks if c.status is Status.ERROR]
    # The demo's ledger plants withdrawals and objections; the model treats seniors worse.
    assert checks["consent-withdrawn"].status is Status.FAIL
    assert checks["objections-honoured"].status is Status.FAIL
    # bias.auto: assistive offers with observed churn → true positive rate parity.
    assert checks["fairness-auto"].details["chosen_metric"] == "true_positive_rate"
    assert checks["fairness-auto"].status is Status.FAIL
    assert checks["no-direct-identifiers"].status is Status.PASS
    assert result.verdict is Verdict.FAIL
    assert_rules_listed(result, md)


def test_gdpr_profiling_on_the_demo(demo, demo_sections, tmp_path):
    (tmp_path / "dpia.md").write_text("DPIA", encoding="utf-8")
    system = {"significant_effect": False, "documents": {"dpia": "dpia.md"}}
    policy = wrap("gdpr-profiling", tmp_path, base=demo_sections, system=system)
    result, md = run(policy, demo.data, **_inputs(demo))
    checks = by_id(result)
    assert all(c.status is not Status.ERROR for c in result.checks), [
        (c.id, c.summary) for c in result.checks if c.status is Status.ERROR]
    for cid in ("purpose-declared", "human-involvement", "dpia", "features-justified",
                "retention", "no-special-category"):
        assert checks[cid].status is Status.PASS, (cid, checks[cid].summary)
    for cid in ("lawful-basis", "consent-withdrawn", "consent-refused", "objection-honoured"):
        assert checks[cid].status is Status.FAIL, cid
    assert_rules_listed(result, md)
    assert "GDPR Art. 21(2)-(3)" in md and "Not legal advice" in md
