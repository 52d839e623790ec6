"""Small validators shared by policy sections and check declarations."""

from __future__ import annotations


def known_time_zone(value: str | None) -> str | None:
    """Accept an IANA time-zone name (or None); explain what to write otherwise."""
    if value is None:
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as UTC "
                         "or Europe/Paris") from None
    return value
