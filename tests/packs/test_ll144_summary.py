"""The NYC LL144 public summary (--format ll144) on public census data, against an
independent computation in plain pandas.

Data: /work/shared/datasets/acs-public-coverage.parquet (US Census ACS via FolkTables,
227,658 people). FolkTables' RAC1P is the census race recode minus one: 0 White alone,
1 Black or African American alone, 2 American Indian alone, 3 Alaska Native alone, 4
American Indian and Alaska Native tribes specified, 5 Asian alone, 6 Native Hawaiian and
Other Pacific Islander alone, 7 Some Other Race alone, 8 Two or More Races. The extract
has no Hispanic-origin column, so "Hispanic or Latino" has no one and "Some Other Race"
(no EEO-1 category) is mapped to unknown. SEX: 1 male, 2 female. "Selected" is PUBCOV
(1 = public coverage): a stand-in decision with real group differences.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cxaudit.cli import cli as main

ACS = Path("/work/shared/datasets/acs-public-coverage.parquet")
pytestmark = pytest.mark.skipif(not ACS.is_file(), reason="the shared ACS extract is absent")

RACE_MAP = {0: "White", 1: "Black or African American", 2: "American Indian or Alaska Native",
            3: "American Indian or Alaska Native", 4: "American Indian or Alaska Native",
            5: "Asian", 6: "Native Hawaiian or Other Pacific Islander", 7: "unknown",
            8: "Two or More Races"}
SEX_MAP = {1: "Male", 2: "Female"}
JUSTIFY = "Categories under 2% of the applicants are too small for a stable impact ratio."


def _policy(folder: Path, *, scoring: bool = False, **ll144) -> Path:
    spec = {"data_source": "US Census ACS (FolkTables ACSPublicCoverage, validation split)",
            "data_explanation": "One row per person; PUBCOV stands in for the tool's selection.",
            "distribution_date": "2026-01-15", "sex": "SEX", "race_ethnicity": "RAC1P",
            "sex_map": SEX_MAP, "race_map": RACE_MAP, "exclusion_justification": JUSTIFY,
            **ll144}
    doc = {"cxaudit": 1, "extends": ["nyc-ll144"],
           "system": {"name": "acs-screen", "jurisdictions": ["US-NY-NYC"],
                      "domains": ["employment"], "ll144": spec},
           "data": {"protected": ["SEX", "RAC1P"], "intersections": [["SEX", "RAC1P"]]}}
    if scoring:
        doc["data"]["score"] = "score"
        doc["checks"] = [{"id": "ll144-impact-ratios", "type": "bias.scoring_rate",
                          "threshold": {"min": 0.8}, "min_group_size": 1,
                          "exclude_under": 0.02, "severity": "info", "n_boot": 0}]
    else:
        doc["data"]["prediction"] = "selected"
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def acs(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    frame = pd.read_parquet(ACS).reset_index(drop=True)
    frame["selected"] = frame["PUBCOV"]
    # A score for the scoring-rate variant: income rank with ties (many zero incomes).
    frame["score"] = (frame["PINCP"].clip(lower=0) / frame["PINCP"].clip(lower=0).max())
    folder = tmp_path_factory.mktemp("acs")
    path = folder / "acs.parquet"
    frame[["SEX", "RAC1P", "selected", "score"]].to_parquet(path)
    return path, frame


def _audit(folder: Path, data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "--policy", str(folder / "policy.yaml"),
                                       "--data", str(data), "--out", str(folder / "out"),
                                       "--no-trail", *args])
    return result.exit_code, result.output


def independent(frame: pd.DataFrame, selected: pd.Series) -> dict[str, pd.DataFrame]:
    """Impact-ratio tables in plain pandas: counts, rates, shares, 2 % exclusion, ratios."""
    sex = frame["SEX"].map(lambda v: SEX_MAP[int(v)])
    race = frame["RAC1P"].map(RACE_MAP)
    work = pd.DataFrame({"sex": sex, "race": race, "sel": selected.astype(int)})
    work["both"] = work["sex"] + " × " + work["race"]
    work.loc[work["race"] == "unknown", "both"] = "unknown"
    total = len(work)
    out = {}
    for name, column in (("sex", "sex"), ("race_ethnicity", "race"), ("intersection", "both")):
        table = work.groupby(column)["sel"].agg(applicants="size", selected="sum")
        table["rate"] = table["selected"] / table["applicants"]
        table["share"] = table["applicants"] / total
        usable = (table.index != "unknown") & (table["share"] >= 0.02)
        table["impact_ratio"] = (table["rate"] / table.loc[usable, "rate"].max()).where(usable)
        out[name] = table
    return out


def _compare(summary: dict, expected: dict[str, pd.DataFrame]) -> dict[str, dict[str, float]]:
    ratios: dict[str, dict[str, float]] = {}
    for table in summary["tables"]:
        want = expected[table["name"]]
        got = {r["category"]: r for r in table["rows"] if r["applicants"]}
        assert set(got) == set(want.index), table["name"]
        for category, row in got.items():
            ref = want.loc[category]
            assert row["applicants"] == ref["applicants"]
            assert row["selected"] == ref["selected"]
            assert row["rate"] == pytest.approx(ref["rate"], abs=1e-12)
            assert row["share"] == pytest.approx(ref["share"], abs=1e-12)
            if pd.isna(ref["impact_ratio"]):
                assert row["impact_ratio"] is None, category
            else:
                assert row["impact_ratio"] == pytest.approx(ref["impact_ratio"], abs=1e-12)
                ratios.setdefault(table["name"], {})[category] = row["impact_ratio"]
    return ratios


def _summary(folder: Path) -> dict:
    audit = json.loads((folder / "out" / "audit.json").read_text())
    [summary] = [c["details"]["ll144_summary"] for c in audit["checks"]
                 if "ll144_summary" in c["details"]]
    return summary


def test_selection_rates_and_impact_ratios_match_pandas(acs, tmp_path):
    data, frame = acs
    _policy(tmp_path)
    code, output = _audit(tmp_path, data, "--format", "json,ll144", "--as-of", "2026-06-01")
    assert code == 0, output
    summary = _summary(tmp_path)
    expected = independent(frame, frame["PUBCOV"])
    ratios = _compare(summary, expected)
    assert summary["applicants"] == len(frame) == 227_658
    assert summary["unknown"] == {"sex": 0, "race_ethnicity": int((frame["RAC1P"] == 7).sum()),
                                  "intersection": int((frame["RAC1P"] == 7).sum())}
    # Spot values (from the pandas computation above, rounded): recorded in the report.
    assert ratios["sex"]["Female"] == pytest.approx(0.8935, abs=5e-5)
    assert ratios["race_ethnicity"]["White"] == pytest.approx(0.6610, abs=5e-5)
    assert ratios["race_ethnicity"]["Asian"] == pytest.approx(0.5558, abs=5e-5)
    excluded = {(x["table"], x["category"]) for x in summary["excluded"]}
    assert ("race_ethnicity", "American Indian or Alaska Native") in excluded  # 1.41 %
    assert ("race_ethnicity", "Native Hawaiian or Other Pacific Islander") in excluded
    markdown = (tmp_path / "out" / "audit-ll144.md").read_text()
    page = (tmp_path / "out" / "audit-ll144.html").read_text()
    for text in (markdown, page):
        assert "2026-06-01 (--as-of)" in text and "2026-01-15" in text
        assert "227,658" in text and JUSTIFY in text
        assert "| Asian | 12,928 | 2,971 | 0.2298 | 0.5558 |" in markdown
        assert "American Indian or Alaska Native" in text
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {"audit-ll144.md", "audit-ll144.html"} <= set(manifest["reports"])
    verified = CliRunner().invoke(main, ["verify", str(tmp_path / "out")])
    assert verified.exit_code == 0, verified.output


def test_a_rerun_writes_the_same_summary_bytes(acs, tmp_path):
    data, _ = acs
    _policy(tmp_path)
    texts = []
    for _ in range(2):
        code, output = _audit(tmp_path, data, "--format", "json,ll144", "--as-of", "2026-06-01")
        assert code == 0, output
        texts.append(((tmp_path / "out" / "audit-ll144.md").read_bytes(),
                      (tmp_path / "out" / "audit-ll144.html").read_bytes()))
    assert texts[0] == texts[1]


def test_scoring_rates_use_the_full_sample_median(acs, tmp_path):
    data, frame = acs
    _policy(tmp_path, scoring=True)
    code, output = _audit(tmp_path, data, "--format", "json,ll144", "--as-of", "2026-06-01")
    assert code == 0, output
    summary = _summary(tmp_path)
    median = frame["score"].median()
    assert summary["variant"] == "scoring"
    assert summary["median_score"] == pytest.approx(median, abs=1e-12)
    _compare(summary, independent(frame, frame["score"] > median))
    markdown = (tmp_path / "out" / "audit-ll144.md").read_text()
    assert "Scoring rate" in markdown and "Scored above the median" in markdown


def test_an_unmapped_race_value_is_bad_input_located(acs, tmp_path):
    data, _ = acs
    _policy(tmp_path, race_map={k: v for k, v in RACE_MAP.items() if k != 5})
    code, output = _audit(tmp_path, data, "--format", "json,ll144", "--as-of", "2026-06-01")
    assert code == 2, output
    assert "policy.yaml:" in output and "race_map" in output
    assert "'5' (12,928 rows)" in output
    assert not (tmp_path / "out" / "audit.json").exists()


def test_left_out_categories_need_a_justification(acs, tmp_path):
    data, _ = acs
    _policy(tmp_path, exclusion_justification=None)
    code, output = _audit(tmp_path, data, "--format", "json", "--as-of", "2026-06-01")
    assert code == 2, output
    assert "exclusion_justification" in output and "5-301(d)" in output


def test_the_summary_needs_an_audit_date(acs, tmp_path):
    data, _ = acs
    _policy(tmp_path)
    code, output = _audit(tmp_path, data, "--format", "json,ll144")
    assert code == 2, output
    assert "--as-of" in output
    assert not (tmp_path / "out" / "audit-ll144.md").exists()


def test_the_format_needs_the_policy_block(acs, tmp_path):
    data, _ = acs
    path = _policy(tmp_path)
    doc = yaml.safe_load(path.read_text())
    del doc["system"]["ll144"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    code, output = _audit(tmp_path, data, "--format", "json,ll144", "--as-of", "2026-06-01")
    assert code == 2, output
    assert "system.ll144" in output
