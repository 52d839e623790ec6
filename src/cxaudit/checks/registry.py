"""The check registry, fed by the ``cxaudit.checks`` entry-point group.

Each entry point names a module (or an object) exposing ``CHECKS``: an iterable
of :class:`~cxaudit.checks.base.Check` subclasses. Built-in families register
exactly like third-party plugins. Loading is wrapped per entry point so one
broken plugin is reported and does not take down the others.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from cxaudit.checks.base import Check

ENTRY_POINT_GROUP = "cxaudit.checks"


@dataclass(frozen=True)
class Registry:
    """Registered check classes by type, and the plugins that failed to load."""

    checks: dict[str, type[Check]] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def get(self, check_type: str) -> type[Check] | None:
        """The class registered for ``check_type``, or None."""
        return self.checks.get(check_type)

    def closest(self, check_type: str, n: int = 3) -> list[str]:
        """Registered types closest to a misspelt one."""
        return difflib.get_close_matches(check_type, sorted(self.checks), n=n, cutoff=0.6)

    def types(self) -> list[str]:
        """Every registered check type, sorted."""
        return sorted(self.checks)


def _checks_from(obj: object) -> list[type[Check]]:
    if isinstance(obj, type) and issubclass(obj, Check):
        return [obj]
    found = getattr(obj, "CHECKS", None)
    if found is None:
        raise TypeError(f"{obj!r} has no CHECKS attribute listing Check classes")
    classes = list(found)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Check)):
            raise TypeError(f"{cls!r} in CHECKS is not a cxaudit Check subclass")
    return classes


def _add(registry: Registry, source: str, classes: list[type[Check]]) -> None:
    for cls in classes:
        existing = registry.checks.get(cls.type)
        if existing is not None and existing is not cls:
            registry.broken[f"{source}:{cls.type}"] = (
                f"check type {cls.type!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
            continue
        registry.checks[cls.type] = cls


@functools.lru_cache(maxsize=1)
def load_registry() -> Registry:
    """Load every check plugin once per process."""
    registry = Registry()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _add(registry, ep.name, _checks_from(ep.load()))
        except Exception as exc:  # one broken plugin must not take down the rest
            registry.broken[ep.name] = f"{type(exc).__name__}: {exc}"
    if not registry.checks and not registry.broken:
        registry.broken["cxaudit"] = (
            "no checks registered: cxaudit's entry points are missing; "
            "install the package (pip install .) instead of running it from a source tree"
        )
    return registry
