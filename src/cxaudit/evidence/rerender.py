"""Re-render a verified report bundle with its sign-off block, after ``cxaudit approve``.

Approvals bind the audit (``audit.json`` outside ``run``), not the rendered files, so
the human-readable reports can be rendered again once someone signs, and the bundle
stays verifiable:

1. the bundle must verify as it is (``approve`` already checked it);
2. the HTML, Markdown and PDF reports present are rendered again from ``audit.json``
   (never rewritten) with the sign-off block filled from ``approvals.jsonl``;
3. a new manifest lists the new report hashes and keeps every other field;
4. a ``render`` entry in the audit trail anchors the new manifest (its SHA-256, the
   one it replaces and the audit digest), logged before anything is renamed;
5. the reports, then the manifest, are renamed into place under the folder lock with
   Ctrl-C and SIGTERM held.

A bundle whose manifest is signed (``manifest.sig``) is left as it is: re-signing
needs the audit's signing key, which an approver does not hold. So is a bundle whose
trail lives outside the folder (its entry could not be checked from the folder alone).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: Reports that show the sign-off block; the others (audit.json, JUnit) never change.
SIGNOFF_REPORTS = (("html", "audit.html"), ("md", "audit.md"), ("pdf", "audit.pdf"))


def rerender_with_signoff(report_dir: str | Path) -> tuple[list[str], str | None]:
    """Re-render the reports of ``report_dir`` with their sign-off block.

    Returns
    -------
    (names, reason)
        The report files rewritten, and why nothing was rewritten (None when done).
    """
    from cxaudit.evidence import trail as trail_module
    from cxaudit.evidence.bundle import _temporary, folder_lock, signals_held
    from cxaudit.evidence.manifest import MANIFEST_FILE, digest_of, manifest_bytes
    from cxaudit.evidence.signing import SIGNATURE_FILE
    from cxaudit.render import render
    from cxaudit.result import AuditResult

    root = Path(report_dir)
    if (root / SIGNATURE_FILE).exists():
        return [], "the manifest is signed, and re-signing needs the audit's key"
    manifest: dict[str, Any] = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    trail_block = manifest.get("trail") or None
    if trail_block is not None and trail_block.get("file") != trail_module.TRAIL_FILE:
        return [], "the audit trail is kept outside the report folder"
    listed = dict(manifest.get("reports") or {})
    targets = [(fmt, name) for fmt, name in SIGNOFF_REPORTS if name in listed]
    if not targets:
        return [], "the bundle holds no HTML, Markdown or PDF report"
    result = AuditResult.from_json((root / "audit.json").read_text(encoding="utf-8"))
    files = {}
    for fmt, name in targets:
        text = render(result, fmt, report_dir=root)
        files[name] = text.encode("utf-8") if isinstance(text, str) else text
    temporaries: dict[str, Path] = {}
    try:
        with signals_held(), folder_lock(root):
            previous = hashlib.sha256((root / MANIFEST_FILE).read_bytes()).hexdigest()
            for name, data in files.items():
                temporaries[name] = _temporary(root, name, data)
                listed[name] = hashlib.sha256(data).hexdigest()
            manifest["reports"] = dict(sorted(listed.items()))
            manifest["report_digest"] = digest_of(manifest["reports"])
            data = manifest_bytes(manifest)
            temporaries[MANIFEST_FILE] = _temporary(root, MANIFEST_FILE, data)
            if trail_block is not None:
                trail_module.append(root / trail_module.TRAIL_FILE, "render", {
                    "system": manifest.get("system"), "verdict": manifest.get("verdict"),
                    "audit_digest": manifest.get("audit_digest"),
                    "report_digest": manifest["report_digest"],
                    "manifest_sha256": hashlib.sha256(data).hexdigest(),
                    "replaces_manifest_sha256": previous,
                })
            for name in files:
                os.replace(temporaries.pop(name), root / name)
            os.replace(temporaries.pop(MANIFEST_FILE), root / MANIFEST_FILE)
    finally:
        for path in temporaries.values():
            with contextlib.suppress(OSError):
                path.unlink()
    return [name for _, name in targets], None
