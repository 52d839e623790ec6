"""The import contracts of .importlinter hold (issue 17): the aggregation plan and the
engines sit below the checks, and the engines' modules form no cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(monkeypatch):
    cli = pytest.importorskip("importlinter.cli", reason="pip install import-linter (test extra)")
    monkeypatch.chdir(ROOT)
    assert cli.lint_imports(config_filename=str(ROOT / ".importlinter"), no_cache=True) == 0
