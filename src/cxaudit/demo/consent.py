"""A deterministic consent ledger for the demo data (the real table has none)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def generate_ledger(customers: pd.DataFrame, *, id_column: str, purpose: str,
                    seed: int) -> pd.DataFrame:
    """One consent event per customer for ``purpose``: mostly granted, a few withdrawn."""
    rng = np.random.default_rng(seed)
    n = len(customers)
    status = rng.choice(["granted", "withdrawn", "refused", "expired"], size=n,
                        p=[0.93, 0.03, 0.02, 0.02])
    granted_at = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 365, size=n), unit="D")
    return pd.DataFrame({
        "subject_id": customers[id_column].to_numpy(),
        "purpose": purpose,
        "lawful_basis": "consent",
        "status": status,
        "granted_at": granted_at,
    })
