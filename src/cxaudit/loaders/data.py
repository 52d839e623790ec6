"""Read customer data (CSV or Parquet) into the local engine's frames."""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from cxaudit.errors import DataError

SUPPORTED = (".csv", ".parquet", ".pq")


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_table(path: str | Path, *, role: str = "data",
               text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file; raise :class:`DataError` on anything unusable.

    ``role`` names the input in messages ("data", "consent ledger", ...).
    ``text_columns`` (e.g. the customer id) are read from CSV as text, never as
    numbers: ``00123`` stays ``00123`` (absent columns are ignored). The file is
    checked first (:func:`preflight`): a regular file, UTF-8 CSV with one header
    whose names are unique, or Parquet whose schema names are unique.
    """
    path = Path(path)
    suffix = preflight(path, role=role)
    if suffix == ".csv":
        frame = _read_csv(path, role, text_columns)
    else:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(f"{role} file {path} is not readable Parquet: {_short(exc)}",
                            hint="re-export the file, or pass a CSV") from None
    if frame.shape[1] == 0:
        raise DataError(f"{role} file {path} has no columns", hint="add a header row")
    if len(frame) == 0:
        raise DataError(f"{role} file {path} has a header but no rows",
                        hint="export the rows to audit, not only the header")
    duplicated = [str(c) for c in frame.columns[frame.columns.duplicated()]]
    if duplicated:
        raise DataError(f"{role} file {path} repeats column(s) {', '.join(duplicated)}",
                        hint="give every column a unique name")
    frame.attrs["cxaudit_source_kind"] = suffix  # context.SOURCE_KIND: lines or rows
    return frame


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:200] + " …"


def check_regular_file(path: Path, role: str) -> os.stat_result:
    """The file's status, or a :class:`DataError`: missing, a directory, unreadable, or not
    a regular file (a FIFO or device would block or never end: refused before opening)."""
    try:
        status = path.stat()  # follows symlinks: a link to /dev/zero is a device
    except FileNotFoundError:
        raise DataError(f"{role} file not found: {path}", hint="check the path you passed"
                        ) from None
    except OSError as exc:
        raise DataError(f"{role} file {path} cannot be read: {exc.strerror or exc}",
                        hint="check the path and its permissions") from None
    if stat.S_ISDIR(status.st_mode):
        raise DataError(f"{role} path is a directory, not a file: {path}",
                        hint="pass a CSV or Parquet file")
    if not stat.S_ISREG(status.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(status.st_mode) else
                "a device" if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode) else
                "a socket" if stat.S_ISSOCK(status.st_mode) else "a special file")
        raise DataError(f"{role} file {path} is not a regular file (it is {kind})",
                        hint="write the data to a regular CSV or Parquet file first; pipes and "
                             "devices are refused so that the audit cannot hang")
    if not os.access(path, os.R_OK):
        raise DataError(f"{role} file {path} cannot be read: permission denied",
                        hint="check the file's permissions")
    return status


def preflight(path: str | Path, *, role: str = "data") -> str:
    """Check a data file before any reader opens it; return its (lower-case) suffix.

    Regular file, not empty, a supported extension; CSV: UTF-8 (a byte-order mark is
    fine) without NUL bytes, comma-separated, unique header names (as written, before
    pandas renames a second ``gender`` to ``gender.1``); Parquet: a readable schema with
    unique names. Every refusal names the file and the line or column positions.
    """
    path = Path(path)
    status = check_regular_file(path, role)
    if status.st_size == 0:
        raise DataError(f"{role} file is empty: {path}",
                        hint="the file has no bytes; re-export it with a header row and data")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DataError(f"{role} file {path} has an unsupported extension {suffix or '(none)'!r}",
                        hint="use .csv or .parquet")
    if suffix == ".csv":
        _check_csv_text(path, role)
        _check_names(csv_header(path, role), path, role)
    else:
        _check_names(parquet_columns(path, role), path, role)
    return suffix


def _check_names(names: list[str], path: Path, role: str) -> None:
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(names, start=1):
        positions.setdefault(name, []).append(index)
    repeated = {name: where for name, where in positions.items() if len(where) > 1}
    if repeated:
        shown = "; ".join(f"{name!r} (columns {' and '.join(map(str, where))})"
                          for name, where in list(repeated.items())[:5])
        raise DataError(f"{role} file {path} repeats column name(s): {shown}",
                        hint="give every column a unique name; cxaudit never picks one of two "
                             "columns with the same name")


#: The header line is read up to this many bytes.
HEADER_LIMIT = 16 << 20
_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}


def csv_header(path: Path, role: str) -> list[str]:
    """The CSV header's column names as written (a UTF-8 byte-order mark removed)."""
    import csv

    with open(path, "rb") as handle:
        raw = handle.readline(HEADER_LIMIT)
    text = raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        raise DataError(f"{role} file {path}: line 1 is empty; the first line must be the "
                        "header", hint="remove blank lines before the header row")
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        names = next(csv.reader([text]))
    except csv.Error as exc:
        raise DataError(f"{role} file {path}: line 1 (the header) is not valid CSV: {exc}",
                        hint="check the quoting of the column names") from None
    if len(names) == 1:
        for separator, name in _SEPARATORS.items():
            if text.count(separator) >= 1:
                raise DataError(f"{role} file {path}: line 1 (the header) has no commas but "
                                f"{text.count(separator)} {name} separator(s); cxaudit reads "
                                "comma-separated CSV",
                                hint="re-export the file with ',' between fields (and '.' as "
                                     "the decimal point), or as Parquet")
    return names


def parquet_columns(path: Path, role: str) -> list[str]:
    """The column names of a Parquet file's schema, as stored."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several unrelated types
        raise DataError(f"{role} file {path} is not readable Parquet: {_short(exc)}",
                        hint="the file may be truncated or not Parquet; re-export it, or pass "
                             "a CSV") from None


def _check_csv_text(path: Path, role: str) -> None:
    """Refuse CSV that is not UTF-8 text or holds NUL bytes, naming the first bad line."""
    line = 1
    carry = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 22)
            buffer = carry + chunk
            cut = len(buffer) if not chunk else buffer.rfind(b"\n") + 1
            piece, carry = buffer[:cut], buffer[cut:]
            if line == 1 and piece.startswith(b"\xef\xbb\xbf"):
                piece = piece[3:]
            nul = piece.find(b"\0")
            if nul >= 0:
                at = line + piece.count(b"\n", 0, nul)
                raise DataError(f"{role} file {path}: line {at} holds a NUL byte; this is not "
                                "a text CSV file", hint="re-export the data as UTF-8 CSV or "
                                                        "Parquet (is the file compressed?)")
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = line + piece.count(b"\n", 0, exc.start)
                raise DataError(f"{role} file {path}: line {at} is not UTF-8 text (byte "
                                f"0x{piece[exc.start]:02x}; Latin-1 or Windows-1252?)",
                                hint="re-save the file as UTF-8 CSV") from None
            line += piece.count(b"\n")
            if not chunk:
                return


def _read_csv(path: Path, role: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    with _csv_errors(path, role):
        # index_col=False: pandas would otherwise take a first data row with more fields
        # than the header as an index and shift every column by one, silently.
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str), index_col=False)


def _first_ragged_line(path: Path) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row whose field count differs from the
    header's (read only when pandas reports a mismatch)."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for row in reader:
            if row and len(row) != len(header):
                return reader.line_num, len(row), len(header)
    return None


#: Files above this size are offered in chunks by :func:`iter_table` (CSV; Parquet by rows).
CHUNK_MIN_BYTES = 256 << 20


def iter_table(path: str | Path, *, role: str, chunk_rows: int,
               text_columns: Sequence[str] = (), category_columns: Sequence[str] = ()
               ) -> Iterator[pd.DataFrame] | None:
    """A large CSV/Parquet file as frames of ``chunk_rows`` rows, or None: read it whole
    with :func:`read_table` (small, or not readable as given, which read_table words).

    Chunks are what :func:`read_table` would return for those rows, except that each
    CSV chunk infers its own column types (callers normalise them), and that Parquet
    text columns named in ``category_columns`` arrive as categoricals (read from the
    file's dictionary pages: a ledger's status or purpose repeats a few words millions
    of times; decoding them as strings costs 5x the CPU and twice the memory).
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if path.stat().st_size <= CHUNK_MIN_BYTES:
            return None
        preflight(path, role=role)
        return _csv_chunks(path, role, chunk_rows, text_columns)
    if suffix not in (".parquet", ".pq"):
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except Exception:  # pyarrow raises several unrelated types
        return None
    if file.metadata.num_rows <= chunk_rows or file.metadata.num_columns == 0:
        return None
    preflight(path, role=role)
    schema = file.schema_arrow
    wanted = [name for name in category_columns if name in schema.names
              and (pa.types.is_string(schema.field(name).type)
                   or pa.types.is_large_string(schema.field(name).type))]
    if not wanted:
        return (pa.Table.from_batches([batch]).to_pandas()
                for batch in file.iter_batches(batch_size=chunk_rows))
    file = pq.ParquetFile(path, read_dictionary=wanted)
    return (_as_read(table.to_pandas(), wanted)
            for table in _rebatched(file.iter_batches(batch_size=chunk_rows), chunk_rows))


def _rebatched(batches: Iterator[Any], rows: int) -> Iterator[Any]:
    """Arrow tables of exactly ``rows`` rows (the last fewer) from record batches.

    Read with dictionaries, Parquet batches end where a row group's dictionary does;
    the chunks (and so which rows an error names first) must not depend on that.
    """
    import pyarrow as pa

    pending: list[Any] = []
    size = 0
    for batch in batches:
        while len(batch):
            take = min(rows - size, len(batch))
            pending.append(batch.slice(0, take))
            size += take
            batch = batch.slice(take)
            if size == rows:
                yield pa.Table.from_batches(pending)
                pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _as_read(frame: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """Columns read from dictionary pages as ``astype("category")`` makes them: the values
    that occur, sorted (a page's dictionary may hold others, in the writer's order)."""
    import numpy as np

    for column in categories:
        values = frame[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            continue
        codes = values.cat.codes.to_numpy()
        labels = list(values.cat.categories)
        seen = np.bincount(codes[codes >= 0], minlength=len(labels)) > 0
        kept = sorted({label for label, used in zip(labels, seen, strict=True) if used})
        if kept == labels:
            continue
        position = {label: index for index, label in enumerate(kept)}
        lookup = np.array([position.get(label, -1) for label in labels] + [-1], dtype=np.int64)
        frame[column] = pd.Categorical.from_codes(lookup[codes], categories=pd.Index(
            kept, dtype=values.cat.categories.dtype))
    return frame


def _csv_chunks(path: Path, role: str, chunk_rows: int, text_columns: Sequence[str]
                ) -> Iterator[pd.DataFrame]:
    with _csv_errors(path, role), pd.read_csv(path, chunksize=chunk_rows, index_col=False,
                                              dtype=dict.fromkeys(text_columns, str)) as reader:
        yield from reader


@contextmanager
def _csv_errors(path: Path, role: str) -> Iterator[None]:
    """pandas' CSV errors as :class:`DataError` naming the file, the line and what to do."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield
    except pd.errors.ParserWarning:
        ragged = _first_ragged_line(path)
        where = (f"line {ragged[0]} has {ragged[1]} fields, the header {ragged[2]}" if ragged
                 else "some rows have more fields than the header")
        raise DataError(f"{role} file {path} is not valid CSV: {where}",
                        hint="check quoting and the number of separators on that line") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{role} file is empty: {path}", hint="add a header row and data") from None
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
        detail = str(exc).split("C error: ")[-1].strip()
        raise DataError(f"{role} file {path} is not valid CSV: {detail}",
                        hint="check quoting and the number of separators on that line") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{role} file {path} is not UTF-8 text (byte offset {exc.start})",
                        hint="re-save it as UTF-8 CSV") from None


def missing_column_error(column: str, available: list[str], *, role: str, where: str,
                         what: str) -> DataError:
    """The error for a column the policy names but the data lacks."""
    close = difflib.get_close_matches(column, available, n=3, cutoff=0.5)
    lowered = {c.lower(): c for c in available}
    if column.lower() in lowered and lowered[column.lower()] not in close:
        close.insert(0, lowered[column.lower()])
    hint = (f"closest columns in the {role}: {', '.join(close)}" if close
            else f"the {role} has: {', '.join(available[:20])}{' …' if len(available) > 20 else ''}")
    return DataError(f"{where}: {what} {column!r} is not a column of the {role}", hint=hint)
