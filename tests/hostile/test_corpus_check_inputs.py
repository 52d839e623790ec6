"""Hostile corpus: files a check reads itself (reference shares, expectation suites).

They are inputs like the policy or the data: a broken one is the user's to fix, so
the audit exits 2 (never 3, which means a bug in cxaudit), names the policy line that
points at the file, and the report it writes says ``error`` — never a pass.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .harness import TELCO_POLICY_HEAD, Case, check_case, telco_rows

POLICY = TELCO_POLICY_HEAD + """\
checks:
  - id: CHECK
"""


def _audit(check: str, make=None):
    def build(folder: Path) -> list[str]:
        (folder / "p.yaml").write_text(POLICY.replace("  - id: CHECK\n", check), "utf-8")
        (folder / "d.csv").write_text(telco_rows(), "utf-8")
        if make is not None:
            make(folder)
        return ["audit", "--policy", "p.yaml", "--data", "d.csv", "--out", "out"]
    return build


def _shares(target: str) -> str:
    return ("  - id: gender-mix\n    type: data.representation\n    attribute: gender\n"
            f"    shares_file: {target}\n    severity: block\n")


def _suite(target: str) -> str:
    return f"  - id: profile\n    type: data.suite\n    suite: {target}\n    severity: block\n"


def _fifo(name: str):
    return lambda folder: os.mkfifo(folder / name)


def _text(name: str, content: str | bytes):
    def make(folder: Path) -> None:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return make


def _link(name: str, target: str):
    return lambda folder: os.symlink(target, folder / name)


CASES = [
    Case("shares-file-missing", _audit(_shares("shares.csv")), mentions=("p.yaml:", "shares")),
    Case("shares-file-fifo", _audit(_shares("shares.csv"), _fifo("shares.csv")),
         mentions=("p.yaml:",), subprocess_timeout=60),
    Case("shares-file-dev-zero", _audit(_shares("shares.csv"), _link("shares.csv", "/dev/zero")),
         mentions=("p.yaml:",), subprocess_timeout=60),
    Case("shares-file-directory", _audit(_shares("shares"), lambda f: (f / "shares").mkdir()),
         mentions=("p.yaml:",)),
    Case("shares-file-binary", _audit(_shares("s.csv"), _text("s.csv", b"\x00\xff\xfe" * 50)),
         mentions=("p.yaml:",)),
    Case("shares-file-wrong-columns", _audit(_shares("s.csv"), _text("s.csv", "a,b\nx,1\n")),
         mentions=("p.yaml:",)),
    Case("shares-file-not-numbers", _audit(_shares("s.csv"),
                                           _text("s.csv", "group,share\nMale,half\n")),
         mentions=("p.yaml:",)),
    Case("shares-file-markup", _audit(_shares("s.csv"), _text(
        "s.csv", "group,share\n<script>alert(1)</script>,nan\n")), mentions=("p.yaml:",)),
    Case("shares-file-nan", _audit(_shares("s.csv"), _text("s.csv", "group,share\nMale,nan\n")),
         mentions=("p.yaml:", "s.csv:2")),
    Case("shares-file-group-twice", _audit(_shares("s.csv"), _text(
        "s.csv", "group,share\nMale,0.5\nMale,0.5\n")), mentions=("p.yaml:", "s.csv:3")),
    Case("shares-file-empty", _audit(_shares("s.csv"), _text("s.csv", "")),
         mentions=("p.yaml:",)),
    Case("suite-file-missing", _audit(_suite("./suite.yaml")), mentions=("p.yaml:", "suite")),
    Case("suite-file-not-yaml", _audit(_suite("./suite.yaml"),
                                       _text("suite.yaml", "{{{{ not yaml")),
         mentions=("p.yaml:", "suite")),
    Case("suite-file-list", _audit(_suite("./suite.yaml"), _text("suite.yaml", "- a\n- b\n")),
         mentions=("p.yaml:", "suite")),
    Case("suite-file-fifo", _audit(_suite("./suite.yaml"), _fifo("suite.yaml")),
         mentions=("suite",), subprocess_timeout=60),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_input_fails_closed(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
