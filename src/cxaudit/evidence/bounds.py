"""Cut very long strings out of check results, so a hostile value cannot bloat every report.

A 1 MB group name (a free-text column declared protected, a pasted record) used to be
copied into every metric, summary and table of every report: a 159 MB ``audit.json``.
Each string over :data:`LIMIT` characters in a check result — a value, a dictionary key,
or the same text inside a summary — is replaced by its first :data:`LIMIT` characters and
its length. The cut happens before the result is assembled, so ``audit.json``, the other
reports and the audit digest all hold the same cut text.
"""

from __future__ import annotations

from typing import Any

#: Longest string kept whole in a check result.
LIMIT = 1000
#: Longest string kept at all, even after the long values inside it were cut.
HARD_LIMIT = 20 * LIMIT


def cut(text: str, limit: int = LIMIT) -> str:
    """``text`` whole, or its start and its length: ``AAA…(1,000,000 characters, cut)``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} characters, cut)"


def _long_strings(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        if len(value) > LIMIT:
            found.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _long_strings(key, found)
            _long_strings(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _long_strings(item, found)


def _bounded(value: Any, long: list[str]) -> Any:
    if isinstance(value, str):
        if len(value) <= LIMIT:
            return value
        for text in long:
            if text in value:
                value = value.replace(text, cut(text))
        return cut(value, HARD_LIMIT)
    if isinstance(value, dict):
        return {_bounded(k, long): _bounded(v, long) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v, long) for v in value]
    if isinstance(value, tuple):
        return tuple(_bounded(v, long) for v in value)
    return value


def bounded_check(result: Any) -> Any:
    """``result`` (a :class:`~cxaudit.result.CheckResult`) with its long strings cut."""
    data = result.model_dump(mode="python")
    found: set[str] = set()
    _long_strings(data, found)
    if not found:
        return result
    long = sorted(found, key=len, reverse=True)  # the longest first: it may hold shorter ones
    return type(result).model_validate(_bounded(data, long))


def finite(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """``value`` with every NaN or infinite float replaced by None, and where they were.

    JSON has no NaN or Infinity (``json.dumps`` writes bare ``NaN``, which strict parsers
    and ``jq`` refuse); cxaudit writes ``null`` and says where, so a consumer can tell a
    value that was not finite from one that was never computed.
    """
    import math

    found: list[str] = []

    def walk(item: Any, where: str) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            found.append(f"{where or '<value>'}={item!r}")
            return None
        if isinstance(item, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(item)]
        if hasattr(item, "item") and type(item).__module__ == "numpy":
            return walk(item.item(), where)
        return item

    return walk(value, path), found


def strict_dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity: they become null, and a mapping
    gets a ``non_finite`` note listing where they were."""
    import json

    cleaned, found = finite(value)
    if found and isinstance(cleaned, dict):
        cleaned = {**cleaned, "non_finite": found}
    return json.dumps(cleaned, allow_nan=False, **options)


def finite_details(result: Any) -> Any:
    """A check result whose details hold no NaN or infinite number (null, plus a
    ``non_finite`` note naming each one), so ``audit.json`` is strict JSON."""
    cleaned, found = finite(result.details)
    if not found:
        return result
    return result.model_copy(update={"details": {**cleaned, "non_finite": found}})
