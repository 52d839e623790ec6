"""governance.metadata / oversight / documents judge the policy's system block."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from cxaudit.context import build_context
from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.result import Status
from cxaudit.runner import run_checks

CHECKS = """
checks:
  - {id: meta, type: governance.metadata}
  - {id: oversight, type: governance.oversight, significant_effect_needs_human: true}
  - {id: docs, type: governance.documents, required: [dpia, intended_use]}
"""


@pytest.fixture
def audit_system(tmp_path):
    def run(system: str):
        path = tmp_path / "policy.yaml"
        path.write_text("cxaudit: 1\n" + textwrap.dedent(system) + CHECKS, encoding="utf-8")
        frame = pd.DataFrame({"x": [1, 2, 3]})
        ctx = build_context(load_policy(path), frame, LocalEngine())
        return {r.id: r for r in run_checks(ctx)}

    return run


def test_a_bare_system_fails_all_three(audit_system):
    results = audit_system("system: {name: churn-v3}\n")
    meta = results["meta"]
    assert meta.status is Status.FAIL
    # automation has a default, but a default is not a declaration.
    assert meta.details["missing"] == ["owner", "approver", "purpose", "journey_stage",
                                       "automation"]
    assert results["oversight"].status is Status.FAIL
    assert "significant_effect" in results["oversight"].summary
    assert results["docs"].status is Status.FAIL
    assert {m.group["field"]: m.value for m in results["docs"].metrics} == {
        "dpia": 0.0, "intended_use": 0.0}


def test_a_declared_system_passes(audit_system, tmp_path):
    (tmp_path / "dpia.pdf").write_bytes(b"%PDF")
    results = audit_system("""
        system:
          name: churn-v3
          owner: data-team
          approver: head-of-cx
          purpose: retention_offers
          journey_stage: retention
          automation: autonomous
          significant_effect: true
          override_mechanism: agents cancel offers in the CRM
          reviewer: retention-lead
          documents: {dpia: dpia.pdf, intended_use: "https://wiki.example.com/churn"}
    """)
    assert {k: r.status for k, r in results.items()} == {
        "meta": Status.PASS, "oversight": Status.PASS, "docs": Status.PASS}
    assert results["meta"].details["declared"]["automation"] == "autonomous"


def test_autonomous_with_significant_effect_needs_a_human(audit_system):
    results = audit_system("""
        system: {name: s, automation: autonomous, significant_effect: true, reviewer: r}
    """)
    assert results["oversight"].status is Status.FAIL
    assert "override_mechanism" in results["oversight"].summary
    assert "reviewer" not in results["oversight"].summary.split("declares no")[1]


def test_human_in_the_loop_without_significant_effect_needs_no_override(audit_system):
    results = audit_system("system: {name: s, significant_effect: false}\n")
    assert results["oversight"].status is Status.PASS


def test_a_missing_document_file_fails(audit_system):
    results = audit_system("""
        system: {name: s, documents: {dpia: docs/dpia.pdf, intended_use: "  "}}
    """)
    docs = results["docs"]
    assert docs.status is Status.FAIL
    assert "docs/dpia.pdf" in docs.summary and "intended-use" in docs.summary


def test_unknown_system_field_is_a_policy_error(tmp_path):
    from cxaudit.errors import PolicyError

    path = tmp_path / "p.yaml"
    path.write_text("cxaudit: 1\nsystem: {name: s, reveiwer: x}\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        load_policy(path)
