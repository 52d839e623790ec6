"""docs/packs.md pins every pack's version, and every check's citation, place, dates and
confidence mark: a pack that changes one of them without its documentation fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxaudit.policy.packs import load_pack
from cxaudit.resources import builtin_packs

DOC = Path(__file__).resolve().parents[2] / "docs" / "packs.md"


def pack_rows(name: str) -> list[str]:
    """The rows of docs/packs.md's "Citations and dates" table for pack ``name``."""
    rows = []
    for check in load_pack(name).checks:
        law = check.law
        if law.basis != "law":
            where, dates, mark = "any (good practice)", "–", "–"
        else:
            where = law.jurisdiction
            dates = ", ".join(f"{word} {value.isoformat()}" for word, value in (
                ("from", law.applies_from), ("due", law.compliance_deadline),
                ("until", law.applies_until)) if value) or "in force"
            mark = f"[{law.confidence}]"
        rule = (check.rule or "").replace("|", "\\|")
        rows.append(f"| `{name}` {law.pack_version} | `{check.id}` | {rule} | {where} | "
                    f"{dates} | {mark} |")
    return rows


@pytest.mark.parametrize("name", sorted(builtin_packs()))
def test_docs_pin_every_citation_and_date(name):
    text = DOC.read_text(encoding="utf-8")
    for row in pack_rows(name):
        assert row in text, f"docs/packs.md lacks (or differs from) the row\n{row}"


def test_docs_list_no_check_that_is_gone():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Citations and dates"):].split("\n## ")[0]
    expected = {row for name in builtin_packs() for row in pack_rows(name)}
    listed = {line for line in table.splitlines() if line.startswith("| `")}
    assert listed == expected, sorted(listed ^ expected)
