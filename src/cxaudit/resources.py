"""Locate the data that ships with cxaudit: policy packs, check suites, templates.

In a wheel they live under ``cxaudit/_data/<kind>`` (hatch force-include); in a
source checkout or an editable install they are the top-level folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(kind: str) -> Path:
    """Directory of shipped ``policies``, ``checks`` or ``reports``."""
    installed = _PACKAGE_DIR / "_data" / kind
    if installed.is_dir():
        return installed
    source = _PACKAGE_DIR.parent.parent / kind
    if source.is_dir():
        return source
    raise FileNotFoundError(f"cxaudit's {kind!r} folder is missing from this installation")


def builtin_packs() -> dict[str, Path]:
    """Built-in policy packs by name (file stem)."""
    return {p.stem: p for p in sorted(data_dir("policies").glob("*.yaml"))}


def demo_dataset() -> Path:
    """The telecom churn table shipped for the demo (IBM sample data, Apache-2.0)."""
    return _PACKAGE_DIR / "demo" / "data" / "telco-customer-churn.csv"
