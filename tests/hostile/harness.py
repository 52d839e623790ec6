"""The hostile-input corpus harness: one assertion of "fails closed" for every case.

Each corpus file (``test_corpus_*.py``) lists :class:`Case` rows and runs them with
:func:`check_case`. A case builds its inputs in a temporary folder, runs one ``cxaudit``
command, and the harness asserts what the gate owes every broken or hostile input:

- the exit code the case expects (2 for bad input, 1 for a blocking result; never 0
  unless the case says the input is harmless, and never 3, which means a bug);
- the message names the file (and, where the case says so, a line, column or key);
- no traceback on any stream;
- no raw personal data (the case's ``secrets``) in any output or written file;
- ``--out`` holds no report, the previous report untouched, or one complete report
  whose verdict is not ``pass`` and that ``cxaudit verify`` accepts.

Cases that can hang (special files) run in a subprocess with a timeout; the rest run
in-process through Click's runner, which keeps 150+ cases inside CI's budget.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from cxaudit.cli import cli

#: The head of a policy over :func:`telco_rows` (decisions from the ``decision`` column);
#: corpus files append their ``checks:`` (and extra ``data`` keys) to it.
TELCO_POLICY_HEAD = """\
cxaudit: 1
system: {name: churn-offers, intervention: assistive}
data:
  id: customerID
  label: Churn
  positive: "Yes"
  prediction: decision
  protected: [gender, SeniorCitizen]
"""


@functools.lru_cache(maxsize=4)
def telco_rows(n: int = 300) -> str:
    """The first ``n`` rows of the shipped telco table as CSV, with the observed churn label
    copied into a ``decision`` column (decisions from data, no model needed)."""
    import pandas as pd

    from cxaudit.resources import demo_dataset

    frame = pd.read_csv(demo_dataset()).head(n)
    frame["decision"] = frame["Churn"]
    return frame.to_csv(index=False)


#: Build inputs under the folder given and return the command's arguments (without "cxaudit").
Build = Callable[[Path], list[str]]


@dataclass(frozen=True)
class Case:
    """One broken or hostile input and what the gate must do with it."""

    id: str
    build: Build
    exit_code: int = 2
    #: Substrings the message must contain (file names, "line 3", a key, ...).
    mentions: tuple[str, ...] = ()
    #: Strings that must appear in no output and no written file (personal data).
    secrets: tuple[str, ...] = ()
    #: Run in a subprocess with this timeout (seconds) instead of in-process.
    subprocess_timeout: float | None = None
    #: Folder (relative to the case folder) that must hold no report or only a complete
    #: non-pass one; None when the command writes no report.
    out: str | None = "out"
    #: A report may pass (the hostile part is outside what the policy measures).
    may_pass: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + "\n" + self.stderr


def run(args: list[str], cwd: Path, *, timeout: float | None = None,
        env: dict[str, str] | None = None) -> Outcome:
    """Run ``cxaudit ARGS`` in ``cwd``: in-process, or in a subprocess when ``timeout``."""
    if timeout is not None:
        proc = subprocess.run([sys.executable, "-m", "cxaudit", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        return Outcome(proc.returncode, proc.stdout, proc.stderr)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, args, catch_exceptions=True, env=env)
    finally:
        os.chdir(old)
    stderr = result.stderr if result.stderr_bytes is not None else ""
    stdout = result.stdout
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "\nTraceback (escaped exception):\n" + "".join(
            traceback.format_exception(result.exception))
    return Outcome(result.exit_code, stdout, stderr)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


def assert_report_consistent(out: Path, *, may_pass: bool = False) -> None:
    """``out`` holds no report, or a complete one that ``cxaudit verify`` accepts."""
    if not out.is_dir() or not (out / "audit.json").exists():
        assert not (out / "manifest.json").exists() if out.is_dir() else True, \
            "manifest.json without audit.json"
        return
    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    if not may_pass:
        assert audit["verdict"] != "pass", f"{out}/audit.json says pass"
    if (out / "manifest.json").exists():
        verify = run(["verify", str(out)], out.parent)
        assert verify.exit_code == 0, f"verify failed on {out}: {verify.text}"


def check_case(case: Case, tmp_path: Path) -> Outcome:
    """Build ``case`` under ``tmp_path``, run it and assert that the gate failed closed."""
    args = case.build(tmp_path)
    outcome = run(args, tmp_path, timeout=case.subprocess_timeout)
    context = f"case {case.id}: exit {outcome.exit_code}\n{outcome.text[-3000:]}"
    assert outcome.exit_code == case.exit_code, context
    assert outcome.exit_code != 3, context
    if not case.may_pass:
        assert outcome.exit_code != 0, context
    assert "Traceback" not in outcome.text, context
    for needle in case.mentions:
        assert needle in outcome.text, f"{context}\n(expected the message to mention {needle!r})"
    written = []
    if case.out is not None:
        out = tmp_path / case.out
        assert_report_consistent(out, may_pass=case.may_pass)
        written = _files_under(out)
    for secret in case.secrets:
        assert secret not in outcome.text, f"{context}\n(personal data {secret!r} in the output)"
        for path in written:
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), \
                f"case {case.id}: personal data {secret!r} in {path}"
    return outcome
