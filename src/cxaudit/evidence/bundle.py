"""Write a report bundle so a failed, interrupted or concurrent run never breaks the last one.

A bundle is the report files, ``manifest.json`` (and ``manifest.sig``) and an entry in
the audit trail. :func:`prepare_out` checks everything the writing needs *before* the
audit runs (the folder can be written, the trail is intact, the signing key loads), so a
bad input is exit 2 with the previous report untouched. :func:`write_bundle` then

1. renders every format in memory;
2. under an exclusive lock on the folder (``flock``; concurrent runs into one folder take
   turns) and with Ctrl-C and SIGTERM held back until it ends, writes each file under a
   unique temporary name (``.<name>.<random>.tmp``), builds the manifest from the bytes
   written, appends the audit to the trail, and only then renames the reports into place,
   the manifest last.

If anything fails before the renames, the temporaries are removed and the folder holds
the previous bundle, whole. Append-only logs (``audit-trail.jsonl``, ``approvals.jsonl``)
are only ever appended to, and other files in the folder (inputs that share it) are
never touched. ``cxaudit verify`` passes on the folder after any run, however it ended
(a hard kill, ``kill -9`` or power loss, between the renames is the one window left,
a few milliseconds long).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxaudit.errors import InputError

#: Report files cxaudit writes; one left from an earlier run in another format is removed
#: when a new bundle is written (it describes another audit, so no manifest may list it).
REPORT_NAMES = ("audit.json", "audit.md", "audit.html", "audit.junit.xml", "audit.pdf",
                "model-card.md", "model-card.json", "remedies.json", "audit-ll144.md",
                "audit-ll144.html")


def _cannot_write(out: Path, exc: OSError) -> InputError:
    reason = exc.strerror or type(exc).__name__
    return InputError(f"cannot write the reports to {out}: {reason}",
                      hint="pass a folder you can write to with --out")


def prepare_out(out: str | Path, *, trail: str | Path | bool | None = True,
                sign_key: str | Path | None = None) -> Path | None:
    """Check, before the audit runs, that its bundle can be written; return the trail path.

    The folder must be writable, or creatable (it is created only when the bundle is
    written); the audit trail (when one is
    kept) must be intact, entry by entry, because extending a damaged chain would hide
    the damage; the signing key must load. Each failure is an
    :class:`~cxaudit.errors.InputError` (exit 2) and nothing in ``out`` is changed.
    """
    from cxaudit.evidence import trail as trail_module
    from cxaudit.evidence.signing import load_private_key
    from cxaudit.evidence.trail import TRAIL_FILE

    if sign_key:
        load_private_key(sign_key)
    root = Path(out)
    if root.is_symlink() and not root.exists():
        raise InputError(f"--out {root} is a symbolic link to nothing",
                         hint="remove the link or point --out at a folder")
    if root.exists() and not root.is_dir():
        raise InputError(f"--out {root} is a file, not a folder",
                         hint="pass a folder for the reports")
    # Folders created only to prove they can be: removed again, so a run that stops
    # on bad input leaves no empty report folder behind.
    created = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".cxaudit-probe.", suffix=".tmp", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _cannot_write(root, exc) from None
    finally:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
    trail_path = (trail_module.default_trail(root) if trail is True
                  else trail_module.resolve_trail_path(trail) if trail else None)
    if trail_path is None:
        return None
    if root.resolve() in trail_path.resolve().parents and trail_path.name != TRAIL_FILE:
        raise InputError(f"the audit trail {trail_path.name} is inside the report folder "
                         "under another name, so it would count as a report",
                         hint=f"name it {TRAIL_FILE}, or keep it outside the report folder")
    if trail_path.exists() and not trail_path.is_file():
        raise InputError(f"the audit trail {trail_path} is not a regular file",
                         hint="pass a trail file with --trail, or --no-trail")
    if trail_path.is_file():
        try:
            checked = trail_module.verify_trail(trail_path)
        except OSError as exc:
            raise InputError(f"cannot read the audit trail {trail_path.name}: "
                             f"{exc.strerror or exc}") from None
        if not checked.ok:
            raise InputError(f"the audit trail {trail_path.name} is damaged, so the audit was "
                             "not run and no report was written or replaced: "
                             + "; ".join(checked.problems[:3]),
                             hint=f"run `cxaudit log verify {trail_path}` and restore the trail "
                                  "from a backup, or log to another trail with --trail")
    elif any(p.exists() and not p.is_dir() for p in trail_path.parents):
        raise InputError(f"cannot create the audit trail {trail_path}: a file stands where "
                         "a folder should", hint="pass another --trail, or --no-trail")
    return trail_path


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back SIGINT and SIGTERM for the block; deliver them (as KeyboardInterrupt) after.

    Used around the renames that replace a bundle, so Ctrl-C or a CI runner's SIGTERM
    never lands between the reports and their manifest. Outside the main thread (where
    handlers cannot be set) the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            raise KeyboardInterrupt


@contextlib.contextmanager
def folder_lock(root: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the report folder itself: concurrent writers take turns.

    The folder is the lock (no lock file left behind to count as a report).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    try:
        fd = os.open(root, os.O_RDONLY)
    except OSError as exc:
        raise _cannot_write(root, exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _temporary(root: Path, name: str, data: bytes) -> Path:
    from cxaudit.render.files import write_temporary

    return write_temporary(root, name, data)


def render_all(result: Any, formats: list[str], *, templates: Path | None = None
               ) -> dict[str, tuple[str, bytes]]:
    """``{format: (file name, bytes)}`` of every report, rendered in memory."""
    from cxaudit.render import FORMATS, companions, render

    rendered: dict[str, tuple[str, bytes]] = {}
    for fmt in formats:
        text = render(result, fmt, templates=templates)
        rendered[fmt] = (FORMATS[fmt], text.encode("utf-8") if isinstance(text, str) else text)
    for key, (name, text) in companions(result, formats).items():
        rendered[key] = (name, text.encode("utf-8"))
    return rendered


@dataclass(frozen=True)
class Bundle:
    """What :func:`write_bundle` wrote."""

    written: dict[str, Path]
    evidence: Any  # manifest.EvidenceRecord


def write_bundle(out: str | Path, result: Any, formats: list[str], *, inputs: Any = None,
                 sign_key: str | Path | None = None, trail: str | Path | bool | None = True,
                 templates: Path | None = None,
                 rendered: Mapping[str, tuple[str, bytes]] | None = None) -> Bundle:
    """Render and write the reports, the manifest and the trail entry as one bundle.

    Parameters
    ----------
    out
        The report folder (checked by :func:`prepare_out` first; checked again here).
    result
        The audit result.
    formats
        Report formats (``json``, ``md``, ``html``, ``junit``, ``pdf``, ``model-card``).
    inputs, sign_key, trail
        As for :func:`~cxaudit.evidence.manifest.write_evidence`.
    templates
        Custom report templates.
    rendered
        Reports already rendered (``{format: (file name, bytes)}``), else rendered here.
    """
    from cxaudit.evidence import trail as trail_module
    from cxaudit.evidence.manifest import (
        MANIFEST_FILE,
        EvidenceRecord,
        build_manifest,
        manifest_bytes,
        report_files,
    )
    from cxaudit.evidence.signing import SIGNATURE_FILE, describe_public_key, load_private_key, sign
    from cxaudit.evidence.waivers import trail_entries

    root = Path(out)
    trail_path = prepare_out(root, trail=trail, sign_key=sign_key)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(root, exc) from None
    files = dict(rendered) if rendered is not None else render_all(result, formats,
                                                                   templates=templates)
    private_key = load_private_key(sign_key) if sign_key else None
    public = describe_public_key(private_key) if private_key is not None else None
    temporaries: dict[str, Path] = {}
    try:
        with signals_held(), folder_lock(root):
            try:
                for name, data in files.values():
                    temporaries[name] = _temporary(root, name, data)
                new = {name: hashlib.sha256(data).hexdigest() for name, data in files.values()}
                stale = [name for name in REPORT_NAMES
                         if name not in new and (root / name).is_file()]
                reports = {name: digest for name, digest in report_files(root).items()
                           if name not in stale}
                reports.update(new)
                trail_block = None
                if trail_path is not None:
                    inside = trail_path.resolve().parent == root.resolve()
                    trail_block = {"file": trail_path.name if inside else None,
                                   "head": trail_module.head(trail_path, strict=True)}
                manifest = build_manifest(root, result, inputs=inputs, public_key=public,
                                          trail=trail_block, reports=reports)
                data = manifest_bytes(manifest)
                temporaries[MANIFEST_FILE] = _temporary(root, MANIFEST_FILE, data)
                if private_key is not None:
                    temporaries[SIGNATURE_FILE] = _temporary(root, SIGNATURE_FILE,
                                                             sign(private_key, data))
                manifest_sha = hashlib.sha256(data).hexdigest()
                entry = None
                if trail_path is not None:
                    # Logged before the renames: a trail that cannot be written leaves the
                    # previous bundle in place (an entry for a manifest never placed is
                    # harmless; a placed manifest without its entry would fail verify).
                    entry = trail_module.append(trail_path, "audit", {
                        "system": manifest["system"], "verdict": manifest["verdict"],
                        "policy_sha256": manifest["policy"]["sha256"],
                        "report_digest": manifest["report_digest"],
                        "audit_digest": manifest["audit_digest"],
                        "manifest_sha256": manifest_sha,
                        "key_id": public["key_id"] if public else None,
                    })
                    for waiver in trail_entries(result):
                        trail_module.append(trail_path, "waiver", waiver)
                for name, _ in files.values():
                    os.replace(temporaries.pop(name), root / name)
                for name in stale:
                    (root / name).unlink(missing_ok=True)
                if private_key is not None:
                    os.replace(temporaries.pop(SIGNATURE_FILE), root / SIGNATURE_FILE)
                else:
                    (root / SIGNATURE_FILE).unlink(missing_ok=True)
                os.replace(temporaries.pop(MANIFEST_FILE), root / MANIFEST_FILE)
            except OSError as exc:
                raise _cannot_write(root, exc) from None
    finally:
        for path in temporaries.values():
            with contextlib.suppress(OSError):
                path.unlink()
    written = {fmt: root / name for fmt, (name, _) in files.items()}
    written["manifest"] = root / MANIFEST_FILE
    if private_key is not None:
        written["sig"] = root / SIGNATURE_FILE
    record = EvidenceRecord(manifest_path=root / MANIFEST_FILE, manifest_sha256=manifest_sha,
                            report_digest=manifest["report_digest"],
                            signature_path=root / SIGNATURE_FILE if private_key else None,
                            key_id=public["key_id"] if public else None,
                            trail_path=trail_path, trail_entry=entry)
    return Bundle(written=written, evidence=record)
