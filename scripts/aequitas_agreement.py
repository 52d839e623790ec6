"""Once, outside the test suite: cxaudit's ratios against a named reference vs Aequitas 1.1.

Aequitas 1.1 needs pandas < 3, so this runs in its own virtual environment and
calls cxaudit's CLI from the project's environment:

    python3 -m venv /work/aeq-venv && /work/aeq-venv/bin/pip install 'aequitas==1.1.*' 'pandas<3'
    /work/aeq-venv/bin/python scripts/aequitas_agreement.py DATA.parquet OUT_DIR /work/venv/bin/cxaudit

DATA is the decision table of scripts/acs_judgment_example.py (columns sex, race,
disability, PUBCOV, outreach). For each of Aequitas' group metrics (TPR, TNR, FPR,
FNR, precision, NPV, FDR, FOR, and pprev = selection rate) the script runs one
cxaudit check per metric with the same named reference per attribute
(``reference: {race: race_0, sex: male, disability: without}``), then compares
every group's value and ratio with Aequitas' ``get_disparity_predefined_groups``.

Aequitas' disparity is always group / reference; cxaudit's ratio is oriented by
the metric's direction (group / reference when higher is better, reference /
group when lower is better), so the script compares cxaudit's ratio with the
disparity or its reciprocal according to the direction cxaudit reports for the
row. Division by zero: Aequitas replaces it with a fill value (``fill_divbyzero``,
set here to a sentinel), cxaudit defines it (1 when both rates are 0, +inf
otherwise, written as null with an ``infinite`` marker); such rows are counted
and checked for that rule, not compared numerically.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

METRICS = {"tpr": "true_positive_rate", "tnr": "true_negative_rate",
           "fpr": "false_positive_rate", "fnr": "false_negative_rate", "precision": "precision",
           "npv": "negative_predictive_value", "fdr": "false_discovery_rate",
           "for": "false_omission_rate", "pprev": "selection_rate"}
REFERENCE = {"race": "race_0", "sex": "male", "disability": "without"}
FILL = -12345.0


def _zero_rule(row: dict) -> float:
    """cxaudit's definition for a zero reference rate: 1 when both are 0; otherwise the
    oriented ratio is +inf when higher is better (group / 0) and 0 when lower is better."""
    value = row["value"]
    if value == 0:
        return 1.0
    return math.inf if row["direction"] == "higher" else 0.0


def run_cxaudit(data: Path, out: Path, cxaudit: str) -> dict:
    checks = "\n".join(
        f"  - {{id: {name}, type: bias.{name}, reference: {json.dumps(REFERENCE)}, "
        f"min_group_size: 1, n_boot: 0, severity: info}}" for name in METRICS.values())
    policy = out / "aequitas-agreement.yaml"
    policy.write_text(f"""cxaudit: 1
system: {{name: aequitas-agreement, intervention: assistive}}
data: {{label: PUBCOV, positive: 1, prediction: outreach, protected: [sex, race, disability]}}
checks:
{checks}
""")
    subprocess.run([cxaudit, "audit", "--policy", str(policy), "--data", str(data), "--out",
                    str(out / "r"), "--format", "json"], check=False,
                   capture_output=True)
    return json.loads((out / "r" / "audit.json").read_text())


def main() -> None:
    data, out, cxaudit = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    reports = {"as is": compare(data, out / "as-is", cxaudit)}
    # Zero rates in the reference: race_0's people without coverage never get outreach, so
    # the reference's FPR and FDR are 0 (division by zero in Aequitas' disparity).
    frame = pd.read_parquet(data)
    frame.loc[(frame["race"] == "race_0") & (frame["PUBCOV"] == 0), "outreach"] = 0
    zero = out / "zero-reference"
    zero.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(zero / "data.parquet", index=False)
    reports["zero-rate reference"] = compare(zero / "data.parquet", zero, cxaudit)
    (out / "aequitas-agreement.json").write_text(json.dumps(reports, indent=2) + "\n")
    print(json.dumps(reports, indent=2))


def compare(data: Path, out: Path, cxaudit: str) -> dict:
    from aequitas.bias import Bias
    from aequitas.group import Group

    out.mkdir(parents=True, exist_ok=True)
    audit = run_cxaudit(data, out, cxaudit)
    frame = pd.read_parquet(data)
    df = pd.DataFrame({"score": frame["outreach"], "label_value": frame["PUBCOV"],
                       "sex": frame["sex"].astype(str), "race": frame["race"].astype(str),
                       "disability": frame["disability"].astype(str)})
    crosstab, _ = Group().get_crosstabs(df)
    disparity = Bias().get_disparity_predefined_groups(
        crosstab, original_df=df, ref_groups_dict=REFERENCE, fill_divbyzero=FILL)
    checks = {c["id"]: c for c in audit["checks"]}
    value_max = ratio_max = 0.0
    counts = {"groups": 0, "values": 0, "ratios": 0, "reference_rows": 0, "divbyzero": 0,
              "divbyzero_rule_ok": 0}
    for short, name in METRICS.items():
        rows = {(r["attributes"][0], r["group"][r["attributes"][0]]): r
                for r in checks[name]["details"]["comparisons"]}
        for _, a in disparity.iterrows():
            key = (a["attribute_name"], str(a["attribute_value"]))
            row = rows[key]
            counts["groups"] += 1
            ours, theirs = row["value"], a[short]
            if ours is not None and not pd.isna(theirs):
                value_max = max(value_max, abs(ours - float(theirs)))
                counts["values"] += 1
            d = a[f"{short}_disparity"]
            if row["state"] == "reference":
                counts["reference_rows"] += 1
                continue
            if float(d) == FILL or pd.isna(d) or row["reference_value"] == 0:
                counts["divbyzero"] += 1
                if _zero_rule(row) == (math.inf if row.get("comparison_infinite")
                                       else row["comparison"]):
                    counts["divbyzero_rule_ok"] += 1
                continue
            want = float(d) if row["direction"] == "higher" else (1.0 / float(d)
                                                                  if float(d) else math.inf)
            got = row["comparison"]
            if got is not None and math.isfinite(want):
                ratio_max = max(ratio_max, abs(got - want))
                counts["ratios"] += 1
    return {"aequitas": "1.1.0", "reference": REFERENCE, **counts,
            "max_abs_value_difference": value_max, "max_abs_ratio_difference": ratio_max}


if __name__ == "__main__":
    main()
