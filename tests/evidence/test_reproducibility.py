"""The same inputs and seed give a byte-identical audit.json apart from its run block."""

from __future__ import annotations

import json
from pathlib import Path

from evidence_helpers import POLICY, WAIVER

from cxaudit.runner import AuditInputs, audit


def _without_run(text: str) -> bytes:
    data = json.loads(text)
    assert set(data["run"]) >= {"started_at", "finished_at", "duration_s"}
    data["run"] = {}
    return json.dumps(data, indent=2, sort_keys=True).encode()


def test_two_audits_of_the_same_inputs_are_byte_identical_but_for_run(tmp_path: Path,
                                                                      telco_csv: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + WAIVER, encoding="utf-8")
    inputs = AuditInputs(policy=str(policy), data=str(telco_csv), seed=11)
    first, second = audit(inputs).to_json(), audit(inputs).to_json()
    assert _without_run(first) == _without_run(second)
    # The comparison has teeth: the documents hold real findings, and a different seed shows.
    document = json.loads(first)
    assert document["waivers"][0]["status"] == "applied"
    assert any(c["metrics"] for c in document["checks"])
    other = audit(AuditInputs(policy=str(policy), data=str(telco_csv), seed=12)).to_json()
    assert _without_run(other) != _without_run(first)
    # Apart from the run block, the serialisation is also the one to_json writes.
    assert first.startswith("{\n") and first.endswith("}\n")
