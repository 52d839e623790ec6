"""The same inputs and seed give a byte-identical audit.json apart from its run block."""

from __future__ import annotations

import json
from pathlib import Path

from evidence_helpers import POLICY, WAIVER

from cxaudit.render import write_reports
from cxaudit.runner import AuditInputs, audit


def _without_run(text: str) -> bytes:
    """The exact bytes of audit.json with the lines of its top-level run block cut out."""
    lines = text.splitlines(keepends=True)
    start = lines.index('  "run": {\n')
    end = next(k for k in range(start, len(lines)) if lines[k] in ("  },\n", "  }\n"))
    assert set(json.loads(text)["run"]) >= {"started_at", "finished_at", "duration_s"}
    return "".join(lines[:start] + lines[end + 1:]).encode("utf-8")


def _audit_json(result, out: Path) -> str:
    """audit.json as cxaudit's report writer puts it on disk."""
    write_reports(result, out, ["json"])
    return (out / "audit.json").read_bytes().decode("utf-8")


def test_two_audits_of_the_same_inputs_are_byte_identical_but_for_run(tmp_path: Path,
                                                                      telco_csv: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + WAIVER, encoding="utf-8")
    inputs = AuditInputs(policy=str(policy), data=str(telco_csv), seed=11)
    first, second = (_audit_json(audit(inputs), tmp_path / name) for name in ("one", "two"))
    assert _without_run(first) == _without_run(second)
    # The comparison has teeth: the documents hold real findings, and a different seed shows.
    document = json.loads(first)
    assert document["waivers"][0]["status"] == "applied"
    assert any(c["metrics"] for c in document["checks"])
    other = audit(AuditInputs(policy=str(policy), data=str(telco_csv), seed=12)).to_json()
    assert _without_run(other) != _without_run(first)
    # Apart from the run block, the serialisation is also the one to_json writes.
    assert first.startswith("{\n") and first.endswith("}\n")


def test_every_check_family_twice_gives_the_same_audit_outside_run(tmp_path: Path) -> None:
    """Issue 16, "one audit, one digest": the demo's audit (bias, consent, data, explain with
    SHAP timings, governance, privacy) plus the EEOC pack's check, run twice: the bytes of
    audit.json outside ``run`` and the audit digest are the same, and the timings are in run."""
    from cxaudit.demo import build_demo
    from cxaudit.evidence.manifest import audit_digest

    files = build_demo(tmp_path / "demo")
    policy = files.policy.read_text(encoding="utf-8") + (
        "  - id: practical-significance\n    type: eeoc.practical_significance\n"
        "    severity: warn\n")
    files.policy.write_text(policy, encoding="utf-8")
    inputs = AuditInputs(policy=str(files.policy), data=str(files.data), model=str(files.model),
                         consent=str(files.consent), reference=str(files.reference),
                         trust_model=True, seed=3)
    first, second = audit(inputs), audit(inputs)
    families = {c.type.split(".")[0] for c in first.checks}
    assert {"bias", "consent", "data", "eeoc", "explain", "governance", "privacy"} <= families
    one, two = (_audit_json(r, tmp_path / name) for r, name in ((first, "one"), (second, "two")))
    assert _without_run(one) == _without_run(two)
    assert audit_digest(first) == audit_digest(second)
    # SHAP timings differ from run to run: they live in run, never in checks[].details.
    assert "seconds" not in one.split('"run": {')[0]
    timings = json.loads(one)["run"]["check_timings"]
    assert any(c.type.startswith("explain.") and c.id in timings for c in first.checks)
