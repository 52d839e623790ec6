"""Load and validate a consent ledger (format: docs/consent-ledger.md).

A ledger that cannot be trusted must stop the audit (exit 2) rather than produce
findings: :func:`validate_ledger` raises :class:`~cxaudit.errors.DataError` naming
the column and the first offending rows, with values masked and subject ids
hashed. The validated frame is normalised so every later step can rely on it:

- ``subject_id``, ``purpose``: text; ``lawful_basis``: the Art. 6(1) name;
  ``status``/``signal``: lower-case vocabulary words;
- ``granted_at``/``withdrawn_at``/``expires_at``: ``datetime64[us]`` — UTC when
  the ledger carries offsets (or ``consent.timezone`` localises it), naive
  otherwise (``frame.attrs["cxaudit_ledger"]["aware"]`` says which);
- ``age_verified``/``parental_consent``: nullable booleans.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.consent.vocabulary import (
    BASIS_ALIASES,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    SIGNALS,
    STATUSES,
    TIME_COLUMNS,
    LawfulBasis,
)
from cxaudit.errors import DataError, InputError
from cxaudit.loaders.data import iter_table, missing_column_error, read_table
from cxaudit.loaders.timestamps import Times, parse_column, row_list, rows_from
from cxaudit.masking import examples_enabled, hash_id, mask_value

ATTRS_KEY = "cxaudit_ledger"
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _bad(where: str, column: str, rows: np.ndarray, problem: str, hint: str,
         values: pd.Series | None = None, ids: pd.Series | None = None) -> DataError:
    shown = ""
    if values is not None:
        shown = ": " + ", ".join(repr(mask_value(values.iloc[int(r)])) for r in rows[:3])
    elif ids is not None and examples_enabled():
        shown = " (subjects " + ", ".join(hash_id(ids.iloc[int(r)]) for r in rows[:3]) + ")"
    return DataError(f"{where}: column {column!r}: {len(rows)} row(s) {problem} "
                     f"({row_list(rows)}{shown})", hint=hint)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column].astype("string").str.strip()
    return text.mask(text == "")


def _category(frame: pd.DataFrame, column: str) -> pd.Series:
    """Stripped text as a categorical (ledgers repeat a few values millions of times)."""
    raw = frame[column]
    cat = raw if isinstance(raw.dtype, pd.CategoricalDtype) else raw.astype("category")
    labels = pd.Index(cat.cat.categories.astype(str)).str.strip()
    keep = labels != ""
    uniques = pd.Index(labels[keep]).unique()
    lookup = np.full(len(labels) + 1, -1, dtype=np.int64)  # last slot: missing (code -1)
    lookup[:-1][keep] = uniques.get_indexer(labels[keep])
    codes = lookup[cat.cat.codes.to_numpy()]
    return pd.Series(pd.Categorical.from_codes(codes, categories=uniques), index=frame.index)


def _vocabulary(frame: pd.DataFrame, column: str, allowed: dict[str, str], where: str, *,
                required: bool, hint: str, order: tuple[str, ...]) -> pd.Series:
    """Map a column onto a fixed vocabulary (categories in ``order``), case-insensitively."""
    text = _category(frame, column)
    labels = [str(c).lower() for c in text.cat.categories]
    mapped = np.array([order.index(allowed[c]) if c in allowed else -2 for c in labels] + [-1],
                      dtype=np.int64)
    codes = mapped[text.cat.codes.to_numpy()]
    missing = codes == -1
    if required and missing.any():
        raise _bad(where, column, np.flatnonzero(missing), "are empty", hint)
    unknown = np.flatnonzero(codes == -2)
    if len(unknown):
        raise _bad(where, column, unknown, "have an unknown value", hint,
                   values=frame[column].astype(str))
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(order)), index=frame.index)


def _boolean(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = True
    out[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = False
    unknown = np.flatnonzero(out.isna().to_numpy() & text.notna().to_numpy())
    if len(unknown):
        raise _bad(where, column, unknown, "are not true/false", "write true or false "
                   "(or leave the cell empty when unknown)", values=text)
    return out


def validate_ledger(frame: pd.DataFrame, *, source: str = "consent ledger",
                    timezone: str | None = None) -> pd.DataFrame:
    """Check a ledger against the format and return it normalised.

    Parameters
    ----------
    frame
        The ledger as read from CSV/Parquet (or an already validated frame,
        which is returned unchanged).
    source
        File name shown in messages.
    timezone
        IANA zone for timestamps written without a UTC offset.

    Raises
    ------
    DataError
        Missing columns, empty required cells, unknown status/basis/signal
        values, unparseable or mixed naive/aware timestamps, or records whose
        timestamps contradict their status.
    """
    if ATTRS_KEY in frame.attrs:
        return frame
    columns = [str(c) for c in frame.columns]
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            raise missing_column_error(column, columns, role="consent ledger", where=source,
                                       what="required ledger column")
    if len(frame) == 0:
        raise DataError(f"{source}: the consent ledger has no records",
                        hint="an empty ledger covers nobody; export the records")
    out: dict[str, Any] = {}
    for column in ("subject_id", "purpose"):
        text = _text(frame, column) if column == "subject_id" else _category(frame, column)
        empty = np.flatnonzero(text.isna().to_numpy())
        if len(empty):
            raise _bad(source, column, empty, "are empty", f"every record needs a {column}")
        out[column] = text
    ids = out["subject_id"]
    bases = tuple(b.value for b in LawfulBasis)
    out["lawful_basis"] = _vocabulary(
        frame, "lawful_basis", {k: v.value for k, v in BASIS_ALIASES.items()}, source,
        required=True, order=bases,
        hint="use one of " + ", ".join(bases) + " (or the GDPR Art. 6(1) letter a-f)")
    out["status"] = _vocabulary(frame, "status", {s: s for s in STATUSES}, source, required=True,
                                order=STATUSES, hint="status is one of " + ", ".join(STATUSES))
    signal = (_vocabulary(frame, "signal", {s: s for s in SIGNALS}, source, required=False,
                          order=SIGNALS, hint="signal is empty or one of " + ", ".join(SIGNALS))
              if "signal" in columns else
              pd.Series(pd.Categorical.from_codes(np.full(len(frame), -1), categories=SIGNALS),
                        index=frame.index))
    out["signal"] = signal
    times: dict[str, Times] = {}
    for column in TIME_COLUMNS:
        times[column] = parse_column(frame[column], column=column, where=source,
                                     timezone=timezone)
    kinds = {times[c].aware for c in TIME_COLUMNS if not times[c].missing.all()}
    if len(kinds) > 1:
        aware = [c for c in TIME_COLUMNS if times[c].aware and not times[c].missing.all()]
        naive = [c for c in TIME_COLUMNS if not times[c].aware and not times[c].missing.all()]
        raise DataError(f"{source}: {', '.join(aware)} carry UTC offsets but "
                        f"{', '.join(naive)} do not; cxaudit does not compare them",
                        hint="write every timestamp with its offset, or set consent.timezone")
    aware = bool(kinds.pop()) if kinds else True
    _check_lifecycle(source, out, times, ids)
    for column in TIME_COLUMNS:
        values = times[column].micros.astype("datetime64[us]")
        series = pd.Series(values, index=frame.index)
        series[times[column].missing] = pd.NaT
        out[column] = series.dt.tz_localize("UTC") if aware else series
    for column in ("notice_version", "channel", "jurisdiction"):
        out[column] = _category(frame, column)
    consent_rows = (out["lawful_basis"] == LawfulBasis.consent.value).fillna(False).to_numpy()
    no_notice = np.flatnonzero(consent_rows & out["notice_version"].isna().to_numpy())
    if len(no_notice):
        raise _bad(source, "notice_version", no_notice, "rest on consent but name no notice",
                   "GDPR Art. 7(1): record which notice the subject saw", ids=ids)
    for column in ("age_verified", "parental_consent"):
        out[column] = (_boolean(frame, column, source) if column in columns
                       else pd.Series(pd.NA, index=frame.index, dtype="boolean"))
    normalised = pd.DataFrame(out, index=frame.index).reset_index(drop=True)
    normalised.attrs[ATTRS_KEY] = {"aware": aware, "source": source,
                                   "optional_columns": [c for c in OPTIONAL_COLUMNS
                                                        if c in columns]}
    return normalised


def _check_lifecycle(source: str, out: dict[str, Any], times: dict[str, Times],
                     ids: pd.Series) -> None:
    status = out["status"].cat.codes.to_numpy()  # codes into STATUSES (none missing)

    def has(*names: str) -> np.ndarray:
        return np.isin(status, [STATUSES.index(name) for name in names])

    granted, withdrawn, expires = (times[c] for c in TIME_COLUMNS)
    no_start = np.flatnonzero(granted.missing)
    if len(no_start):
        raise _bad(source, "granted_at", no_start, "have no granted_at (for refusals: when the "
                   "refusal was recorded)", "every record needs the time it took effect",
                   ids=ids)
    rules = [
        ("withdrawn_at", has("withdrawn") & withdrawn.missing,
         "have status withdrawn but no withdrawn_at", "record when consent was withdrawn"),
        ("expires_at", has("expired") & expires.missing,
         "have status expired but no expires_at", "record when consent expired"),
        ("withdrawn_at", has("granted") & ~withdrawn.missing,
         "have status granted but a withdrawn_at", "a withdrawn record has status withdrawn"),
        ("withdrawn_at", ~withdrawn.missing & (withdrawn.micros < granted.micros),
         "were withdrawn before they were granted", "check the two timestamps"),
        ("expires_at", ~expires.missing & (expires.micros < granted.micros),
         "expire before they were granted", "check the two timestamps"),
    ]
    has_signal = out["signal"].cat.codes.to_numpy() >= 0
    is_opt_out = has_signal & ~has("withdrawn", "refused")
    rules.append(("signal", is_opt_out, "carry an opt-out signal but are not refused or "
                  "withdrawn", "an opt-out record has status refused (or withdrawn)"))
    for column, mask, problem, hint in rules:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(rows):
            raise _bad(source, column, rows, problem, hint, ids=ids)


def load_ledger(path: str | Path, *, timezone: str | None = None) -> pd.DataFrame:
    """Read a CSV/Parquet ledger and validate it (see :func:`validate_ledger`).

    A large ledger (Parquet over :data:`CHUNK_ROWS` records, CSV over 256 MB) is
    read and validated a chunk at a time, so only its normalised form
    (categories, int64 times: about a third of the raw frame) is ever held
    whole: a 16 M-record Parquet ledger peaks at 2.4 GB instead of 4.4 GB.
    Messages name the same lines either way.
    """
    path = Path(path)
    chunks = iter_table(path, role="consent ledger", chunk_rows=CHUNK_ROWS,
                        text_columns=ID_COLUMNS, category_columns=CATEGORY_COLUMNS)
    if chunks is None:
        return validate_ledger(read_table(path, role="consent ledger", text_columns=ID_COLUMNS),
                               source=path.name, timezone=timezone)
    parts = _validated(iter(chunks), source=path.name, timezone=timezone)
    total = _parquet_rows(path)
    if total is None:  # CSV: the number of records is known only at the end
        return _combine(list(parts), path.name)
    assembly = _Assembly(total, path.name)
    for part in parts:
        assembly.add(part)
    return assembly.frame()


def _validated(chunks: Iterator[pd.DataFrame], *, source: str, timezone: str | None
               ) -> Iterator[pd.DataFrame]:
    """Each chunk validated, in order, on a worker thread while the next one is read.

    Reading (Parquet decoding, CSV parsing) and validating (NumPy, Arrow compute) mostly
    run without the GIL, so the two overlap: a 16 M-record ledger loads in ~2.4 s instead
    of ~4.4 s. Messages are unchanged: rows count from each chunk's first line, ids are
    hashed with the caller's key (the worker runs in a copy of the caller's context),
    and the first problem in file order is the one raised — a chunk's own error before a
    later chunk that cannot be read.
    """
    def validate(chunk: pd.DataFrame, first: int) -> pd.DataFrame:
        with rows_from(first):
            return validate_ledger(chunk, source=source, timezone=timezone)

    pending: deque[Future[pd.DataFrame]] = deque()
    first = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxaudit-ledger") as pool:
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception:
                while pending:  # an earlier chunk's own error comes first
                    pending.popleft().result()
                raise
            pending.append(pool.submit(contextvars.copy_context().run, validate, chunk, first))
            first += len(chunk)
            del chunk
            while len(pending) > 1:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


#: Read as text from CSV: ``00123`` is a subject id, not the number 123.
ID_COLUMNS = ("subject_id",)

#: Columns validated as categories (a few distinct words): read from Parquet as such.
CATEGORY_COLUMNS = ("purpose", "lawful_basis", "status", "signal", "notice_version", "channel",
                    "jurisdiction")

#: Records per chunk when a large ledger is validated a chunk at a time.
CHUNK_ROWS = 1 << 20


def _combine(parts: list[pd.DataFrame], source: str) -> pd.DataFrame:
    """One validated ledger from validated chunks (categories united, kinds agreeing)."""
    from pandas.api.types import union_categoricals

    kinds = [part.attrs[ATTRS_KEY]["aware"] for part in parts]
    if len(set(kinds)) > 1:
        flip = next(i for i, kind in enumerate(kinds) if kind != kinds[0])
        raise _mixed_kinds(source, kinds[0], sum(len(p) for p in parts[:flip]) + 2)
    columns: dict[str, Any] = {}
    for column in parts[0].columns:
        pieces = [part[column] for part in parts]
        if isinstance(pieces[0].dtype, pd.CategoricalDtype):
            columns[column] = pd.Series(union_categoricals(pieces, ignore_order=True))
        else:
            columns[column] = pd.concat(pieces, ignore_index=True)
    ledger = pd.DataFrame(columns)
    ledger.attrs[ATTRS_KEY] = parts[0].attrs[ATTRS_KEY]
    return ledger


def _parquet_rows(path: Path) -> int | None:
    """Records in a Parquet file (from its footer); None for anything else."""
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - not Parquet (pyarrow raises several types)
        return None


def _mixed_kinds(source: str, first_aware: bool, line: int) -> DataError:
    return DataError(f"{source}: timestamps up to line {line - 1} "
                     f"{'carry' if first_aware else 'lack'} UTC offsets but from line {line} "
                     f"they {'lack' if first_aware else 'carry'} them; cxaudit does not compare "
                     "them", hint="write every timestamp with its offset, or set "
                                  "consent.timezone")


class _Assembly:
    """Validated chunks written into whole columns allocated once (Parquet: the number of
    records is in the footer).

    Gathering the chunks and concatenating them at the end held the ledger twice (1.5 GB
    for 16 M records) and cost ~1.5 s, most of it the kernel handing out fresh pages;
    here each chunk's columns are copied in and the chunk dropped, so the next chunk
    reuses its memory. Same frame as :func:`_combine`: dtypes, categories in order of
    first appearance, values.
    """

    def __init__(self, total: int, source: str) -> None:
        self.total, self.source, self.filled = total, source, 0
        self.stores: dict[str, Any] = {}
        self.attrs: dict[str, Any] | None = None

    def add(self, part: pd.DataFrame) -> None:
        attrs = part.attrs[ATTRS_KEY]
        if self.attrs is None:
            self.attrs = attrs
            self.stores = {column: _store_for(part[column], self.total)
                           for column in part.columns}
        elif attrs["aware"] != self.attrs["aware"]:
            raise _mixed_kinds(self.source, self.attrs["aware"], self.filled + 2)
        low, high = self.filled, self.filled + len(part)
        for column, store in self.stores.items():
            store.put(low, high, part[column])
        self.filled = high

    def frame(self) -> pd.DataFrame:
        if self.filled != self.total or self.attrs is None:
            raise DataError(f"{self.source}: read {self.filled:,} of the {self.total:,} records "
                            "its footer announces", hint="re-export the file")
        # Each store hands over its column and lets go of its own arrays, so a column
        # that must be copied (a time zone attached) reuses the memory of the one before.
        columns = {column: self.stores.pop(column).column() for column in list(self.stores)}
        ledger = pd.DataFrame(columns, copy=False)
        ledger.attrs[ATTRS_KEY] = self.attrs
        return ledger


def _store_for(first: pd.Series, total: int) -> Any:
    dtype = first.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _CategoryStore(total, dtype.categories.dtype)
    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype) == "datetime64[us]":
        return _TimeStore(total, dtype)
    if isinstance(dtype, pd.BooleanDtype):
        return _BooleanStore(total)
    return _PieceStore()


class _CategoryStore:
    """Codes into categories united in order of first appearance (as union_categoricals),
    in the smallest integer type that holds them (as ``from_codes`` would make them)."""

    def __init__(self, total: int, label_dtype: Any) -> None:
        self.codes = np.empty(total, dtype=np.int8)
        self.labels: dict[Any, int] = {}
        self.label_dtype = label_dtype

    def put(self, low: int, high: int, values: pd.Series) -> None:
        lookup = [self.labels.setdefault(label, len(self.labels))
                  for label in values.cat.categories]
        while len(self.labels) > np.iinfo(self.codes.dtype).max:
            wider = {np.dtype(np.int8): np.int16, np.dtype(np.int16): np.int32}
            self.codes = self.codes.astype(wider.get(self.codes.dtype, np.int64))
        self.codes[low:high] = np.array(lookup + [-1], dtype=self.codes.dtype)[
            values.cat.codes.to_numpy()]

    def column(self) -> Any:
        categories = pd.Index(list(self.labels), dtype=self.label_dtype)
        return pd.Categorical.from_codes(self.codes, categories=categories)


class _TimeStore:
    """int64 microseconds (NaT included), viewed as the chunks' datetime dtype at the end."""

    def __init__(self, total: int, dtype: Any) -> None:
        self.values = np.empty(total, dtype=np.int64)
        self.dtype = dtype

    def put(self, low: int, high: int, values: pd.Series) -> None:
        self.values[low:high] = values.array.asi8

    def column(self) -> Any:
        naive = pd.array(self.values.view("datetime64[us]"), copy=False)
        del self.values
        if isinstance(self.dtype, pd.DatetimeTZDtype):  # UTC micros: attaching the zone copies
            return naive.tz_localize(self.dtype.tz)
        return naive


class _BooleanStore:
    def __init__(self, total: int) -> None:
        self.values = np.empty(total, dtype=bool)
        self.mask = np.empty(total, dtype=bool)

    def put(self, low: int, high: int, values: pd.Series) -> None:
        self.mask[low:high] = values.isna().to_numpy()
        self.values[low:high] = values.to_numpy(dtype=bool, na_value=False)

    def column(self) -> Any:
        return pd.arrays.BooleanArray(self.values, self.mask)


class _PieceStore:
    """Anything else (ids as Arrow text: concatenated as chunks, without a copy)."""

    def __init__(self) -> None:
        self.pieces: list[pd.Series] = []

    def put(self, low: int, high: int, values: pd.Series) -> None:
        self.pieces.append(values)

    def column(self) -> Any:
        return pd.concat(self.pieces, ignore_index=True)


def audited_purpose(policy: Any) -> str:
    """``consent.purpose``, else ``system.purpose``; an input error when neither is set."""
    purpose = (policy.consent.purpose if policy.consent else None) or policy.system.purpose
    if not purpose:
        raise InputError(f"{policy.locate('consent')}: the policy names no processing purpose",
                         hint="set consent.purpose (or system.purpose) to the purpose id used "
                              "in the consent ledger")
    return purpose


def prepare_consent(policy: Any, frame: pd.DataFrame, ledger: pd.DataFrame, *,
                    source: str = "consent ledger") -> pd.DataFrame:
    """Validate the ledger before any check runs, so bad input exits 2.

    Also checks what consent checks need from the policy and the data: a
    purpose, the subject id column, and event times whose time-zone kind
    matches the ledger's (naive vs aware is refused, never guessed).
    """
    from cxaudit.loaders.timestamps import require_compatible, scalar_micros

    zone = policy.consent.timezone if policy.consent else None
    ledger = validate_ledger(ledger, source=source, timezone=zone)
    if not any(c.type.startswith("consent.") for c in policy.checks):
        return ledger
    audited_purpose(policy)
    if not policy.data.id:
        raise InputError(f"{policy.locate('data')}: consent checks need data.id, the column "
                         "matching the ledger's subject_id", hint="set data.id: customerID")
    aware = Times(micros=np.zeros(0, np.int64), aware=ledger.attrs[ATTRS_KEY]["aware"],
                  missing=np.zeros(0, bool))
    column = policy.data.timestamp
    if column and column in frame.columns:
        sample = frame[column].dropna().head(1000)
        if len(sample):
            times = parse_column(sample, column=column, where="data", timezone=zone)
            require_compatible(aware, f"{source} timestamps", times, f"data column {column!r}")
    elif not column and policy.consent and policy.consent.as_of is not None:
        times = scalar_micros(policy.consent.as_of, timezone=zone)
        require_compatible(aware, f"{source} timestamps", times, "consent.as_of")
    return ledger
