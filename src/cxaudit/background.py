"""Work started on a background thread, in the caller's context, awaited as a Future.

An audit overlaps work that runs without the GIL (hashing files, DuckDB joins, GX's
import while Parquet is decoded) with the main thread's. The thread runs in a copy of
the caller's context (the id key, line offsets: context variables), and whatever it
raises is raised again by ``Future.result()``, where the result is needed: errors
surface exactly where the work would have run on demand.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


def in_background(function: Callable[..., T], *args: Any, name: str) -> Future[T]:
    """Start ``function(*args)`` on a daemon thread named ``name``; its Future."""
    future: Future[T] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            result = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=contextvars.copy_context().run, args=(run,), name=name,
                     daemon=True).start()
    return future
