"""Helpers for privacy tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cxaudit.context import build_context
from cxaudit.engines.local import LocalEngine
from cxaudit.policy.loader import load_policy
from cxaudit.runner import run_checks


@pytest.fixture
def run_policy(tmp_path: Path):
    """Run the checks of a policy (YAML text) on a frame; results by id."""

    def run(text: str, frame: pd.DataFrame, seed: int = 0):
        path = tmp_path / "policy.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        ctx = build_context(load_policy(path), frame, LocalEngine(), seed=seed)
        return {r.id: r for r in run_checks(ctx)}

    return run
