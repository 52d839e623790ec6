"""Evidence that an audit happened as reported, and who accepted what.

- :mod:`~cxaudit.evidence.manifest`: SHA-256 of every input and report file,
  package versions and seeds, written as ``manifest.json`` beside the reports;
- :mod:`~cxaudit.evidence.signing`: Ed25519 signatures over the manifest;
- :mod:`~cxaudit.evidence.verify`: re-check a bundle (``cxaudit verify``);
- :mod:`~cxaudit.evidence.trail`: the append-only, hash-chained audit trail;
- :mod:`~cxaudit.evidence.approvals`: sign-offs bound to the report digest;
- :mod:`~cxaudit.evidence.waivers`: expiring, approved waivers of findings.

Only the standard library, pydantic and (for signing) ``cryptography`` are
imported here, so ``cxaudit verify`` and ``cxaudit log`` start fast.
"""

from __future__ import annotations

from cxaudit.errors import EXIT_BLOCKED, CxauditError


class EvidenceError(CxauditError):
    """Evidence does not match what it claims (a changed file, a broken chain). Exit code 1."""

    exit_code = EXIT_BLOCKED


__all__ = ["EvidenceError"]
