"""Fixtures shared by every test folder: the real telco data and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxaudit.resources import demo_dataset


@pytest.fixture(scope="session", autouse=True)
def _id_key():
    """A test key for hashed ids, for the whole session (session fixtures that run audits
    see it too): without one, reports list no example ids at all (issue 15). Tests of the
    keyless behaviour remove it with ``monkeypatch.delenv``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CXAUDIT_ID_SALT", "cxaudit-test-suite-id-key")
        yield


@pytest.fixture(scope="session")
def telco_path() -> Path:
    """The real telecom churn table shipped with the package."""
    return demo_dataset()


@pytest.fixture(scope="session")
def telco_frame(telco_path):
    """The telco table as pandas (read once per session; copy before mutating)."""
    import pandas as pd

    return pd.read_csv(telco_path)


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
