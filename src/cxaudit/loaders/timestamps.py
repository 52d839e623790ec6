"""Timestamps with explicit time zones: naive and aware values are never mixed silently.

Every timestamp cxaudit compares (ledger ``granted_at``/``withdrawn_at``/
``expires_at``, the data's event time, ``consent.as_of``) goes through
:func:`parse_column`. It returns microseconds since the Unix epoch plus whether
the source carried a UTC offset:

- values with an offset (``2025-03-01T10:00:00+01:00``, ``...Z``, tz-aware
  datetime columns) are converted to UTC;
- values without one (``2025-03-01 10:00``, ``2025-03-01``) are *naive*. With a
  declared zone (``consent.timezone: Europe/Berlin``) they are localised to it;
  without one they stay naive, and :func:`require_compatible` refuses to compare
  them with aware values;
- a column that mixes both kinds, or holds unparseable text, is an error naming
  the column and the first offending rows (values masked).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxaudit.errors import DataError
from cxaudit.masking import mask_value

#: int64 stand-in for a missing timestamp (sorts before every real time).
MISSING = np.iinfo(np.int64).min
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"


@dataclass(frozen=True)
class Times:
    """A parsed timestamp column: microseconds since epoch (UTC when aware)."""

    micros: np.ndarray
    aware: bool
    missing: np.ndarray

    @property
    def kind(self) -> str:
        """``aware`` or ``naive``, for messages."""
        return "aware (with UTC offsets)" if self.aware else "naive (no UTC offset)"


#: Rows before the frame being checked, when a file is checked a chunk at a time.
_FIRST_ROW: ContextVar[int] = ContextVar("cxaudit_first_row", default=0)


@contextmanager
def rows_from(first: int) -> Iterator[None]:
    """Within the block, row positions in messages count from ``first`` (a file's chunk)."""
    token = _FIRST_ROW.set(first)
    try:
        yield
    finally:
        _FIRST_ROW.reset(token)


def row_list(positions: np.ndarray, limit: int = 5, *, header: bool = True) -> str:
    """``lines 3, 7, 12 …`` (file lines: 1-based plus a header line)."""
    first = _FIRST_ROW.get()
    shown = [str(int(p) + first + (2 if header else 1)) for p in positions[:limit]]
    more = " …" if len(positions) > limit else ""
    return ("line" if len(shown) == 1 else "lines") + " " + ", ".join(shown) + more


def _examples(values: pd.Series, positions: np.ndarray, limit: int = 3) -> str:
    return ", ".join(repr(mask_value(values.iloc[int(p)])) for p in positions[:limit])


def to_micros(values: pd.Series) -> np.ndarray:
    """int64 microseconds since the epoch (UTC for aware values); NaT becomes ``MISSING``.

    Reads the datetime column's own int64 storage (``asi8``), so a column that is
    already in microseconds is not copied.
    """
    array = values.array
    raw = np.asarray(array.asi8)
    unit = array.unit
    if unit == "us":
        return raw
    missing = raw == MISSING
    out = raw // 1_000 if unit == "ns" else raw * {"s": 1_000_000, "ms": 1_000}[unit]
    out[missing] = MISSING
    return out


def _localise(parsed: pd.Series, timezone: str, *, column: str, where: str) -> pd.Series:
    try:
        return parsed.dt.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
    except Exception as exc:  # pytz/zoneinfo raise several types for DST gaps and folds
        raise DataError(f"{where}: column {column!r} has a local time that does not exist or is "
                        f"ambiguous in {timezone}: {exc}",
                        hint="store timestamps with a UTC offset (ISO 8601, e.g. "
                             "2025-03-30T02:30:00+01:00)") from None


def parse_column(values: pd.Series, *, column: str, where: str,
                 timezone: str | None = None) -> Times:
    """Parse one timestamp column; raise :class:`DataError` on bad or mixed values.

    Parameters
    ----------
    values
        The column: text (ISO 8601), or a datetime column (naive or aware).
    column, where
        Named in error messages (``where`` is the file or policy location).
    timezone
        IANA zone for naive values; ``None`` keeps them naive.

    Returns
    -------
    Times
        Microseconds since the epoch (UTC when aware), and whether they are aware.
    """
    missing = values.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
        aware = getattr(values.dtype, "tz", None) is not None
    else:
        if pd.api.types.is_numeric_dtype(values.dtype) and not missing.all():
            bad = np.flatnonzero(~missing)
            raise DataError(f"{where}: column {column!r} holds numbers, not timestamps "
                            f"({row_list(bad)})",
                            hint="write ISO 8601 timestamps, e.g. 2025-03-01T10:00:00Z")
        text = values.astype("string").str.strip()
        text = text.mask(text == "")
        missing = text.isna().to_numpy()
        present = ~missing
        # utc=True parses both kinds (naive values as if UTC): enough to find bad text.
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        bad = np.flatnonzero(parsed.isna().to_numpy() & present)
        if len(bad):
            raise DataError(f"{where}: column {column!r} has {len(bad)} value(s) that are not "
                            f"ISO 8601 timestamps ({row_list(bad)}: {_examples(text, bad)})",
                            hint="write timestamps as 2025-03-01T10:00:00Z (or with +01:00); "
                                 "leave the cell empty when there is none")
        has_offset = text.str.contains(_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
        n_aware = int(has_offset.sum())
        if 0 < n_aware < int(present.sum()):
            naive_rows = np.flatnonzero(present & ~has_offset)
            aware_rows = np.flatnonzero(has_offset)
            raise DataError(f"{where}: column {column!r} mixes timestamps with a UTC offset "
                            f"({row_list(aware_rows, 3)}) and without one "
                            f"({row_list(naive_rows, 3)}); they cannot be compared safely",
                            hint="write every timestamp with its offset (…Z or …+01:00)")
        aware = n_aware > 0
        if not aware:  # naive text was read as UTC above: keep its wall-clock reading
            parsed = parsed.dt.tz_localize(None)
        missing = ~present
    if not aware and timezone is not None:
        parsed = _localise(parsed, timezone, column=column, where=where)
        aware = True
    return Times(micros=to_micros(parsed), aware=aware, missing=np.asarray(missing, dtype=bool))


def require_compatible(first: Times, first_name: str, second: Times, second_name: str) -> None:
    """Raise unless both are aware or both naive: never compare the two silently."""
    if first.aware == second.aware:
        return
    raise DataError(f"{first_name} is {first.kind} but {second_name} is {second.kind}; "
                    "cxaudit does not compare naive and aware timestamps",
                    hint="add UTC offsets to the naive side, or declare the zone of naive "
                         "timestamps with `consent.timezone: Europe/Berlin` (an IANA name)")


def scalar_micros(value: object, *, timezone: str | None) -> Times:
    """A single datetime/date (e.g. ``consent.as_of``) as a one-element :class:`Times`."""
    stamp = pd.Timestamp(value)  # a date becomes midnight, naive
    series = pd.Series([stamp])
    if stamp.tzinfo is None:
        return parse_column(series, column="consent.as_of", where="policy",
                            timezone=timezone)
    return parse_column(series, column="consent.as_of", where="policy")
