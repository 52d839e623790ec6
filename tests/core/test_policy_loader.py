"""The policy language: validation, located errors, extends, schema."""

from __future__ import annotations

import json

import pytest

from cxaudit.errors import PolicyError
from cxaudit.policy.loader import load_policy

VALID = """\
cxaudit: 1
system:
  name: churn
  intervention: assistive
data:
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
  intersections: [[gender, SeniorCitizen]]
checks:
  - id: parity
    type: bias.selection_rate
    threshold: {min: 0.8}
"""


def problems_of(path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return [p.format() for p in info.value.problems]


def test_valid_policy_loads_with_typed_checks(write):
    policy = load_policy(write("p.yaml", VALID))
    assert policy.system.name == "churn"
    assert [c.id for c in policy.checks] == ["parity"]
    assert policy.checks[0].threshold.min == 0.8
    assert len(policy.sha256) == 64 and len(policy.resolved_sha256) == 64


def test_every_error_is_reported_with_file_line_column_and_hint(write):
    path = write("bad.yaml", """\
cxaudit: 1
system:
  name: x
  intervention: assistiv
  ownr: me
checks:
  - id: a
    type: bias.selection_rat
  - id: b
    type: bias.selection_rate
    treshold: {min: 0.8}
""")
    found = problems_of(path)
    assert len(found) == 4
    assert found[0].startswith(f"{path}:4:3: system.intervention: ")
    assert found[1] == (f"{path}:5:3: system.ownr: unknown key `ownr`\n    hint: did you mean "
                        "`owner`? (unknown keys are errors so a typo never disables a check)")
    assert found[2].startswith(f"{path}:8:5: checks[0].type: unknown check type "
                               "'bias.selection_rat'\n    hint: did you mean bias.selection_rate")
    assert found[3].startswith(f"{path}:11:5: checks[1].treshold: unknown key `treshold`")


def test_malformed_yaml_reports_line_and_column(write):
    path = write("broken.yaml", "cxaudit: 1\nsystem:\n  name: [unclosed\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:4:1: <top>: malformed YAML")


@pytest.mark.parametrize("text, message", [
    ("", "the policy file is empty"),
    ("- a\n- b\n", "a policy is a YAML mapping, not a list"),
    ("cxaudit: 2\nsystem: {name: x}\n", "Input should be 1"),
    ("cxaudit: 1\n", "`system` is required"),
    ("cxaudit: 1\nsystem: {name: x}\nsystem: {name: y}\n", "duplicate key 'system'"),
])
def test_structural_errors(write, text, message):
    found = problems_of(write("p.yaml", text))
    assert any(message in p for p in found), found


def test_missing_policy_file(tmp_path):
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "policy file not found" in problem


def test_intersections_must_use_protected_attributes(write):
    (problem,) = problems_of(write("p.yaml", VALID.replace("[[gender, SeniorCitizen]]",
                                                            "[[gender, age]]")))
    assert ":9:3: data.intersections: intersection ['gender', 'age'] uses age" in problem


def test_duplicate_check_ids_in_one_file(write):
    text = VALID + "  - id: parity\n    type: data.required_columns\n    columns: [a]\n"
    (problem,) = problems_of(write("p.yaml", text))
    assert "duplicate check id 'parity'" in problem


def test_extends_builtin_pack_and_override_by_id(write):
    path = write("p.yaml", VALID.replace("cxaudit: 1\n", "cxaudit: 1\nextends: "
                                         "[cx-personalization-baseline]\n") +
                 "  - id: selection-rate-parity\n    type: bias.selection_rate\n"
                 "    threshold: {min: 0.9}\n")
    policy = load_policy(path)
    by_id = {c.id: c for c in policy.checks}
    assert {"selection-rate-parity", "parity"} <= set(by_id)  # the pack's other checks too
    assert by_id["selection-rate-parity"].threshold.min == 0.9  # the child wins
    assert policy.extends == ("cx-personalization-baseline",)


def test_extends_relative_file_and_located_errors_in_base(write):
    write("base/shared.yaml", "cxaudit: 1\nchecks:\n  - id: cols\n    type: data.required_columns\n"
          "    colums: [a]\n")
    path = write("p.yaml", VALID.replace("cxaudit: 1\n", "cxaudit: 1\nextends: [base/shared.yaml]\n"))
    found = problems_of(path)
    assert any("shared.yaml:5:5: checks[0].colums: unknown key `colums`" in p for p in found), found


def test_extends_cycle_and_unknown_pack(write):
    write("a.yaml", "cxaudit: 1\nextends: [b.yaml]\nsystem: {name: a}\n")
    write("b.yaml", "cxaudit: 1\nextends: [a.yaml]\n")
    assert any("cycle" in p for p in problems_of(write("c.yaml", "cxaudit: 1\nextends: [a.yaml]\n"
                                                        "system: {name: c}\n")))
    found = problems_of(write("d.yaml", "cxaudit: 1\nextends: [cx-personalisation-baseline]\n"
                              "system: {name: d}\n"))
    assert any("did you mean cx-personalization-baseline" in p for p in found)


def test_policy_locates_paths_for_audit_time_errors(write):
    path = write("p.yaml", VALID)
    policy = load_policy(path)
    assert policy.locate("data", "label") == f"{path}:6:3"
    assert policy.locate("checks", "parity", "type") == f"{path}:12:5"


def test_json_schema_validates_demo_policy_and_rejects_typos():
    import jsonschema
    import yaml

    from cxaudit.policy.schema import policy_json_schema

    schema = policy_json_schema()
    json.dumps(schema)  # serialisable
    demo = yaml.safe_load(_demo_policy_text())
    jsonschema.validate(demo, schema)
    demo["checks"][0]["treshold"] = {"min": 0.8}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(demo, schema)


def _demo_policy_text() -> str:
    from pathlib import Path

    import cxaudit.demo

    return (Path(cxaudit.demo.__file__).with_name("policy.yaml")).read_text()
