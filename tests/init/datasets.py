"""Public-shaped tables for the init tests, built here (no downloads).

- COMPAS-shaped: ProPublica's two-year recidivism table (columns and codings as published:
  ``name``/``first``/``last``, ``sex`` Male/Female, ``race``, ``age_cat``, ``c_charge_degree``
  F/M, ``decile_score`` 1-10, ``is_recid``, ``two_year_recid``), plus a model's ``pred``.
- ACS-shaped: a seeded sample of the real ACS PublicCoverage table (/work/shared/datasets or
  the package's test data), numeric codes (``PUBCOV``, ``SEX`` 1/2, ``RAC1P``, ``AGEP``).
- telco-shaped: IBM's telco churn table (shipped with the demo) with a score column and
  personal columns added (``email``, ``phone``, ``full_name``, ``notes``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ACS = Path("/work/shared/datasets/acs-public-coverage.parquet")
FIRST = ["James", "Maria", "Robert", "Linda", "Michael", "Aisha", "David", "Keisha", "Carlos",
         "Emily", "Tyrone", "Sofia", "Brian", "Latoya", "Kevin", "Rosa", "Jamal", "Ashley"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Moore"]


def compas_shaped(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(["African-American", "Caucasian", "Hispanic", "Other", "Asian",
                       "Native American"], n, p=[0.51, 0.34, 0.08, 0.05, 0.01, 0.01])
    sex = rng.choice(["Male", "Female"], n, p=[0.81, 0.19])
    age = rng.integers(18, 70, n)
    priors = rng.poisson(3, n)
    decile = np.clip(1 + priors + rng.integers(0, 4, n) + (age < 25) * 2, 1, 10)
    recid = (rng.random(n) < 0.25 + 0.04 * np.minimum(priors, 8)).astype(int)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "name": [f"{f.lower()} {surname.lower()}" for f, surname in zip(first, last, strict=True)],
        "first": first, "last": last,
        "compas_screening_date": pd.Timestamp("2013-01-01")
        + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "sex": sex,
        "dob": (pd.Timestamp("2013-06-01") - pd.to_timedelta(age * 365, unit="D")).strftime(
            "%Y-%m-%d"),
        "age": age,
        "age_cat": pd.cut(age, [0, 24, 45, 200], labels=["Less than 25", "25 - 45",
                                                         "Greater than 45"]).astype(str),
        "race": race,
        "juv_fel_count": rng.poisson(0.1, n),
        "priors_count": priors,
        "c_charge_degree": rng.choice(["F", "M"], n, p=[0.64, 0.36]),
        "decile_score": decile,
        "score_text": np.where(decile >= 8, "High", np.where(decile >= 5, "Medium", "Low")),
        "is_recid": np.maximum(recid, (rng.random(n) < 0.1).astype(int)),
        "two_year_recid": recid,
        "pred": (decile >= 5).astype(int),
    })


def acs_shaped(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    frame = pd.read_parquet(ACS).sample(n, random_state=seed).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    # A model's probability of public coverage (a logistic score of income and disability).
    logit = -0.5 - 0.00004 * frame["PINCP"].fillna(0) + 0.8 * (frame["DIS"] == 1)
    frame["coverage_probability"] = (1 / (1 + np.exp(-logit + rng.normal(0, 0.3, n)))).round(4)
    return frame


def telco_shaped(path: Path, seed: int = 2) -> pd.DataFrame:
    frame = pd.read_csv(path).head(2500)
    rng = np.random.default_rng(seed)
    n = len(frame)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    frame.insert(1, "full_name", [f"{a} {b}" for a, b in zip(first, last, strict=True)])
    frame.insert(2, "contact_email", [f"cust{i}@example.net" for i in range(n)])
    frame["mobile"] = [f"+1 415 {rng.integers(200, 999)} {rng.integers(1000, 9999)}"
                       for _ in range(n)]
    frame["agent_notes"] = [f"customer called about {rng.choice(['billing', 'speed', 'a move'])}"
                            f" on day {i} and asked for a callback {rng.integers(1, 99)}"
                            for i in range(n)]
    frame["churn_propensity"] = rng.uniform(0, 1, n).round(3)
    return frame
