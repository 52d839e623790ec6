"""Fixtures for the data-quality tests: the real telco table, policies written to disk."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.resources import demo_dataset
from cxaudit.runner import audit_loaded

HEADER = """\
cxaudit: 1
system: {name: churn-retention-offers, model_type: churn}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
checks:
"""


@pytest.fixture(scope="session")
def telco() -> pd.DataFrame:
    """The IBM telco churn table shipped with cxaudit (7,043 rows)."""
    return pd.read_csv(demo_dataset())


@pytest.fixture
def write_policy(tmp_path: Path):
    """Write a policy whose `checks:` block is ``checks`` (YAML text); return its path."""

    def write(checks: str, *, header: str = HEADER, name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(header + textwrap.indent(textwrap.dedent(checks), "  "), encoding="utf-8")
        return path

    return write


@pytest.fixture
def audit(write_policy):
    """Load a policy from YAML text and audit ``frame`` with it; return {check id: result}."""

    def run(checks: str, frame: pd.DataFrame, **inputs):
        policy = load_policy(write_policy(checks, **{k: inputs.pop(k) for k in ("header",)
                                                     if k in inputs}))
        result = audit_loaded(policy, frame, engine=LocalEngine(), **inputs)
        return {c.id: c for c in result.checks}, result

    return run
