"""Hostile corpus, NYC LL144 (issue 21): the policy's ``system.ll144`` block (data source,
explanation, distribution date, the race/ethnicity → EEO-1 mapping, the sex mapping, the
check the tables come from), the data values the mapping must cover, ``--format ll144``,
the notice log, and ``--as-of`` on ``cxaudit verify`` and ``cxaudit gate``.

Every case: the exit code it expects (2 bad input, 1 refused), a message naming the
policy's place, the key or the value, no traceback, no passing report left half-written,
and long or personal values never echoed whole.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .harness import Case, check_case

MARKUP = "<script>alert('x')</script>"
LONG = "Z" + "q" * 150 + "Secret"

BASE: dict[str, Any] = {
    "cxaudit": 1, "extends": ["nyc-ll144"],
    "system": {"name": "screen", "jurisdictions": ["US-NY-NYC"], "domains": ["employment"],
               "ll144": {"data_source": "2025 applicants", "data_explanation": "One row per "
                         "applicant.", "distribution_date": "2026-01-15", "sex": "sex",
                         "race_ethnicity": "race",
                         "race_map": {"W": "White", "B": "Black or African American",
                                      "A": "Asian"},
                         "sex_map": {"F": "Female", "M": "Male"}}},
    "data": {"prediction": "selected", "protected": ["sex", "race"],
             "intersections": [["sex", "race"]]},
}


def _rows(extra: list[tuple[str, str, int]] = ()) -> str:
    lines = ["sex,race,selected"]
    for i in range(240):
        lines.append(f"{'FM'[i % 2]},{'WBA'[i % 3]},{int(i % 5 < 2 + i % 2)}")
    lines += [f"{s},{r},{d}" for s, r, d in extra]
    return "\n".join(lines) + "\n"


def policy(change: Callable[[dict], None] | None = None) -> dict:
    doc = copy.deepcopy(BASE)
    if change is not None:
        change(doc)
    return doc


def ll144(**values: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        for key, value in values.items():
            if value is _DROP:
                doc["system"]["ll144"].pop(key, None)
            else:
                doc["system"]["ll144"][key] = value
    return change


_DROP = object()


def _write_policy(folder: Path, doc: dict | str) -> None:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False,
                                                           allow_unicode=True)
    (folder / "p.yaml").write_text(text, encoding="utf-8")


def audit(doc: dict | str | None = None, data: str | None = None, *extra: str,
          as_of: str | None = "2026-06-01", fmt: str = "json,ll144",
          files: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _write_policy(folder, doc if doc is not None else policy())
        (folder / "data.csv").write_text(data or _rows(), encoding="utf-8")
        if files is not None:
            files(folder)
        return ["audit", "--policy", "p.yaml", "--data", "data.csv", "--out", "out",
                "--no-trail", "--format", fmt, *(("--as-of", as_of) if as_of else ()), *extra]
    return build


def validate(doc: dict | str) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _write_policy(folder, doc)
        return ["policy", "validate", "p.yaml"]
    return build


def verify(*args: str, audited_as_of: str | None = "2025-03-01",
           tamper: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
    """An LL144 bundle audited at ``audited_as_of``, then ``cxaudit verify out ARGS``."""
    def build(folder: Path) -> list[str]:
        from .harness import run

        _write_policy(folder, policy())
        (folder / "data.csv").write_text(_rows(), encoding="utf-8")
        made = run(["audit", "--policy", "p.yaml", "--data", "data.csv", "--out", "out",
                    "--no-trail", "--format", "json",
                    *(("--as-of", audited_as_of) if audited_as_of else ())], folder)
        assert made.exit_code == 0, made.text
        if tamper is not None:
            tamper(folder / "out")
        return ["verify", "out", *args]
    return build


def gate(*args: str) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _write_policy(folder, policy())
        return ["gate", "models:/screen/1", "--policy", "p.yaml", "--promote-to", "champion",
                "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}", "--out", "out",
                "--no-trail", *args]
    return build


def _freshen(out: Path) -> None:
    """Move the audit's date forward in audit.json (hiding an old audit)."""
    path = out / "audit.json"
    audit = json.loads(path.read_text())
    audit["policy"]["as_of"]["date"] = "2026-05-30T00:00:00+00:00"
    path.write_text(json.dumps(audit, indent=2))


def _two_rate_checks(doc: dict) -> None:
    doc["extends"] = []
    doc["checks"] = [{"id": "a", "type": "bias.selection_rate", "severity": "info"},
                     {"id": "b", "type": "bias.selection_rate", "severity": "info"}]


def _no_rate_check(doc: dict) -> None:
    doc["extends"] = []
    doc["checks"] = [{"id": "cols", "type": "data.required_columns", "columns": ["sex"]}]


def _only_sex(doc: dict) -> None:
    doc["checks"] = [{"id": "ll144-impact-ratios", "type": "bias.selection_rate",
                      "attributes": ["sex"], "severity": "info"}]


def _notices(text: str) -> Callable[[Path], None]:
    def files(folder: Path) -> None:
        (folder / "notices.csv").write_text(text, encoding="utf-8")
    return files


def _with_log(columns: dict[str, str] | None = None) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        doc["logs"] = {"ll144_notices": {
            "file": "notices.csv", "timezone": "America/New_York",
            "columns": columns or {"subject": "candidate", "time": "notified_at",
                                   "done": "screened_at"}}}
    return change


def _notice_check(**params: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        _with_log()(doc)
        doc["checks"] = [{"id": "ll144-candidate-notice", "type": "logs.deadline",
                          "log": "ll144_notices", "business_days": True, "calendar": "US-NY",
                          **params}]
    return change


def _markup_source(doc: dict) -> None:
    doc["system"]["ll144"]["data_source"] = MARKUP + " | col | \n# heading"


def _unknown_key(doc: dict) -> None:
    doc["system"]["ll144"]["data_sorce"] = "typo"


def _many_entries(doc: dict) -> None:
    doc["system"]["ll144"]["race_map"] = {f"v{i}": "White" for i in range(1001)}


def _race_list(doc: dict) -> None:
    doc["system"]["ll144"]["race_map"] = ["White", "Asian"]


def _no_intersection(doc: dict) -> None:
    doc["data"]["intersections"] = []


def _sex_not_protected(doc: dict) -> None:
    doc["data"]["protected"] = ["race"]
    doc["data"]["intersections"] = []


def _outside_nyc(doc: dict) -> None:
    doc["system"]["jurisdictions"] = ["US-CA"]


def _no_block(doc: dict) -> None:
    del doc["system"]["ll144"]


YAML_NULL_KEY = yaml.safe_dump(BASE, sort_keys=False).replace(
    "      W: White\n", "      ~: White\n")
YAML_DUPLICATE_NUMBER = yaml.safe_dump(policy(ll144(race_map={"1": "White"})),
                                       sort_keys=False).replace(
    "      '1': White\n", "      1: White\n      '01': Asian\n")

MANY_UNMAPPED = "\n".join(f"F,R{i:02d},1" for i in range(20))

CASES = [
    # --- system.ll144 in the policy ------------------------------------------------------
    Case("race-map-not-eeo1", validate(policy(ll144(race_map={"W": "Caucasian"}))),
         mentions=("race_map", "Caucasian", "EEO-1"), out=None),
    Case("race-map-empty", validate(policy(ll144(race_map={}))),
         mentions=("race_map", "maps no value"), out=None),
    Case("race-map-a-list", validate(policy(_race_list)), mentions=("race_map",), out=None),
    Case("race-map-null-key", validate(YAML_NULL_KEY), mentions=("race_map",), out=None),
    Case("race-map-same-number-twice", validate(YAML_DUPLICATE_NUMBER),
         mentions=("race_map", "same number"), out=None),
    Case("race-map-key-too-long", validate(policy(ll144(race_map={"x" * 300: "White"}))),
         mentions=("race_map", "256"), out=None),
    Case("race-map-target-markup", validate(policy(ll144(race_map={"W": MARKUP}))),
         mentions=("race_map", "EEO-1"), out=None),
    Case("race-map-target-long", validate(policy(ll144(race_map={"W": LONG}))),
         mentions=("race_map", "masked"), secrets=(LONG, "Secret"), out=None),
    Case("race-map-too-many-entries", validate(policy(_many_entries)),
         mentions=("race_map", "1,001"), out=None),
    Case("sex-map-empty-category", validate(policy(ll144(sex_map={"F": "  "}))),
         mentions=("sex_map",), out=None),
    Case("sex-map-category-too-long", validate(policy(ll144(sex_map={"F": "F" * 65}))),
         mentions=("sex_map", "64"), out=None),
    Case("sex-and-race-same-attribute", validate(policy(ll144(race_ethnicity="sex"))),
         mentions=("same attribute",), out=None),
    Case("ll144-unknown-key", validate(policy(_unknown_key)), mentions=("data_sorce",),
         out=None),
    Case("data-source-missing", validate(policy(ll144(data_source=_DROP))),
         mentions=("data_source",), out=None),
    Case("data-source-empty", validate(policy(ll144(data_source=""))),
         mentions=("data_source",), out=None),
    Case("data-source-huge", validate(policy(ll144(data_source="s" * 3000))),
         mentions=("data_source", "2000"), out=None),
    Case("data-explanation-a-list", validate(policy(ll144(data_explanation=["a", "b"]))),
         mentions=("data_explanation",), out=None),
    Case("distribution-date-words", validate(policy(ll144(distribution_date="soon"))),
         mentions=("distribution_date",), out=None),
    Case("distribution-date-30-feb", validate(policy(ll144(distribution_date="2026-02-30"))),
         mentions=("distribution_date",), out=None),
    Case("distribution-date-missing", validate(policy(ll144(distribution_date=_DROP))),
         mentions=("distribution_date",), out=None),
    Case("justification-empty", validate(policy(ll144(exclusion_justification=""))),
         mentions=("exclusion_justification",), out=None),
    # --- system.ll144 against the rest of the policy (audit: exit 2 before any check) ----
    Case("check-id-unknown", audit(policy(ll144(check="no-such-check"))),
         mentions=("p.yaml:", "no check 'no-such-check'")),
    Case("check-not-a-rate", audit(policy(lambda d: (ll144(check="cols")(d),
                                                     _no_rate_check(d)))),
         mentions=("p.yaml:", "data.required_columns")),
    Case("two-rate-checks-unnamed", audit(policy(_two_rate_checks)),
         mentions=("2 checks could give", "system.ll144.check")),
    Case("no-rate-check", audit(policy(_no_rate_check)),
         mentions=("no bias.selection_rate",)),
    Case("sex-not-protected", audit(policy(_sex_not_protected)),
         mentions=("p.yaml:", "not under data.protected")),
    Case("no-intersection", audit(policy(_no_intersection)),
         mentions=("intersection of sex and race",)),
    Case("check-attributes-leave-out-race", audit(policy(_only_sex)),
         mentions=("p.yaml:", "needs sex and race")),
    # --- the data against the mapping -------------------------------------------------------
    Case("race-value-unmapped", audit(data=_rows([("F", "Klingon", 1)])),
         mentions=("p.yaml:", "race_map", "'Klingon' (1 row)")),
    Case("race-value-long-unmapped", audit(data=_rows([("F", LONG, 1)])),
         mentions=("race_map", "masked"), secrets=(LONG,)),
    Case("race-value-markup-unmapped", audit(data=_rows([("F", "<b>x</b>", 1)])),
         mentions=("race_map", "'<b>x</b>'")),
    Case("race-values-many-unmapped", audit(data=_rows() + MANY_UNMAPPED + "\n"),
         mentions=("20 value(s)", "and 10 more")),
    Case("sex-value-unmapped", audit(data=_rows([("X", "W", 1)])),
         mentions=("sex_map", "'X'")),
    Case("small-category-without-justification",
         audit(policy(ll144(race_map={"W": "White", "B": "Black or African American",
                                      "A": "Asian", "N": "Two or More Races"})),
               data=_rows([("F", "N", 1)])),
         mentions=("exclusion_justification", "5-301(d)", "Two or More Races")),
    Case("numeric-codes-match-float-keys",
         audit(policy(ll144(race_map={1: "White", 2: "Asian", 3: "Black or African American"},
                            sex_map={1: "Female", 2: "Male"})),
               data="sex,race,selected\n" + "\n".join(
                   f"{1.0 + i % 2},{1 + i % 3},{i % 2}" for i in range(120)) + "\n"),
         exit_code=0, may_pass=True),
    # --- --format ll144 -------------------------------------------------------------------
    Case("format-without-block", audit(policy(_no_block)), mentions=("system.ll144",)),
    Case("format-without-audit-date", audit(as_of=None), mentions=("--as-of",)),
    Case("format-where-the-pack-does-not-apply", audit(policy(_outside_nyc)),
         mentions=("no impact-ratio tables", "not_applicable")),
    Case("format-with-markup-in-the-policy", audit(policy(_markup_source)),
         exit_code=0, may_pass=True),
    # --- the notice log -------------------------------------------------------------------
    Case("notice-log-missing-file", audit(policy(_with_log()), fmt="json"),
         mentions=("notices.csv",)),
    Case("notice-log-without-done", audit(policy(_with_log({"subject": "candidate",
                                                             "time": "notified_at"})),
                                          fmt="json",
                                          files=_notices("candidate,notified_at\n"
                                                         "c1,2026-01-05T09:00:00-05:00\n")),
         mentions=("needs a `done` column",)),
    Case("notice-log-use-before-notice",
         audit(policy(_with_log()), fmt="json",
               files=_notices("candidate,notified_at,screened_at\n"
                              "c1,2026-01-05T09:00:00-05:00,2026-01-02T09:00:00-05:00\n")),
         mentions=("before", "notified_at")),
    Case("notice-check-both-bounds", audit(policy(_notice_check(min_days=10, within_days=5)),
                                           fmt="json"),
         mentions=("within_days", "min_days")),
    Case("notice-check-no-bound", audit(policy(_notice_check()), fmt="json"),
         mentions=("within_days", "min_days")),
    Case("notice-check-zero-days", audit(policy(_notice_check(min_days=0)), fmt="json"),
         mentions=("min_days",)),
    Case("notice-given-too-late-blocks",
         audit(policy(_with_log()), fmt="json",
               files=_notices("candidate,notified_at,screened_at\n"
                              "c1,2026-01-05T09:00:00-05:00,2026-01-12T09:00:00-05:00\n")),
         exit_code=1, mentions=("ll144-candidate-notice",)),
    # --- --as-of on verify --------------------------------------------------------------
    Case("verify-as-of-empty", verify("--as-of", ""), mentions=("--as-of",), may_pass=True),
    Case("verify-as-of-30-feb", verify("--as-of", "2026-02-30"), mentions=("--as-of",),
         may_pass=True),
    Case("verify-as-of-naive-time", verify("--as-of", "2026-03-01T10:00:00"),
         mentions=("UTC offset",), may_pass=True),
    Case("verify-as-of-huge", verify("--as-of", LONG), mentions=("--as-of", "characters"),
         secrets=(LONG,), may_pass=True),
    Case("verify-as-of-markup", verify("--as-of", MARKUP), mentions=("--as-of",),
         may_pass=True),
    Case("verify-audit-too-old", verify("--as-of", "2026-03-02"), exit_code=1,
         mentions=("2025-03-01", "2026-03-02", "only through 2026-03-01"), may_pass=True),
    Case("verify-audit-undated", verify("--as-of", "2026-03-02", audited_as_of=None),
         exit_code=1, mentions=("has no date",), may_pass=True),
    Case("verify-audit-date-edited", verify("--as-of", "2026-06-01", tamper=_freshen),
         exit_code=1, mentions=("audit.json",), out=None),
    # --- --as-of on gate (refused before MLflow is asked anything) ------------------------
    Case("gate-as-of-words", gate("--as-of", "next week"), mentions=("--as-of 'next week'",),
         out=None),
    Case("gate-as-of-huge", gate("--as-of", LONG), mentions=("--as-of",), secrets=(LONG,),
         out=None),
    Case("gate-as-of-naive-time", gate("--as-of", "2026-03-01T10:00:00"),
         mentions=("UTC offset",), out=None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ll144_inputs_fail_closed(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


def test_markup_in_the_policy_stays_inert_in_the_summary(tmp_path: Path) -> None:
    check_case(next(c for c in CASES if c.id == "format-with-markup-in-the-policy"), tmp_path)
    markdown = (tmp_path / "out" / "audit-ll144.md").read_text()
    page = (tmp_path / "out" / "audit-ll144.html").read_text()
    assert "<script>" not in markdown and "<script>" not in page
    assert "&lt;script&gt;" in page
    facts = [line for line in markdown.splitlines() if line.startswith("| Source of the data")]
    assert len(facts) == 1 and facts[0].count(" | ") == 1  # the pipe did not split the row


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50
