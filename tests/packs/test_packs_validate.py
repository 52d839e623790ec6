"""Every built-in pack validates alone, cites a rule per check and says who set its threshold."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cxaudit.cli import cli
from cxaudit.policy.packs import describe_checks, load_pack
from cxaudit.render.rules import split_citations
from cxaudit.resources import builtin_packs

PACKS = sorted(builtin_packs())
EXPECTED = {"cx-personalization-baseline", "gdpr-profiling", "eu-ai-act-high-risk",
            "eeoc-four-fifths", "nyc-ll144", "us-credit-adverse-action", "chatbot-automation"}


def test_the_issue_packs_ship():
    assert set(PACKS) >= EXPECTED


def test_policy_validate_accepts_every_pack_by_name():
    result = CliRunner().invoke(cli, ["policy", "validate", *PACKS])
    assert result.exit_code == 0, result.output
    assert result.output.count("valid built-in pack") == len(PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_every_check_cites_a_rule_and_a_threshold_source(pack):
    rows = describe_checks(load_pack(pack))
    assert rows
    for row in rows:
        assert row["rule"] and split_citations(row["rule"]), row["id"]
        assert row["description"], row["id"]
        assert row["threshold_source"] is not None, (
            f"{pack}:{row['id']} does not say whether its threshold is set by the rule or a "
            "cxaudit default")


@pytest.mark.parametrize("pack", PACKS)
def test_policy_show_prints_checks_with_citations(pack):
    result = CliRunner().invoke(cli, ["policy", "show", pack])
    assert result.exit_code == 0, result.output
    for row in describe_checks(load_pack(pack)):
        assert f"{row['id']}  ({row['type']}" in result.output
        assert row["rule"] in result.output
    assert "Not legal advice" in result.output


def test_policy_show_yaml_and_unknown_pack():
    runner = CliRunner()
    shown = runner.invoke(cli, ["policy", "show", "--yaml", "eeoc-four-fifths"])
    assert shown.exit_code == 0 and "cxaudit: 1" in shown.output
    unknown = runner.invoke(cli, ["policy", "show", "eeoc-4/5"])
    assert unknown.exit_code == 2 and "built-in packs" in unknown.output


def test_a_broken_pack_check_is_reported_with_its_place(tmp_path, monkeypatch):
    from cxaudit.errors import PolicyError

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "cxaudit: 1\nchecks:\n  - id: x\n    type: bias.selection_rate\n    treshold: {min: 0.8}\n",
        encoding="utf-8")
    monkeypatch.setattr("cxaudit.resources.data_dir", lambda kind: folder)
    with pytest.raises(PolicyError) as caught:
        load_pack("broken")
    assert "broken.yaml:5" in caught.value.problems[0].format()


@pytest.mark.parametrize("check_type", ["governance.metadata", "governance.oversight",
                                        "governance.documents", "automation.disclosure",
                                        "automation.handoff", "automation.escalation_parity",
                                        "eeoc.practical_significance"])
def test_explain_documents_the_new_checks_with_parameters(check_type):
    from cxaudit.checks.registry import load_registry

    result = CliRunner().invoke(cli, ["explain", check_type])
    assert result.exit_code == 0, result.output
    cls = load_registry().get(check_type)
    assert "Failing example" in result.output and "Example::" in result.output
    assert f"Stands for: {cls.rule}" in result.output
    own = set(cls.params_model.model_fields) - {"id", "type", "severity", "description", "rule"}
    assert own and all(f"\n  {name} (" in result.output for name in own)
