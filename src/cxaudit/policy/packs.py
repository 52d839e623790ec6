"""Built-in policy packs: load one on its own, and describe its checks with their citations.

A pack is a base layer: it has checks but no ``system:`` block (the policy that
extends it says which system it is for). To validate or show a pack alone it is
loaded under a stand-in policy that only names a placeholder system.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from cxaudit.policy.model import Policy

PREVIEW_SYSTEM = "pack-preview"


def load_pack(name: str) -> Policy:
    """Load and validate the built-in pack ``name`` (raises PolicyError/InputError).

    Parameters
    ----------
    name
        The pack's name, e.g. ``gdpr-profiling`` (``cxaudit policy list``).

    Returns
    -------
    Policy
        The pack's checks under a placeholder ``system`` named ``pack-preview``.
    """
    from cxaudit.errors import InputError
    from cxaudit.policy.loader import load_policy
    from cxaudit.resources import builtin_packs

    packs = builtin_packs()
    if name not in packs:
        raise InputError(f"unknown policy pack {name!r}", hint=f"built-in packs: {', '.join(packs)}")
    with tempfile.TemporaryDirectory(prefix="cxaudit-pack-") as folder:
        stand_in = Path(folder) / f"{name}.yaml"
        stand_in.write_text(f"cxaudit: 1\nextends: [{name}]\nsystem: {{name: {PREVIEW_SYSTEM}}}\n",
                            encoding="utf-8")
        return load_policy(stand_in)


def _threshold_text(params: Any) -> str | None:
    for attr in ("effective_threshold",):
        if hasattr(params, attr):
            return getattr(params, attr)().describe()
    threshold = getattr(params, "threshold", None)
    return threshold.describe() if threshold is not None else None


def describe_checks(policy: Policy) -> list[dict[str, Any]]:
    """Each check of a loaded policy with its citation, threshold and its source.

    Parameters
    ----------
    policy
        A loaded policy or pack.

    Returns
    -------
    list of dict
        ``id``, ``type``, ``severity``, ``rule`` (the check's own or its type's
        default), ``threshold`` (plain language or None), ``threshold_source``,
        ``parameters`` (the non-default parameters), ``description`` and ``law`` (where
        and when the rule applies, its confidence mark, pack and version; None without).
    """
    from cxaudit.checks.registry import load_registry
    from cxaudit.render.rules import threshold_source

    registry = load_registry()
    from cxaudit.lawdates import law_record

    common = {"id", "type", "severity", "description", "rule", "threshold", "law"}
    rows = []
    for params in policy.checks:
        cls = registry.get(params.type)
        rows.append({
            "id": params.id,
            "type": params.type,
            "severity": params.severity.value,
            "rule": params.rule or (cls.rule if cls else None),
            "threshold": _threshold_text(params),
            "threshold_source": threshold_source(params.description),
            "parameters": {k: v for k, v in params.model_dump(mode="json",
                                                              exclude_defaults=True).items()
                           if k not in common},
            "description": params.description,
            "law": law_record(params.law) if getattr(params, "law", None) else None,
        })
    return rows
