"""docs/judgment.md's direction table is the code's (issue 16: a test pins the table)."""

from __future__ import annotations

import re
from pathlib import Path

from cxaudit.checks.bias import CHECKS
from cxaudit.checks.bias.metrics import OTHER_DIRECTIONS, direction_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "judgment.md"


def _doc_table() -> dict[str, dict[str, str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| (\w+) \| (higher|lower) \| (higher|lower) \| .+ \|$", line)
        if m:
            rows[m[1]] = {"assistive": m[2], "punitive": m[3]}
    return rows


def test_the_docs_table_is_the_code():
    assert _doc_table() == direction_table()


def test_every_bias_metric_is_in_the_table():
    table = direction_table()
    for cls in CHECKS:
        name = cls.type.removeprefix("bias.")
        if name in ("auto", "calibration"):
            continue  # auto picks one of the table's metrics; calibration is calibration_error
        assert name in table, name
    assert "calibration_error" in table and set(OTHER_DIRECTIONS) <= set(table)
