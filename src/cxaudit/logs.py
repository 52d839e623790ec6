"""Logging for people (text) and for log collectors (JSON lines), on stderr.

``--quiet`` shows errors only, the default shows warnings, ``--verbose``
shows what the audit is doing. Log records never carry customer data:
messages name files, columns, checks and counts, never values.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

LOGGER = logging.getLogger("cxaudit")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102
        payload = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("check", "status", "seconds", "rows"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        return json.dumps(payload, sort_keys=True)


def configure(*, verbosity: int, fmt: str) -> None:
    """verbosity: -1 quiet, 0 default, 1 verbose; fmt: ``text`` or ``json``."""
    level = {-1: logging.ERROR, 0: logging.WARNING}.get(verbosity, logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json"
                         else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(level)
    LOGGER.propagate = False
