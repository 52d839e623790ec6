"""Modules a one-shot console audit lets its dependencies import without.

GX and shap import pyspark whenever it is installed (about 0.3 s), and skops, through
scikit-learn's test helpers, pytest (about 0.1 s); an audit that will not run on Spark
needs neither. Only the console script, which runs one audit and exits, asks to skip
them (:func:`skip_on_import`); a skipped module looks "not installed" only while a
dependency imports (:func:`importing_without`) and stays importable for everything else.

The same one-shot process also keeps the memory it frees (:func:`reuse_freed_memory`).
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


#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8


def reuse_freed_memory() -> bool:
    """Serve large allocations from the heap and keep freed memory for reuse (glibc only).

    By default glibc maps every allocation over 32 MB afresh and unmaps it when freed,
    so each of the hundreds of column-sized temporaries of a 10 M-row audit is new
    memory the kernel must zero page by page: 8-11 s of system time in a 20 s local
    audit of 10 M rows (``benchmarks/bench_families.py``). Here: no mmap, no trimming
    of the heap, and one arena for every thread, so freed blocks return to malloc's
    free lists and the next temporary reuses them, whichever thread (DuckDB's and
    Arrow's workers too) freed them. Arrow allocates through the same malloc (its
    ``system`` pool; mimalloc, its default, also hands freed pages back) unless
    ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise. Together: 18.4-18.7 s → 16.2-17.1 s
    for that audit (one arena: another ~0.5 s), peak RSS unchanged within noise. Only
    for a process that runs one audit and exits (it returns memory to the system only
    at exit). False where there is no glibc ``mallopt`` (macOS, musl: nothing changes).
    """
    import ctypes
    import os

    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    if not (mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, -1)
            and mallopt(_M_ARENA_MAX, 1)):
        return False
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # read when Arrow first allocates
        if "pyarrow" in sys.modules:
            import pyarrow

            pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return True
