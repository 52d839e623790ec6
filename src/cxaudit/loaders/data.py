"""Read customer data (CSV or Parquet) into the local engine's frames."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
    numbers: ``00123`` stays ``00123`` (absent columns are ignored).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{role} file not found: {path}", hint="check the path you passed")
    if path.is_dir():
        raise DataError(f"{role} path is a directory, not a file: {path}",
                        hint="pass a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataError(f"{role} file is empty: {path}",
                        hint="the file has no bytes; re-export it with a header row and data")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DataError(f"{role} file {path} has an unsupported extension {suffix or '(none)'!r}",
                        hint="use .csv or .parquet")
    if suffix == ".csv":
        frame = _read_csv(path, role, text_columns)
    else:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(f"{role} file {path} is not readable Parquet: {exc}",
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
    return frame


def _read_csv(path: Path, role: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    with _csv_errors(path, role):
        return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str))


#: Files above this size are offered in chunks by :func:`iter_table` (CSV; Parquet by rows).
CHUNK_MIN_BYTES = 256 << 20


def iter_table(path: str | Path, *, role: str, chunk_rows: int,
               text_columns: Sequence[str] = ()) -> Iterator[pd.DataFrame] | None:
    """A large CSV/Parquet file as frames of ``chunk_rows`` rows, or None: read it whole
    with :func:`read_table` (small, or not readable as given, which read_table words).

    Chunks are what :func:`read_table` would return for those rows, except that each
    CSV chunk infers its own column types (callers normalise them).
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if path.stat().st_size <= CHUNK_MIN_BYTES:
            return None
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
    return (pa.Table.from_batches([batch]).to_pandas()
            for batch in file.iter_batches(batch_size=chunk_rows))


def _csv_chunks(path: Path, role: str, chunk_rows: int, text_columns: Sequence[str]
                ) -> Iterator[pd.DataFrame]:
    with _csv_errors(path, role), pd.read_csv(path, chunksize=chunk_rows,
                                              dtype=dict.fromkeys(text_columns, str)) as reader:
        yield from reader


@contextmanager
def _csv_errors(path: Path, role: str) -> Iterator[None]:
    """pandas' CSV errors as :class:`DataError` naming the file, the line and what to do."""
    try:
        yield
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
