"""chatbot-automation on a generated interaction log with planted, known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxaudit.masking import hash_ids
from cxaudit.result import Status, Verdict

from .conftest import assert_rules_listed, by_id, run, wrap

DISCLOSING = "Hi, I'm the virtual assistant of Acme. How can I help?"
SILENT = "Hi! How can I help you today?"


def _log(seed: int = 11, n: int = 240):
    """Conversations with planted disclosure gaps, human requests, frustration, handoffs.

    Returns the turn log and the ground truth per conversation (what was planted).
    """
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for i in range(n):
        cid = f"conv-{i:04d}"
        language = "en" if i % 2 == 0 else "es"
        disclosed = i % 37 != 5                       # every 37th conversation: no disclosure
        kind = rng.choice(["none", "request", "frustrated"], p=[0.3, 0.5, 0.2])
        reach_p = 0.95 if language == "en" else 0.5    # planted: Spanish speakers wait longer
        reached = kind != "none" and rng.random() < reach_p
        turns = [("bot", DISCLOSING if disclosed else SILENT, np.nan)]
        if kind == "request":
            turns += [("customer", "my bill is wrong", 0.0),
                      ("bot", "I can help with billing.", np.nan),
                      ("customer", "No. Let me talk to a real person please", -0.2)]
        elif kind == "frustrated":
            turns += [("customer", "my bill is wrong again", -0.7),
                      ("bot", "I can help with billing.", np.nan),
                      ("customer", "this is useless", -0.9)]
        else:
            turns += [("customer", "what are your opening hours", 0.3),
                      ("bot", "We are open 9 to 5.", np.nan)]
        trigger = len(turns)                           # the last customer turn triggers
        if kind != "none":
            if reached:
                turns += [("agent", "Hello, this is Sam from Acme.", np.nan)]
            else:
                turns += [("bot", "Could you tell me more?", np.nan),
                          ("bot", "Sorry, I did not get that.", np.nan),
                          ("agent", "Hello, this is Sam.", np.nan)]   # too late (3 turns)
        for t, (speaker, text, sentiment) in enumerate(turns, start=1):
            rows.append({"conversation_id": cid, "turn": t, "speaker": speaker, "text": text,
                         "sentiment": sentiment, "language": language})
        truth.append({"conversation_id": cid, "language": language, "disclosed": disclosed,
                      "kind": kind,
                      "triggered": kind != "none", "reached": reached, "trigger": trigger})
    log = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)    # order must not matter
    return log, pd.DataFrame(truth)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chatbot")
    log, truth = _log()
    log.to_csv(folder / "log.csv", index=False)
    policy = wrap("chatbot-automation", folder,
                  system={"name": "support-bot", "model_type": "chatbot"},
                  data={"protected": ["language"]},
                  checks=[{"id": "human-on-request", "type": "automation.handoff",
                           "sentiment": "sentiment", "max_turns": 2,
                           "threshold": {"min": 0.95}, "severity": "warn",
                           "rule": "GDPR Art. 22(3) (human intervention, where decisions have "
                                   "significant effects); customer-service good practice",
                           "description": "As in the pack, with sentiment. Thresholds are "
                                          "cxaudit defaults."}])
    result, md = run(policy, folder / "log.csv", as_of="2026-09-01")
    return result, md, truth


@pytest.mark.parametrize("as_of, status", [("2026-08-01", "not_applicable"),
                                           ("2026-08-02", "fail"), (None, "inconclusive")])
def test_disclosure_duty_from_2_august_2026(tmp_path, as_of, status):
    """EU AI Act Art. 50(1) applies from 2 Aug 2026: before it the check does not apply;
    without an audit date (no --as-of, no as_of, no data.timestamp) it cannot be judged."""
    log, _ = _log()
    log.to_csv(tmp_path / "log.csv", index=False)
    policy = wrap("chatbot-automation", tmp_path, system={"name": "bot", "model_type": "chatbot"},
                  data={"protected": ["language"]})
    check = by_id(run(policy, tmp_path / "log.csv", as_of=as_of)[0])["ai-disclosed"]
    assert check.status.value == status, check.summary
    assert check.law["applies_from"] == "2026-08-02" and check.law["confidence"] == "S"
    assert check.law["pack"] == "chatbot-automation"


def test_missing_disclosure_is_found(audited):
    result, md, truth = audited
    check = by_id(result)["ai-disclosed"]
    silent = truth.loc[~truth["disclosed"], "conversation_id"]
    assert check.status is Status.FAIL
    metric = {m.name: m.value for m in check.metrics}
    assert metric["without_disclosure"] == len(silent) == 7
    assert metric["without_disclosure_share"] == pytest.approx(7 / len(truth))
    assert set(check.details["examples"]) <= set(hash_ids(silent, limit=50))
    assert "conv-" not in md                     # ids are hashed in the report
    assert result.verdict is Verdict.FAIL


def test_handoff_share_matches_the_planted_truth(audited):
    result, _, truth = audited
    check = by_id(result)["human-on-request"]
    triggered = truth[truth["triggered"]]
    overall = next(m for m in check.metrics if m.name == "handed_off_in_time" and not m.group)
    assert overall.n == len(triggered)
    assert overall.value == pytest.approx(triggered["reached"].mean())
    assert check.status is (Status.PASS if triggered["reached"].mean() >= 0.95 else Status.FAIL)


def test_escalation_parity_flags_the_slower_language(audited):
    result, md, truth = audited
    check = by_id(result)["escalation-parity"]
    # The pack's parity check has no sentiment column: only explicit requests trigger it.
    rates = truth[truth["kind"] == "request"].groupby("language")["reached"].mean()
    ratio = next(m for m in check.metrics if m.name == "handed_off_ratio"
                 and m.group == {"language": "es"})
    assert ratio.value == pytest.approx(rates["es"] / rates["en"])
    assert ratio.value < 0.8 and check.status is Status.FAIL
    assert_rules_listed(result, md)


def test_without_sentiment_frustration_does_not_trigger(tmp_path):
    log, truth = _log(seed=3, n=60)
    log.to_csv(tmp_path / "log.csv", index=False)
    policy = wrap("chatbot-automation", tmp_path, system={"name": "bot"},
                  data={"protected": ["language"]})
    check = by_id(run(policy, tmp_path / "log.csv")[0])["human-on-request"]
    overall = next(m for m in check.metrics if m.name == "triggered")
    # Only the explicit requests trigger: "frustrated" conversations need the sentiment column.
    assert overall.value == (truth["kind"] == "request").sum()
    assert (truth["kind"] == "frustrated").sum() > 0


def test_missing_columns_are_named(tmp_path):
    pd.DataFrame({"conversation_id": ["a"], "turn": [1], "who": ["bot"]}).to_csv(
        tmp_path / "log.csv", index=False)
    policy = wrap("chatbot-automation", tmp_path, system={"name": "bot"})
    checks = by_id(run(policy, tmp_path / "log.csv", as_of="2026-09-01")[0])
    assert checks["ai-disclosed"].status is Status.ERROR
    assert "speaker" in checks["ai-disclosed"].summary
