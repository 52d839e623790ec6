"""Dates and places the audit knows: the audit date is an input, rules have dates and places."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cxaudit.cli import cli as main
from cxaudit.errors import InputError, PolicyError
from cxaudit.lawdates import SECONDARY_NOTE
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status

from .conftest import by_id, run


def _data(tmp_path, *, aware: bool = True):
    times = ["2026-01-10T09:00:00", "2026-06-01T09:00:00", "2026-11-30T18:30:00"]
    frame = pd.DataFrame({"customer": ["a", "b", "c"],
                          "seen": [t + ("+00:00" if aware else "") for t in times],
                          "offer": [1, 0, 1]})
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path / "data.csv"


def _policy(tmp_path, checks, **top):
    checks = json.loads(json.dumps(checks))  # no shared dicts (YAML aliases are refused)
    doc = {"cxaudit": 1, "system": {"name": "s", "model_type": "churn",
                                    **top.pop("system", {})},
           "data": {"id": "customer", "prediction": "offer", **top.pop("data", {})},
           "consent": {"retention_days": 200}, "checks": checks, **top}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


FRESH = {"id": "fresh", "type": "data.freshness", "column": "seen", "max_age_days": 30}
RETAIN = {"id": "retain", "type": "privacy.retention"}
DATED = {"id": "dated", "type": "governance.metadata", "require": ["model_type"],
         "rule": "Test rule", "law": {"jurisdiction": "US-CA", "applies_from": "2027-01-01",
                                      "applies_until": "2027-07-01", "confidence": "Q"}}


def test_without_a_date_the_date_dependent_checks_are_inconclusive(tmp_path):
    """No --as-of, no as_of, no data.timestamp: never the wall clock."""
    result, _ = run(_policy(tmp_path, [FRESH, RETAIN, DATED]), _data(tmp_path))
    checks = by_id(result)
    for cid in ("fresh", "dated"):
        assert checks[cid].status is Status.INCONCLUSIVE, (cid, checks[cid].summary)
        assert "--as-of" in checks[cid].summary
    assert checks["retain"].status is Status.INSUFFICIENT_DATA  # no event time at all
    assert result.policy["as_of"]["date"] is None
    assert result.verdict.value == "fail"  # an inconclusive blocking check blocks


def test_the_audit_date_wins_in_order_option_policy_data(tmp_path):
    data = _data(tmp_path)
    from_data, _ = run(_policy(tmp_path, [RETAIN], data={"timestamp": "seen"}), data)
    assert from_data.policy["as_of"] == {"date": "2026-11-30T18:30:00+00:00",
                                         "source": "the latest seen in the data"}
    # 200-day retention from 30 Nov 2026: the January row is too old.
    assert by_id(from_data)["retain"].metrics[0].value == 1
    pinned = _policy(tmp_path, [RETAIN], data={"timestamp": "seen"}, as_of="2026-07-01")
    from_policy, _ = run(pinned, data)
    assert from_policy.policy["as_of"]["source"] == "the policy's as_of"
    assert by_id(from_policy)["retain"].metrics[0].value == 0
    option, _ = run(pinned, data, as_of="2027-06-01")
    assert option.policy["as_of"] == {"date": "2027-06-01T00:00:00+00:00", "source": "--as-of"}
    assert by_id(option)["retain"].metrics[0].value == 2  # before 13 Nov 2026


def test_freshness_is_not_judged_against_the_datas_own_date(tmp_path):
    data = _data(tmp_path)
    policy = _policy(tmp_path, [FRESH], data={"timestamp": "seen"})
    assert by_id(run(policy, data)[0])["fresh"].status is Status.INCONCLUSIVE
    assert by_id(run(policy, data, as_of="2026-12-15")[0])["fresh"].status is Status.PASS
    assert by_id(run(policy, data, as_of="2027-02-15")[0])["fresh"].status is Status.FAIL


def test_reruns_are_identical_without_a_pinned_date(tmp_path):
    """The known digest instability: freshness and retention read the wall clock."""
    from cxaudit.evidence.manifest import audit_digest

    policy = _policy(tmp_path, [FRESH, RETAIN], data={"timestamp": "seen"})
    first, _ = run(policy, _data(tmp_path))
    second, _ = run(policy, _data(tmp_path))
    assert audit_digest(first) == audit_digest(second)


@pytest.mark.parametrize("as_of, status, words", [
    ("2026-12-31", "not_applicable", "not in force until 2027-01-01"),
    ("2027-01-01", "pass", None),
    ("2027-06-30", "pass", None),
    ("2027-07-01", "not_applicable", "no longer in force since 2027-07-01"),
])
def test_a_rule_applies_between_its_start_and_its_end(tmp_path, as_of, status, words):
    result, md = run(_policy(tmp_path, [DATED]), _data(tmp_path), as_of=as_of)
    check = by_id(result)["dated"]
    assert check.status.value == status, check.summary
    if words:
        assert words in check.summary and "Test rule" not in md.split("### Rules covered")[1] \
            .split("Not listed")[0]
        assert result.verdict.value != "fail"  # shown, never blocking


def test_only_the_declared_jurisdictions_rules_apply(tmp_path):
    eu = {**DATED, "id": "eu", "law": {"jurisdiction": "EU", "confidence": "S"}}
    policy = _policy(tmp_path, [DATED, eu], system={"jurisdictions": ["US-CA"]})
    checks = by_id(run(policy, _data(tmp_path), as_of="2027-02-01")[0])
    assert checks["dated"].status is Status.PASS
    assert checks["eu"].status is Status.NOT_APPLICABLE
    assert "a rule of EU; the system declares jurisdictions US-CA" in checks["eu"].summary
    assert checks["eu"].law["note"] == SECONDARY_NOTE


def test_compliance_deadline_warns_until_it_passes(tmp_path):
    due = {"id": "due", "type": "governance.metadata", "require": ["owner"], "rule": "R",
           "law": {"jurisdiction": "US-CA", "applies_from": "2026-01-01",
                   "compliance_deadline": "2027-12-31", "confidence": "Q"}}
    policy = _policy(tmp_path, [due])
    early = by_id(run(policy, _data(tmp_path), as_of="2027-06-01")[0])["due"]
    assert early.status is Status.FAIL and early.severity.value == "warn"
    assert "Compliance is due by 2027-12-31" in early.summary
    late = by_id(run(policy, _data(tmp_path), as_of="2027-12-31")[0])["due"]
    assert late.status is Status.FAIL and late.severity.value == "block"


@pytest.mark.parametrize("law, words", [
    ({"jurisdiction": "EU"}, "confidence"),
    ({"jurisdiction": "EU", "confidence": "X"}, "confidence"),
    ({"jurisdiction": "E U", "confidence": "P"}, "jurisdiction"),
    ({"confidence": "P", "applies_from": "2027-01-01", "applies_until": "2026-01-01"},
     "not after"),
    ({"confidence": "P", "domains": ["marketing"]}, "unknown domain"),
    ({"confidence": "P", "applies_from": "next year"}, "applies_from"),
])
def test_a_bad_law_block_is_a_located_policy_error(tmp_path, law, words):
    path = _policy(tmp_path, [{**DATED, "law": law}])
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert words in str(caught.value) and "policy.yaml:" in str(caught.value)


def test_bad_as_of_is_exit_2(tmp_path):
    policy = _policy(tmp_path, [DATED])
    with pytest.raises(InputError):
        run(policy, _data(tmp_path), as_of="31/12/2026")
    out = CliRunner().invoke(main, ["audit", "--policy", str(policy), "--data",
                                    str(_data(tmp_path)), "--as-of", "yesterday", "--out",
                                    str(tmp_path / "out"), "--no-trail"])
    assert out.exit_code == 2, out.output
    with pytest.raises(PolicyError, match="UTC offset"):
        load_policy(_policy(tmp_path, [DATED], as_of="2027-01-01T10:00:00"))


def test_an_override_by_id_keeps_the_packs_law(tmp_path):
    doc = {"cxaudit": 1, "extends": ["chatbot-automation"], "system": {"name": "bot"},
           "checks": [{"id": "ai-disclosed", "type": "automation.disclosure",
                       "threshold": {"max": 0.01}, "severity": "warn", "rule": "EU AI Act "
                       "Art. 50(1)"}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    check = next(c for c in load_policy(path).checks if c.id == "ai-disclosed")
    assert str(check.law.applies_from) == "2026-08-02" and check.law.pack == "chatbot-automation"


def test_packs_and_their_versions_are_recorded(tmp_path):
    doc = {"cxaudit": 1, "extends": ["chatbot-automation"], "system": {"name": "bot"}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    pd.DataFrame({"conversation_id": ["a"], "turn": [1], "speaker": ["bot"],
                  "text": ["Hi, I am a virtual assistant (AI)."]}).to_csv(tmp_path / "log.csv",
                                                                          index=False)
    result, md = run(path, tmp_path / "log.csv", as_of="2026-09-01")
    assert result.policy["packs"] == [{"name": "chatbot-automation", "version": "2026.12.1",
                                       "jurisdictions": ["EU"]}]
    assert "chatbot-automation 2026.12.1" in md
    assert json.loads(result.to_json())["policy"]["as_of"]["source"] == "--as-of"


def test_secondary_source_checks_say_so_everywhere():
    """[S]-based checks say it in the pack (description), `policy show` and the report."""
    from cxaudit.policy.packs import load_pack
    from cxaudit.resources import builtin_packs

    for name in builtin_packs():
        for check in load_pack(name).checks:
            assert check.law is not None, f"{name}/{check.id} has no law block"
            if check.law.basis == "law" and check.law.confidence == "S":
                assert SECONDARY_NOTE in (check.description or "").lower(), (name, check.id)
        shown = CliRunner().invoke(main, ["policy", "show", name])
        assert shown.exit_code == 0
        if any(c.law.confidence == "S" and c.law.basis == "law" for c in load_pack(name).checks):
            assert f"[S] — {SECONDARY_NOTE}" in shown.output, name
