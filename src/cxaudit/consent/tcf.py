"""The IAB TCF v2.2 purposes and the mapping of common purpose ids to them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TCF_FILE = Path(__file__).with_name("tcf-v2.2.yaml")


@dataclass(frozen=True)
class TcfPurpose:
    """One TCF purpose: its number, name, and whether it may rest on consent only."""

    number: int
    name: str
    consent_only: bool


@functools.lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    return yaml.safe_load(TCF_FILE.read_text(encoding="utf-8"))


def tcf_purposes() -> dict[int, TcfPurpose]:
    """The eleven TCF v2.2 purposes by number."""
    return {int(k): TcfPurpose(int(k), v["name"], bool(v["consent_only"]))
            for k, v in _load()["purposes"].items()}


def consent_only_purposes() -> frozenset[int]:
    """TCF purposes that can rest on consent only (1 and 3–6 in v2.2)."""
    return frozenset(n for n, p in tcf_purposes().items() if p.consent_only)


def known_purpose(purpose_id: str) -> dict[str, Any] | None:
    """The built-in mapping of a free-form purpose id (``{"tcf": [...], "direct_marketing": b}``)."""
    return _load()["mapping"].get(purpose_id)
