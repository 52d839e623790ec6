"""Engines know *how* aggregates are computed; checks only say *what*."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cxaudit.engines.base import Engine

ENGINES = ("local", "arrow", "spark")


def get_engine(name: str) -> Engine:
    """Return the engine called ``name`` (imported lazily)."""
    if name == "local":
        from cxaudit.engines.local import LocalEngine

        return LocalEngine()
    if name == "arrow":
        from cxaudit.engines.arrow_stream import ArrowStreamEngine

        return ArrowStreamEngine()
    if name == "spark":
        from cxaudit.engines.spark import SparkEngine  # raises InputError without pyspark

        return SparkEngine()
    from cxaudit.errors import InputError

    raise InputError(f"unknown engine {name!r}", hint=f"choose one of: {', '.join(ENGINES)}")
