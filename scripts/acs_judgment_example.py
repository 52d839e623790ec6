"""Build the worked example of docs/judgment.md from the public ACS PublicCoverage data.

Trains a small logistic regression on the non-protected features of half the
rows (seeded), scores the other half and writes a decision table for
``cxaudit audit``: ``outreach`` (1 = the person is offered help enrolling, an
assistive decision), the label ``PUBCOV`` and the protected attributes with
readable names. Prints the figures docs/judgment.md quotes, computed by hand in
pandas, so a reader can check the audit's numbers.

    python scripts/acs_judgment_example.py /work/shared/datasets/acs-public-coverage.parquet out/
    cxaudit audit --policy docs/judgment-acs-policy.yaml --data out/acs-outreach.parquet --out out/r
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["AGEP", "SCHL", "MAR", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR",
            "DEYE", "DREM", "ESR", "FER", "PINCP"]


def build(source: Path) -> pd.DataFrame:
    frame = pd.read_parquet(source)
    rng = np.random.default_rng(0)
    train = rng.random(len(frame)) < 0.5
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(frame.loc[train, FEATURES], frame.loc[train, "PUBCOV"])
    test = frame.loc[~train].copy()
    score = model.predict_proba(test[FEATURES])[:, 1]
    return pd.DataFrame({
        "sex": test["SEX"].map({1.0: "male", 2.0: "female"}),
        "race": "race_" + test["RAC1P"].astype(int).astype(str),
        "disability": test["DIS"].map({1.0: "with", 2.0: "without"}),
        "PUBCOV": test["PUBCOV"].astype(int),
        "outreach": (score >= 0.5).astype(int),
    }).reset_index(drop=True)


def by_hand(frame: pd.DataFrame) -> None:
    """The per-group rates and the comparisons docs/judgment.md walks through."""
    pos = frame[frame["PUBCOV"] == 1]
    tpr = pos.groupby("disability")["outreach"].mean()
    print("TPR by disability (assistive: higher is better):", tpr.round(4).to_dict())
    print("  ratio of 'without' against best-off 'with':", round(tpr["without"] / tpr["with"], 4))
    fnr = 1 - tpr
    print("FNR by disability (assistive: lower is better):", fnr.round(4).to_dict())
    print("  ratio = best FNR / group FNR:", round(fnr["with"] / fnr["without"], 4))
    cells = pos.groupby(["race", "sex"])["outreach"].agg(["mean", "size"])
    cells["rows"] = frame.groupby(["race", "sex"]).size()  # min_group_size counts rows
    print("TPR by race x sex (size = people with public coverage, rows = all people):")
    print(cells.round(4).to_string())
    ref = cells.xs("race_0", level="race")["mean"]
    for (race, sex), row in cells.iterrows():
        if race != "race_0" and row["rows"] >= 30:
            print(f"  {race} x {sex} against race_0 x {sex}: {row['mean'] / ref[sex]:.4f}")


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else
                  "/work/shared/datasets/acs-public-coverage.parquet")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "acs-example")
    out.mkdir(parents=True, exist_ok=True)
    frame = build(source)
    frame.to_parquet(out / "acs-outreach.parquet", index=False)
    print(f"{len(frame)} rows -> {out / 'acs-outreach.parquet'}; "
          f"outreach rate {frame['outreach'].mean():.4f}")
    by_hand(frame)


if __name__ == "__main__":
    main()
