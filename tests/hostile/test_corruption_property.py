"""Property (issue 15): random corruption of a valid data file never yields ``pass`` unless
the corrupted values lie outside everything the policy measures.

The valid file (200 telco rows, a balanced decision and score) passes. Hypothesis nulls
cells, changes their type (a number where text was, a word where a number was), puts
text into a numeric column or drops a column, on a few rows of one column, then runs
``cxaudit audit``. Whatever it did: never exit 3, never a traceback; and when the column
is one the policy measures (label, decision or score, a protected attribute) the verdict
is not ``pass`` (an input error, a blocked gate, or a warning about a group that cannot
be judged). Corrupting only a few rows keeps every new or renamed group below
``min_group_size``, so a corrupted attribute can never pass as a clean one.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import run

POLICIES = {
    "prediction": ("  prediction: decision\n", {"Churn", "decision", "gender", "SeniorCitizen"}),
    "score": ("  score: score\n  decision_threshold: 0.5\n",
              {"Churn", "score", "gender", "SeniorCitizen"}),
}
NUMERIC = {"SeniorCitizen", "tenure", "MonthlyCharges", "score"}


def _policy(kind: str) -> str:
    return ("cxaudit: 1\nsystem: {name: churn-offers, intervention: assistive}\ndata:\n"
            "  id: customerID\n  label: Churn\n  positive: \"Yes\"\n"
            "  protected: [gender, SeniorCitizen]\n" + POLICIES[kind][0]
            + "checks:\n  - {id: parity, type: bias.selection_rate, threshold: {min: 0.8}, "
              "severity: block}\n")


_BASE: pd.DataFrame | None = None


def base() -> pd.DataFrame:
    global _BASE
    if _BASE is None:
        from cxaudit.resources import demo_dataset

        frame = pd.read_csv(demo_dataset(), dtype={"customerID": str}).head(200)
        index = np.arange(len(frame))
        frame["decision"] = np.where(index % 2 == 0, "Yes", "No")
        frame["score"] = np.where(index % 2 == 0, 0.75, 0.25)
        _BASE = frame
    return _BASE.copy()


COLUMNS = list(base().columns)


def corrupt(frame: pd.DataFrame, column: str, operation: str, rows: list[int]) -> pd.DataFrame:
    if operation == "drop":
        return frame.drop(columns=[column])
    frame[column] = frame[column].astype(object)
    if operation == "null":
        frame.loc[rows, column] = None
    elif operation == "type":
        frame.loc[rows, column] = "twelve" if column in NUMERIC else 7
    else:  # text in a (numeric) column
        frame.loc[rows, column] = "#REF!"
    return frame


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(POLICIES)),
       column=st.sampled_from(COLUMNS),
       operation=st.sampled_from(["null", "type", "text", "drop"]),
       rows=st.lists(st.integers(0, 199), min_size=1, max_size=20, unique=True),
       engine=st.sampled_from(["local", "arrow"]))
def test_corruption_never_passes_what_the_policy_measures(kind, column, operation, rows, engine):
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        corrupt(base(), column, operation, rows).to_csv(tmp / "data.csv", index=False)
        (tmp / "policy.yaml").write_text(_policy(kind), encoding="utf-8")
        outcome = run(["audit", "--policy", "policy.yaml", "--data", "data.csv", "--out", "out",
                       "--format", "json", "--no-trail", "--engine", engine], tmp)
        context = f"{kind} {column} {operation} {sorted(rows)[:5]} {engine}: {outcome.text[-1500:]}"
        assert outcome.exit_code in (0, 1, 2), context
        assert "Traceback" not in outcome.text, context
        measured = column in POLICIES[kind][1]
        report = tmp / "out" / "audit.json"
        verdict = (json.loads(report.read_text(encoding="utf-8"))["verdict"]
                   if report.exists() and outcome.exit_code != 2 else None)
        if measured:
            assert verdict != "pass", context
            assert outcome.exit_code != 0 or verdict not in (None, "pass"), context
