"""Modules a one-shot console audit lets its dependencies import without.

GX and shap import pyspark whenever it is installed (about 0.3 s), and skops, through
scikit-learn's test helpers, pytest (about 0.1 s); an audit that will not run on Spark
needs neither. Only the console script, which runs one audit and exits, asks to skip
them (:func:`skip_on_import`); a skipped module looks "not installed" only while a
dependency imports (:func:`importing_without`) and stays importable for everything else.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Modules the console script asked to skip while dependencies import.
SKIPPED: set[str] = set()


def skip_on_import(*names: str) -> None:
    """Skip ``names`` when a dependency imports them (the console script only)."""
    SKIPPED.update(names)


@contextmanager
def importing_without(*names: str) -> Iterator[None]:
    """Those of ``names`` asked to be skipped, and not yet imported, look not installed
    inside the block; afterwards they are importable again."""
    blocked = [name for name in names if name in SKIPPED and name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # "not installed"
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
