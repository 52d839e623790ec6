"""Hostile corpus, event logs (issue 21): the ``logs:`` a policy declares and the files they
name, the audit date (``--as-of``, ``as_of``) and the rule metadata (``law:``).

Every case runs ``cxaudit audit`` (or ``policy validate``): exit 2, a message naming the
log, the column or the policy's line, no traceback, no passing report, and personal or
injected values never echoed. Special files run in a subprocess with a timeout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import Case, check_case

SPECIAL = 30.0
MARKUP = "<script>alert('x')</script>"

LOG = ("customer_id,requested_at,honoured_at,shown,personalised\n"
       "C1,2027-01-04T09:00:00Z,2027-01-05T09:00:00Z,ok,true\n"
       "C2,2027-01-05T09:00:00Z,,ok,false\n")

POLICY = """\
cxaudit: 1
system: {name: s, jurisdictions: [US-CA]}
data: {id: customer_id}
logs:
  optouts:
    file: log.csv
    columns: {subject: customer_id, time: requested_at, done: honoured_at, text: shown, flag: personalised}
checks:
  - id: in-time
    type: logs.deadline
    log: optouts
    within_days: 15
    business_days: true
    calendar: US-CA
    rule: 11 CCR § 7221
    law: {jurisdiction: US-CA, confidence: Q}
"""

Files = Callable[[Path], None]


def _write(folder: Path, name: str, content: str | bytes) -> None:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def audit(policy: str = POLICY, log: str | bytes | None = LOG, *extra: str,
          special: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _write(folder, "p.yaml", policy)
        _write(folder, "data.csv", "customer_id,x\nC1,1\nC2,0\n")
        if special is not None:
            special(folder)
        elif log is not None:
            _write(folder, "log.csv", log)
        return ["audit", "--policy", "p.yaml", "--data", "data.csv", "--out", "out",
                "--no-trail", "--as-of", "2027-03-01", *extra]
    return build


def validate(policy: str) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        _write(folder, "p.yaml", policy)
        return ["policy", "validate", "p.yaml"]
    return build


def _log(*rows: str, header: str = "customer_id,requested_at,honoured_at,shown,personalised"
         ) -> str:
    return header + "\n" + "\n".join(rows) + "\n"


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "log.csv")


def _dev_zero(folder: Path) -> None:
    os.symlink("/dev/zero", folder / "log.csv")


def _folder(folder: Path) -> None:
    (folder / "log.csv").mkdir()


def _policy(**swap: str) -> str:
    text = POLICY
    for old, new in swap.items():
        text = text.replace(old.replace("_", " ") if old.startswith("sp_") else old, new)
    return text


CASES = [
    # ---- the log file itself ----
    Case(id="file/missing", build=audit(log=None), mentions=("log.csv",)),
    Case(id="file/empty", build=audit(log=""), mentions=("log.csv",)),
    Case(id="file/header-only", build=audit(log=_log()), mentions=("header but no",)),
    Case(id="file/fifo", build=audit(special=_fifo), mentions=("log.csv",),
         subprocess_timeout=SPECIAL),
    Case(id="file/dev-zero", build=audit(special=_dev_zero), mentions=("log.csv",),
         subprocess_timeout=SPECIAL),
    Case(id="file/a-folder", build=audit(special=_folder), mentions=("log.csv",)),
    Case(id="file/not-utf8", build=audit(log=b"customer_id,requested_at\n\xff\xfe\x00,\x80\n"),
         mentions=("log.csv",)),
    Case(id="file/duplicate-header", build=audit(log=_log(
        "C1,2027-01-04T09:00:00Z,,ok,true",
        header="customer_id,requested_at,honoured_at,shown,shown")), mentions=("shown",)),
    Case(id="file/ragged", build=audit(log=_log("C1,2027-01-04T09:00:00Z,,ok,true,extra,more")),
         mentions=("log.csv",)),
    # ---- columns ----
    Case(id="columns/no-subject", build=audit(log=LOG.replace("customer_id", "client")),
         mentions=("customer_id", "p.yaml:7")),
    Case(id="columns/no-time", build=audit(log=LOG.replace("requested_at", "asked")),
         mentions=("requested_at",)),
    Case(id="columns/empty-subject", build=audit(log=_log(",2027-01-04T09:00:00Z,,ok,true")),
         mentions=("subject column",)),
    Case(id="columns/huge-subject", build=audit(log=_log(
        "C" + "9" * 100_000 + ",2027-01-04T09:00:00Z,,ok,true")), mentions=("512",),
        secrets=("9" * 600,)),
    Case(id="columns/huge-text", build=audit(log=_log(
        "C1,2027-01-04T09:00:00Z,,\"" + "A" * 50_000 + "\",true")),
        mentions=("longer than",), secrets=("A" * 200,)),
    Case(id="columns/flag-not-boolean", build=audit(log=_log(
        "C1,2027-01-04T09:00:00Z,,ok,maybe")), mentions=("personalised", "true/false")),
    # ---- times ----
    Case(id="times/unparseable", build=audit(log=_log("C1,31/02/2027,,ok,true")),
         mentions=("requested_at", "ISO 8601")),
    Case(id="times/garbage-done", build=audit(log=_log("C1,2027-01-04T09:00:00Z,soon,ok,true")),
         mentions=("honoured_at", "ISO 8601")),
    Case(id="times/injected-markup", build=audit(log=_log(f"C1,{MARKUP},,ok,true")),
         mentions=("requested_at",), secrets=(MARKUP, "alert(")),
    Case(id="times/numbers", build=audit(log=_log("C1,1767225600,,ok,true")),
         mentions=("numbers",)),
    Case(id="times/mixed-offsets", build=audit(log=_log(
        "C1,2027-01-04T09:00:00Z,,ok,true", "C2,2027-01-04 09:00,,ok,true")),
        mentions=("mixes",)),
    Case(id="times/naive-without-zone", build=audit(log=_log(
        "C1,2027-01-04 09:00,,ok,true")), mentions=("time zone",)),
    Case(id="times/done-before-request", build=audit(log=_log(
        "C1,2027-01-04T09:00:00Z,2027-01-03T09:00:00Z,ok,true")),
        mentions=("is before",)),
    Case(id="times/empty-request-time", build=audit(log=_log("C1,,,ok,true")),
         mentions=("requested_at", "empty")),
    Case(id="times/dst-gap", build=audit(
        POLICY.replace("    file: log.csv\n", "    file: log.csv\n    timezone: "
                       "America/Los_Angeles\n"),
        _log("C1,2027-03-14 02:30,,ok,true")), mentions=("2027-03-14",)),
    # ---- the policy's logs: block ----
    Case(id="policy/bad-time-zone", build=validate(POLICY.replace(
        "    file: log.csv\n", "    file: log.csv\n    timezone: Mars/Olympus_Mons\n")),
        mentions=("p.yaml:7", "Mars/Olympus_Mons"), out=None),
    Case(id="policy/zone-injected", build=validate(POLICY.replace(
        "    file: log.csv\n", f"    file: log.csv\n    timezone: \"{MARKUP}\"\n")),
        mentions=("p.yaml:7",), out=None),
    Case(id="policy/no-subject-role", build=validate(POLICY.replace(
        "subject: customer_id, ", "")), mentions=("subject",), out=None),
    Case(id="policy/unknown-role", build=validate(POLICY.replace(
        "flag: personalised", "when: personalised")), mentions=("when",), out=None),
    Case(id="policy/file-a-list", build=validate(POLICY.replace(
        "file: log.csv", "file: [log.csv]")), mentions=("file",), out=None),
    Case(id="policy/empty-column-name", build=validate(POLICY.replace(
        "text: shown", "text: ''")), mentions=("text",), out=None),
    Case(id="policy/logs-a-list", build=validate(
        POLICY.split("logs:")[0] + "logs: [log.csv]\nchecks: []\n"), mentions=("logs",),
        out=None),
    Case(id="policy/undeclared-log", build=audit(POLICY.replace("log: optouts",
                                                                "log: refunds")),
         mentions=("refunds",)),
    Case(id="policy/business-days-without-calendar", build=audit(POLICY.replace(
        "    calendar: US-CA\n", "")), mentions=("calendar",)),
    Case(id="policy/unknown-calendar", build=audit(POLICY.replace(
        "calendar: US-CA", "calendar: XQ-ZZ")), mentions=("XQ-ZZ",)),
    Case(id="policy/calendar-injected", build=validate(POLICY.replace(
        "calendar: US-CA", f"calendar: \"{MARKUP}\"")), mentions=("calendar",), out=None),
    Case(id="policy/within-days-huge", build=validate(POLICY.replace(
        "within_days: 15", "within_days: 1e12")), mentions=("within_days",), out=None),
    # ---- dates and rule metadata ----
    Case(id="dates/as-of-not-a-date", build=audit(POLICY, LOG, "--as-of", "2027-13-45"),
         mentions=("--as-of",)),
    Case(id="dates/as-of-injected", build=audit(POLICY, LOG, "--as-of", MARKUP),
         mentions=("--as-of",), secrets=()),
    Case(id="dates/policy-as-of-naive", build=validate(
        POLICY.replace("checks:", "as_of: 2027-01-01T10:00:00\nchecks:")),
        mentions=("as_of", "UTC offset"), out=None),
    Case(id="dates/law-bad-confidence", build=validate(POLICY.replace(
        "confidence: Q", "confidence: maybe")), mentions=("confidence",), out=None),
    Case(id="dates/law-until-before-from", build=validate(POLICY.replace(
        "confidence: Q}", "confidence: Q, applies_from: 2027-01-01, applies_until: "
        "2026-01-01}")), mentions=("applies_until",), out=None),
    Case(id="dates/law-unparseable-date", build=validate(POLICY.replace(
        "confidence: Q}", "confidence: Q, applies_from: 'soon'}")),
        mentions=("applies_from",), out=None),
    Case(id="dates/jurisdiction-injected", build=validate(POLICY.replace(
        "jurisdictions: [US-CA]", f"jurisdictions: [\"{MARKUP}\"]")),
        mentions=("jurisdictions",), out=None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_logs(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


def test_a_valid_log_runs_and_hashes_its_subjects(tmp_path: Path) -> None:
    """The control case: the same policy on a good log audits (one request open past its
    deadline at 1 Mar 2027), and the injected subject never reaches a report."""
    from .harness import run

    log = LOG.replace("C2,", f"\"{MARKUP}\",")
    args = audit(log=log)(tmp_path)
    outcome = run(args, tmp_path)
    assert outcome.exit_code == 1, outcome.text
    for path in (tmp_path / "out").iterdir():
        if path.is_file():
            assert MARKUP not in path.read_text(encoding="utf-8", errors="replace"), path
