"""Small validators shared by policy sections and check declarations."""

from __future__ import annotations


def known_time_zone(value: str | None) -> str | None:
    """Accept an IANA time-zone name (or None); explain what to write otherwise."""
    if value is None:
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from cxaudit.policy.yamlmarks import shown

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {shown(value)}; use an IANA name such as UTC "
                         "or Europe/Paris") from None
    return value
