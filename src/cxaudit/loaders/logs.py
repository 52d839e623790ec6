"""Event logs a rule is about: opt-out requests, explanations sent, prices shown, contests.

A policy declares each log under ``logs:`` (file, columns, time zone). It is read
and validated as strictly as the consent ledger: a regular CSV/Parquet file
(:func:`cxaudit.loaders.data.read_table`: no FIFOs, no devices, unique headers),
every declared column present, subjects as text, timestamps through
:func:`cxaudit.loaders.timestamps.parse_column` (ISO 8601; naive values need the
log's ``timezone``; mixed or unparseable values are errors with their rows, values
masked), flags that are booleans. Any problem is exit 2 with the policy's place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.errors import DataError, InputError
from cxaudit.loaders.timestamps import MISSING, parse_column, row_list

#: Roles read as timestamps (microseconds, UTC).
TIME_ROLES = ("time", "done")
#: Largest text cell kept (a disclosure is a sentence, not a document).
MAX_TEXT = 10_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class EventLog:
    """A validated log: ``frame`` has ``subject`` (text), ``time``/``done`` (int64 micros,
    UTC; ``MISSING`` when empty), and ``kind``/``text``/``flag`` when declared."""

    name: str
    source: str
    frame: pd.DataFrame
    timezone: str | None

    def __len__(self) -> int:
        return len(self.frame)


def _flags(values: pd.Series, *, where: str, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool)
    text = values.astype("string").str.strip().str.lower()
    good = text.isin(_TRUE | _FALSE).fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(~good)
    if len(bad):
        raise DataError(f"{where}: column {column!r} must hold true/false ({row_list(bad)})",
                        hint="write true or false (or 1/0, yes/no) in every row")
    return text.isin(_TRUE).astype(bool)


def load_log(policy: Any, name: str) -> EventLog:
    """Read and validate the log ``name`` declared under ``logs:`` (raises exit-2 errors)."""
    from cxaudit.loaders.data import missing_column_error, read_table

    specs = getattr(policy, "logs", None) or {}
    spec = specs.get(name)
    where = policy.locate("logs", name)
    if spec is None:
        raise InputError(f"the policy declares no log {name!r} under `logs:`",
                         hint="declare it: logs: {NAME: {file: …, columns: {subject: …, "
                              "time: …}, timezone: …}}")
    path = Path(spec.file)
    if not path.is_absolute():
        path = Path(policy.source).parent / path
    role = f"log {name!r}"
    subject = spec.columns.get("subject")
    frame = read_table(path, role=role, text_columns=[subject] if subject else [])
    available = [str(c) for c in frame.columns]
    out: dict[str, Any] = {}
    for role_name, column in spec.columns.items():
        if column not in frame.columns:
            raise missing_column_error(column, available, role=role,
                                       where=policy.locate("logs", name, "columns", role_name),
                                       what=f"{role_name} column")
    source = f"{path.name} ({where})"
    subjects = frame[spec.columns["subject"]].astype("string").str.strip()
    empty = np.flatnonzero(subjects.isna().to_numpy() | (subjects == "").fillna(True).to_numpy())
    if len(empty):
        raise DataError(f"{source}: subject column {spec.columns['subject']!r} is empty "
                        f"({row_list(empty)})", hint="every event names the subject it is about")
    long = np.flatnonzero(subjects.str.len().fillna(0).to_numpy() > 512)
    if len(long):
        raise DataError(f"{source}: subject column {spec.columns['subject']!r} has values "
                        f"longer than 512 characters ({row_list(long)})",
                        hint="the subject column holds customer ids")
    out["subject"] = subjects.to_numpy(dtype=object)
    for role_name in TIME_ROLES:
        column = spec.columns.get(role_name)
        if column is None:
            continue
        times = parse_column(frame[column], column=column, where=source, timezone=spec.timezone)
        if not times.aware and not times.missing.all():
            raise DataError(f"{source}: column {column!r} has timestamps without a UTC offset "
                            "and the log declares no time zone",
                            hint=f"set logs.{name}.timezone (e.g. America/Los_Angeles), or "
                                 "write the offsets (…Z, …-08:00)")
        if role_name == "time" and times.missing.any():
            raise DataError(f"{source}: time column {column!r} is empty "
                            f"({row_list(np.flatnonzero(times.missing))})",
                            hint="every event has the time it happened")
        out[role_name] = np.where(times.missing, MISSING, times.micros).astype(np.int64)
    if "time" in out and "done" in out:
        early = np.flatnonzero((out["done"] != MISSING) & (out["done"] < out["time"]))
        if len(early):
            raise DataError(f"{source}: {spec.columns['done']!r} is before "
                            f"{spec.columns['time']!r} ({row_list(early)})",
                            hint="a request is handled after it is made; check the columns "
                                 "and their time zones")
    for role_name in ("kind", "text"):
        column = spec.columns.get(role_name)
        if column is None:
            continue
        text = frame[column].astype("string")
        long = np.flatnonzero(text.str.len().fillna(0).to_numpy() > MAX_TEXT)
        if len(long):
            raise DataError(f"{source}: column {column!r} has values longer than {MAX_TEXT:,} "
                            f"characters ({row_list(long)})",
                            hint="a log cell holds a short text, not a document")
        out[role_name] = text.fillna("").to_numpy(dtype=object)
    if "flag" in spec.columns:
        out["flag"] = _flags(frame[spec.columns["flag"]], where=source,
                             column=spec.columns["flag"]).to_numpy(dtype=bool)
    return EventLog(name=name, source=path.name, frame=pd.DataFrame(out),
                    timezone=spec.timezone)


def cached_log(ctx: Any, name: str) -> EventLog:
    """The log ``name``, read once per audit."""
    logs = ctx.notes.setdefault("event_logs", {})
    if name not in logs:
        logs[name] = load_log(ctx.policy, name)
    return logs[name]
