"""Words, glyphs and tones for statuses, concerns and the verdict.

Status is always written as a word and a glyph (never colour alone). A check's
*tone* combines its status with its severity and waiver, so a blocking failure
and a warning never look alike. Statuses this module does not know (added to
the contract later) are handled by their value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxaudit.result import AuditResult, CheckResult


@dataclass(frozen=True)
class Tone:
    """How one outcome is shown: a CSS key, a word, a glyph and a rank (0 = worst)."""

    key: str
    word: str
    glyph: str
    rank: int


TONES = {
    "error": Tone("error", "Error", "⁈", 0),
    "block": Tone("block", "Blocking failure", "✖", 1),
    "inconclusive-block": Tone("inconc", "Inconclusive (blocks)", "?", 2),
    "warn": Tone("warn", "Warning", "▲", 3),
    "inconclusive": Tone("inconc", "Inconclusive", "?", 4),
    "info": Tone("info", "Noted (info)", "ℹ", 5),
    "waived": Tone("waived", "Waived", "⊘", 6),
    "pass": Tone("pass", "Pass", "✔", 7),
    "not_applicable": Tone("na", "Not applicable", "–", 8),
}
_UNDECIDED = ("inconclusive", "insufficient_data")

#: Concerns in the order the report shows them; check types map by prefix.
CONCERNS = (
    ("data", "Data quality"),
    ("consent", "Consent & privacy"),
    ("fairness", "Fairness"),
    ("explain", "Explainability"),
    ("governance", "Governance"),
)
_PREFIX = {"data": "data", "consent": "consent", "privacy": "consent", "bias": "fairness",
           "explain": "explain", "governance": "governance"}


def concern_of(check_type: str) -> str:
    """``bias.auc`` → ``fairness``; unknown prefixes are governance."""
    return _PREFIX.get(check_type.split(".", 1)[0], "governance")


def generic_tone(status: str) -> Tone:
    """A tone for a status this module does not know, named by its value."""
    return Tone("other", status.replace("_", " ").capitalize(), "•", 4)


def status_tone(status: str | None) -> Tone:
    """The tone of a bare status (a cell of a table), without severity."""
    if not status:
        return Tone("none", "", "", 9)
    if status == "fail":
        return TONES["block"]
    if status in _UNDECIDED:
        return TONES["inconclusive"]
    return TONES.get(status) or generic_tone(status)


def check_tone(check: CheckResult) -> Tone:
    """The tone of one check: status × severity × waiver."""
    status, severity = check.status.value, check.severity.value
    if check.waiver is not None and status not in ("pass", "not_applicable"):
        return TONES["waived"]
    if status == "error":
        return TONES["error"] if severity == "block" else TONES["warn"]
    if status == "fail":
        return TONES["block"] if severity == "block" else TONES[severity]
    if status in _UNDECIDED:
        if check.blocks:
            return TONES["inconclusive-block"]
        return TONES["inconclusive"] if severity != "info" else TONES["info"]
    if status == "warn":
        return TONES["warn"] if severity != "info" else TONES["info"]
    return TONES.get(status) or generic_tone(status)


def counts(result: AuditResult) -> list[dict[str, Any]]:
    """The counter strip: checks, passed, blocking failures, warnings, … (zeros kept)."""
    tones = [check_tone(c) for c in result.checks]

    def n(*keys: str) -> int:
        return sum(1 for t in tones if t.key in keys)

    strip = [("checks", "Checks", len(tones), ""), ("pass", "Passed", n("pass"), "✔"),
             ("block", "Blocking failures", n("block"), "✖"),
             ("warn", "Warnings", n("warn"), "▲"),
             ("inconc", "Inconclusive", n("inconc"), "?"),
             ("error", "Errors", n("error"), "⁈"),
             ("na", "Not applicable", n("na"), "–"),
             ("waived", "Waived", n("waived"), "⊘")]
    if n("info"):
        strip.append(("info", "Noted (info)", n("info"), "ℹ"))
    if n("other"):
        strip.append(("other", "Other", n("other"), "•"))
    return [{"key": k, "label": label, "n": value, "glyph": glyph}
            for k, label, value, glyph in strip]


def verdict_words(result: AuditResult) -> dict[str, str]:
    """The verdict in words with one sentence naming what blocks and why."""
    verdict = result.verdict.value
    checks = result.checks
    waived = [c for c in checks if c.waiver is not None]
    if verdict == "error":
        errs = [c.id for c in checks if c.status.value == "error" and c.severity.value == "block"]
        return {"key": "error", "glyph": "⁈", "word": "Error — the gate fails closed",
                "sentence": f"Blocking check(s) could not be completed ({', '.join(errs) or '—'}), "
                            "so nothing can be released until they run."}
    if verdict == "fail":
        failed = [c.id for c in checks if c.blocks and c.status.value == "fail"]
        undecided = [c.id for c in checks if c.blocks and c.status.value != "fail"]
        parts = []
        if failed:
            parts.append(f"{len(failed)} blocking check(s) failed ({', '.join(failed)})")
        if undecided:
            parts.append(f"{len(undecided)} blocking check(s) were inconclusive "
                         f"({', '.join(undecided)}) and inconclusive blocking checks block")
        by = ("failures and inconclusive checks" if failed and undecided
              else "inconclusive checks" if undecided else "failures")
        return {"key": "fail", "glyph": "✖", "word": f"Blocked by {by}",
                "sentence": "; ".join(parts) + ". Fix them, or waive them with a rationale and "
                            "an approver, before release."}
    if verdict == "warn":
        attention = [c for c in checks if check_tone(c).key in ("warn", "inconc", "other")]
        if not attention and waived:
            return {"key": "waived", "glyph": "⊘", "word": "Pass with waivers",
                    "sentence": f"Nothing blocks; {len(waived)} finding(s) are accepted by "
                                "approved waivers (listed under Sign-off)."}
        return {"key": "warn", "glyph": "▲", "word": "Pass with warnings",
                "sentence": f"Nothing blocks the release; {len(attention)} check(s) need "
                            "attention: " + ", ".join(c.id for c in attention[:8])
                            + ("…" if len(attention) > 8 else "") + "."}
    if waived:
        return {"key": "waived", "glyph": "⊘", "word": "Pass with waivers",
                "sentence": f"Every check passed or is accepted by an approved waiver "
                            f"({len(waived)} waived)."}
    return {"key": "pass", "glyph": "✔", "word": "Pass",
            "sentence": result.verdict_reason[:1].upper() + result.verdict_reason[1:] + "."}
