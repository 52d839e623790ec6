"""Helpers for consent tests: write a policy, build a context, make ledgers."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cxaudit.context import build_context
from cxaudit.engines.local import LocalEngine
from cxaudit.loaders.consent import prepare_consent
from cxaudit.policy.loader import load_policy

LEDGER_COLUMNS = ["subject_id", "purpose", "lawful_basis", "status", "granted_at",
                  "withdrawn_at", "expires_at", "notice_version", "channel", "jurisdiction"]


def record(subject: str, status: str = "granted", granted: str = "2025-01-01T00:00:00Z", *,
           withdrawn: str | None = None, expires: str | None = None,
           purpose: str = "offers", basis: str = "consent", **extra: Any) -> dict[str, Any]:
    """One ledger row as it would appear in a CSV."""
    return {"subject_id": subject, "purpose": purpose, "lawful_basis": basis, "status": status,
            "granted_at": granted, "withdrawn_at": withdrawn, "expires_at": expires,
            "notice_version": "v1", "channel": "web", "jurisdiction": "EU-DE", **extra}


def ledger_frame(*records: dict[str, Any]) -> pd.DataFrame:
    """A ledger frame with the required columns in order."""
    frame = pd.DataFrame(list(records))
    return frame[[*LEDGER_COLUMNS, *[c for c in frame.columns if c not in LEDGER_COLUMNS]]]


@pytest.fixture
def write_policy(tmp_path: Path):
    """Write a policy YAML (dedented) and load it."""

    def write(text: str, name: str = "policy.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_policy(path)

    return write


@pytest.fixture
def make_context():
    """Validate the ledger like the runner does and build the audit context."""

    def make(policy, frame: pd.DataFrame, ledger: pd.DataFrame | None, seed: int = 0):
        consent = prepare_consent(policy, frame, ledger) if ledger is not None else None
        return build_context(policy, frame, LocalEngine(), consent=consent, seed=seed)

    return make
