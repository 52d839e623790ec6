"""An append-only, hash-chained JSON Lines log of audits, approvals and waivers.

Each line is one entry, written in a canonical form (sorted keys, no spaces,
ASCII only)::

    {"data":{...},"hash":"…","kind":"audit","prev":"…","seq":3,"time":"2026-11-23T18:00:00+00:00"}

``hash`` is the SHA-256 of the entry's canonical form without ``hash``; ``prev``
is the previous entry's ``hash`` (64 zeros for the first) and ``seq`` counts from 1.
Verification therefore detects an edited entry (its hash no longer matches),
a deleted entry (a gap in ``seq``, a ``prev`` that points nowhere) and reordered
entries (``seq`` going backwards). Removing the *newest* entries leaves a valid,
shorter chain: only a head recorded elsewhere (printed by ``cxaudit log verify``,
stored in each evidence manifest) can reveal that — pass it as ``--head``.

Writers take an exclusive lock (``flock``) so concurrent audits never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cxaudit.evidence import EvidenceError

TRAIL_FILE = "audit-trail.jsonl"
TRAIL_ENV = "CXAUDIT_TRAIL"
GENESIS = "0" * 64
KINDS = ("audit", "approval", "waiver", "render")


def canonical_line(obj: dict[str, Any]) -> bytes:
    """The one byte form an entry may take on disk (without the newline)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the entry's canonical form, ``hash`` excluded."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_line(body)).hexdigest()


def default_trail(report_dir: str | Path | None = None) -> Path:
    """Where the trail lives: ``$CXAUDIT_TRAIL``, else beside the reports, else ``./``."""
    configured = os.environ.get(TRAIL_ENV)
    if configured:
        return Path(configured)
    return Path(report_dir or ".") / TRAIL_FILE


def resolve_trail_path(path: str | Path | None) -> Path:
    """A trail path given on the command line: a file, or a directory holding the trail."""
    if path is None:
        return default_trail()
    path = Path(path)
    return path / TRAIL_FILE if path.is_dir() else path


@contextmanager
def _locked(path: Path) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            fcntl = None
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _last_line(handle: Any) -> bytes | None:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    if size == 0:
        return None
    block = 4096
    data = b""
    position = size
    while position > 0:
        step = min(block, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
        if data.count(b"\n") >= 2 or position == 0:
            break
    if not data.endswith(b"\n"):
        return b""  # a torn last write: the chain cannot be extended safely
    lines = data[:-1].split(b"\n")
    return lines[-1]


def _parse_entry(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(entry, dict) or canonical_line(entry) != line:
        return None
    if not isinstance(entry.get("seq"), int) or not isinstance(entry.get("hash"), str):
        return None
    if entry_hash(entry) != entry["hash"]:
        return None
    return entry


def append(path: str | Path, kind: str, data: dict[str, Any], *,
           now: datetime | None = None) -> dict[str, Any]:
    """Append one entry to the trail at ``path`` (created if absent) and return it.

    Raises
    ------
    EvidenceError
        The current last entry is damaged: extending a broken chain would hide it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown trail entry kind {kind!r}")
    path = Path(path)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    with _locked(path) as handle:
        last = _last_line(handle)
        if last is None:
            seq, prev = 1, GENESIS
        else:
            previous = _parse_entry(last)
            if previous is None:
                raise EvidenceError(f"the last entry of the audit trail {path.name} is damaged, "
                                    "so no entry was added",
                                    hint=f"run `cxaudit log verify {path}` and restore the trail "
                                         "from a backup")
            seq, prev = previous["seq"] + 1, previous["hash"]
        entry = {"seq": seq, "time": moment.isoformat(timespec="seconds"), "kind": kind,
                 "data": data, "prev": prev}
        entry["hash"] = entry_hash(entry)
        handle.seek(0, os.SEEK_END)
        handle.write(canonical_line(entry) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return entry


def head(path: str | Path, *, strict: bool = False) -> dict[str, Any] | None:
    """``{"seq", "hash"}`` of the newest entry, or None for an absent or empty trail.

    With ``strict``, a damaged last entry raises :class:`EvidenceError` (so an
    audit stops before writing evidence it could not log).
    """
    path = Path(path)
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        last = _last_line(handle)
    entry = _parse_entry(last) if last else None
    if entry is None and last is not None and strict:
        raise EvidenceError(f"the last entry of the audit trail {path.name} is damaged",
                            hint=f"run `cxaudit log verify {path}` and restore the trail from a "
                                 "backup, or log to another trail with --trail")
    return None if entry is None else {"seq": entry["seq"], "hash": entry["hash"]}


@dataclass
class TrailReport:
    """What :func:`verify_trail` found: the entries, the problems and the head."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems

    @property
    def head(self) -> dict[str, Any] | None:
        """``{"seq", "hash"}`` of the last readable entry."""
        if not self.entries:
            return None
        last = self.entries[-1]
        return {"seq": last["seq"], "hash": last["hash"]}


def verify_trail(path: str | Path, *, expect_head: str | None = None,
                 label: str | None = None) -> TrailReport:
    """Check every entry and every link of a trail.

    Parameters
    ----------
    path
        The JSON Lines file.
    expect_head
        The ``hash`` of an entry recorded earlier (e.g. printed by a previous
        verification): it must still be in the chain, which detects the newest
        entries being cut off.
    label
        How to name the file in problems (default: its file name).

    Returns
    -------
    TrailReport
        ``problems`` name the line and say what is wrong with it.
    """
    path = Path(path)
    name = label or path.name
    report = TrailReport(path=path)
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        report.problems.append(f"{name}: the last line is incomplete (a torn or edited write)")
    expected_seq, expected_prev = 1, GENESIS
    for number, line in enumerate(raw.split(b"\n")[:-1] if raw.endswith(b"\n")
                                  else raw.split(b"\n"), start=1):
        where = f"{name}:{number}"
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            report.problems.append(f"{where}: not a JSON entry (the line was edited or damaged)")
            continue
        if not isinstance(entry, dict) or not {"seq", "prev", "hash", "kind"} <= set(entry):
            report.problems.append(f"{where}: not a trail entry (fields missing)")
            continue
        if canonical_line(entry) != line:
            report.problems.append(f"{where}: entry {entry.get('seq')} is not in canonical form "
                                   "(the line was edited)")
        if entry_hash(entry) != entry.get("hash"):
            report.problems.append(f"{where}: entry {entry.get('seq')} does not match its hash "
                                   "(its content was edited)")
        seq = entry["seq"]
        if not isinstance(seq, int):
            report.problems.append(f"{where}: entry has no valid sequence number")
            continue
        if seq > expected_seq:
            report.problems.append(f"{where}: entries {expected_seq}..{seq - 1} are missing "
                                   "(deleted)")
        elif seq < expected_seq:
            report.problems.append(f"{where}: entry {seq} comes after entry {expected_seq - 1} "
                                   "(entries were reordered or duplicated)")
        elif entry["prev"] != expected_prev:
            report.problems.append(f"{where}: entry {seq} does not link to the entry before it "
                                   "(an entry was replaced, deleted or reordered)")
        report.entries.append(entry)
        expected_seq, expected_prev = seq + 1, entry["hash"]
    if expect_head is not None and not any(e["hash"] == expect_head for e in report.entries):
        report.problems.append(f"{name}: the recorded head {expect_head[:16]}… is not in the trail "
                               "(newest entries were removed, or it is another trail)")
    return report


def summarize(entry: dict[str, Any]) -> str:
    """One line about an entry, for ``cxaudit log show``."""
    data = entry.get("data") or {}
    kind = entry.get("kind")
    if kind == "audit":
        return (f"audit {str(data.get('audit_digest', ''))[:12]} of {data.get('system', '?')}: "
                f"verdict {data.get('verdict', '?')}" + (", signed" if data.get("key_id") else ""))
    if kind == "render":
        return (f"reports of audit {str(data.get('audit_digest', ''))[:12]} rendered again with "
                "their sign-off block")
    if kind == "approval":
        return (f"approval as {data.get('role', '?')} by {data.get('approver', '?')} of audit "
                f"{str(data.get('audit_digest', ''))[:12]}")
    if kind == "waiver":
        group = data.get("group") or {}
        scope = str(data.get("check", "?")) + (
            " [" + ", ".join(f"{k}={v}" for k, v in sorted(group.items())) + "]" if group else "")
        return f"waiver of {scope}: {data.get('status', '?')} (expires {data.get('expires', '?')})"
    return str(kind)
