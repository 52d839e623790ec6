"""The group-aware remedy's legal caution cites the rules the policy draws on, and only those."""

from __future__ import annotations

from pathlib import Path

from cxaudit.policy.loader import load_policy
from cxaudit.remedies.legal import GENERAL, legal_warning

BASE = """\
cxaudit: 1
{extends}
system: {{name: s, model_type: {model_type}, intervention: assistive{domains}}}
data: {{label: y, prediction: d, protected: [sex]}}
checks:
  - id: parity
    type: bias.selection_rate
    threshold: {{min: 0.8}}
{rule}"""


def _policy(tmp_path: Path, model_type="churn", extends="", domains="", rule=""):
    path = tmp_path / "p.yaml"
    path.write_text(BASE.format(model_type=model_type, extends=extends, domains=domains,
                                rule=rule), "utf-8")
    return load_policy(str(path))


def test_churn_model_gets_a_general_caution_only(tmp_path):
    found = legal_warning(_policy(tmp_path))
    assert found["text"] == GENERAL and not found["cites"]
    assert "2000e" not in found["text"] and "1002" not in found["text"]


def test_employment_domain_cites_title_vii(tmp_path):
    found = legal_warning(_policy(tmp_path, model_type="other", domains=", domains: [employment]"))
    assert "42 U.S.C. § 2000e-2(l)" in found["text"] and "1002" not in found["text"]
    assert found["sources"] == ["the system's decision domain is employment"]


def test_employment_pack_on_unknown_domain_cites_title_vii(tmp_path):
    found = legal_warning(_policy(tmp_path, model_type="other", extends="extends: [eeoc-four-fifths]"))
    assert found["cites"] == ["42 U.S.C. § 2000e-2(l)"]
    assert any("four-fifths" in s for s in found["sources"])


def test_credit_pack_cites_reg_b_from_its_rule(tmp_path):
    found = legal_warning(_policy(tmp_path, model_type="credit_scoring",
                                  extends="extends: [us-credit-adverse-action]"))
    assert found["cites"] == ["12 CFR 1002.4(a)"] and "2000e" not in found["text"]
    assert any("1002.4(a)" in s for s in found["sources"])


def test_a_checks_own_rule_field_counts(tmp_path):
    found = legal_warning(_policy(tmp_path, rule="    rule: ECOA 15 U.S.C. 1691\n"))
    assert found["cites"] == ["12 CFR 1002.4(a)"]
