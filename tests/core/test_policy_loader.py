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


# ---- issue 15: thresholds that can fail, hostile files, linear loading -----------------

def _one_check(body: str) -> str:
    return VALID.split("checks:\n")[0] + "checks:\n  - id: c\n" + body


@pytest.mark.parametrize("body, needle", [
    ("    type: bias.selection_rate\n    threshold: {min: .nan}\n", "never fail"),
    ("    type: bias.selection_rate\n    threshold: {min: 0}\n", "(0, ∞)"),
    ("    type: bias.selection_rate\n    threshold: {max: -1}\n", "(0, ∞)"),
    ("    type: bias.selection_rate\n    compare: difference\n    threshold: {max: 1.5}\n",
     "[0, 1]"),
    ("    type: bias.selection_rate\n    compare: difference\n    threshold: {max: 1}\n",
     "can never fail"),
    ("    type: bias.mean_outcome\n    outcome: x\n    compare: difference\n"
     "    threshold: {max: -5}\n", "[0, ∞)"),
    ("    type: consent.expired\n    threshold: {max: 1.0}\n", "can never fail"),
    ("    type: automation.handoff\n    threshold: {min: 0}\n", "can never fail"),
    ("    type: automation.escalation_parity\n    threshold: {min: -0.2}\n", "ratio"),
    ("    type: explain.stability\n    threshold: {min: 1.2}\n", "similarity"),
    ("    type: explain.group_divergence\n    threshold: {min: -1, max: 1}\n", "can never fail"),
    ("    type: data.label_balance\n    threshold: {min: 0, max: 2}\n", "(0, ∞)"),
    ("    type: privacy.proxy\n    auc: {max: .inf}\n", "finite"),
    ("    type: data.freshness\n    max_age_days: .inf\n", "finite"),
    ("    type: bias.selection_rate\n    threshold: {min: '-Infinity'}\n", "finite"),
])
def test_thresholds_that_cannot_fail_are_refused(write, body, needle):
    import re

    path = write("p.yaml", _one_check(body))
    found = problems_of(path)
    assert len(found) == 1 and needle in found[0], found
    assert re.match(rf"{re.escape(str(path))}:1[2-5]:\d+: checks\[0\]\.", found[0]), found


@pytest.mark.parametrize("body", [
    "    type: bias.selection_rate\n    threshold: {min: 0.8, max: 1.25}\n",
    "    type: bias.selection_rate\n    compare: difference\n    threshold: {max: 0.1}\n",
    # Differences of means are on the data's scale (prices, credit scores).
    "    type: bias.mean_outcome\n    outcome: price\n    compare: difference\n"
    "    threshold: {max: 25}\n",
    "    type: consent.expired\n    threshold: {max: 0.02}\n",
    "    type: explain.group_divergence\n    threshold: {min: -0.5}\n",
    "    type: data.label_balance\n    threshold: {min: 0.5, max: 2}\n",
])
def test_thresholds_inside_their_range_load(write, body):
    policy = load_policy(write("p.yaml", _one_check(body)))
    assert len(policy.checks) == 1


def test_every_builtin_pack_threshold_is_in_range():
    from cxaudit.policy.packs import load_pack
    from cxaudit.resources import builtin_packs

    for name in builtin_packs():
        assert load_pack(name).checks, name


def test_aliases_are_refused_before_expansion(write):
    laughs = "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n"
                     for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    path = write("p.yaml", "cxaudit: 1\nsystem: {name: x}\na: &a [lol]\n" + laughs)
    found = problems_of(path)
    assert found == [f"{path}:4:8: <top>: YAML aliases (*a) are not accepted\n    hint: write "
                     "the value out where it is needed (aliases can expand a small file into "
                     "billions of values)"]


def test_special_files_are_refused_without_reading(tmp_path, write):
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "named pipe (FIFO), not a regular file" in problems_of(fifo)[0]  # does not block
    path = write("p.yaml", "cxaudit: 1\nextends: [/dev/zero]\nsystem: {name: x}\n")
    assert problems_of(path) == [
        f"/dev/zero: <top>: the policy file is a character device, not a regular file "
        f"(extended from {path}:2:11)\n    hint: give the path of a YAML file"]


def test_size_cap_and_encodings(tmp_path, write):
    from cxaudit.policy.yamlmarks import MAX_BYTES

    big = write("big.yaml", VALID + "#" * MAX_BYTES)
    assert "too large" in problems_of(big)[0]
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert load_policy(bom).system.name == "churn"  # a UTF-8 byte-order mark is fine
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(VALID.replace("churn", "caf\xe9").encode("latin-1"))
    assert problems_of(latin)[0].startswith(f"{latin}:3:12: <top>: not UTF-8 text")


def test_long_values_are_cut_in_messages(write):
    found = problems_of(write("p.yaml", _one_check(f"    type: {'y' * 100_000}\n")))
    assert len(found[0]) < 400 and "(100,000 characters)" in found[0]


def test_duplicate_ids_in_an_extended_file_name_both_lines(write):
    write("base.yaml", "cxaudit: 1\nchecks:\n  - id: a\n    type: data.duplicates\n"
                       "  - id: a\n    type: data.duplicates\n")
    path = write("p.yaml", "cxaudit: 1\nextends: [base.yaml]\nsystem: {name: x}\n")
    found = problems_of(path)
    assert len(found) == 1 and "base.yaml:5:5: checks[1].id: duplicate check id 'a' " \
        "(also checks[0] at line 3)" in found[0]


def test_duplicate_keys_are_reported_with_every_other_problem(write):
    path = write("p.yaml", _one_check("    type: bias.selection_rate\n"
                                      "    min_group_size: 30\n    min_group_size: 50\n"
                                      "    compare: difference\n    threshold: {max: 10}\n"))
    found = problems_of(path)
    assert [f.split(": ")[1] for f in found] == ["checks[0].min_group_size",
                                                 "checks[0].threshold.max"]
    assert "10 % is 0.1" in found[1]


def test_thousands_of_problems_are_capped(write):
    from cxaudit.policy.loader import MAX_PROBLEMS

    body = "".join(f"  - id: c{i}\n    type: data.duplicates\n    max_rate: 2\n"
                   for i in range(1000))
    found = problems_of(write("p.yaml", VALID.split("checks:\n")[0] + "checks:\n" + body))
    assert len(found) == MAX_PROBLEMS + 1
    assert "… and 800 more problems" in found[-1]
