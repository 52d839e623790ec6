"""JUnit XML: one testcase per check, so CI systems show checks as tests.

A testcase is red exactly when that check stops the gate, so the CI's test
view and the exit code never disagree:

- ``<error>``: a ``block`` check that could not complete (verdict ``error``);
- ``<failure>``: a ``block`` check that failed and carries no waiver;
- ``<skipped>``: an outcome accepted by an approved, unexpired waiver (the
  summary names the waiver and its expiry, so it stays visible);
- ``<system-out>``: every other non-pass outcome (warnings, ``warn``/``info``
  severity failures and errors, insufficient data), shown without failing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cxaudit.result import AuditResult, Severity, Status

#: Characters XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Longest text kept whole in an attribute or element; longer text is cut with its length.
MAX_CHARS = 4000


def xml_text(value: object) -> str:
    """``value`` as text any XML parser accepts: invalid characters become U+FFFD and very
    long strings are cut (saying how long they were). ElementTree escapes ``<&>"``."""
    text = str(value)
    if len(text) > MAX_CHARS:
        text = f"{text[:MAX_CHARS]}…({len(text):,} characters, cut)"
    return _NOT_XML.sub("\ufffd", text)


def render_junit(result: AuditResult) -> str:
    """One ``testsuite`` named after the system; red testcases for what blocks the gate."""
    suite = ET.Element("testsuite",
                       name=xml_text(f"cxaudit: {result.system.get('name', 'audit')}"),
                       tests=str(len(result.checks)))
    failures = errors = skipped = 0
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname=xml_text(check.type),
                             name=xml_text(check.id))
        text = xml_text(check.summary)
        if check.status is Status.ERROR and check.severity is Severity.BLOCK:
            errors += 1
            ET.SubElement(case, "error", message=text, type="error").text = xml_text(
                check.error or text)
        elif check.blocks:
            failures += 1
            ET.SubElement(case, "failure", message=text, type="blocking").text = text
        elif check.waiver is not None and check.status is not Status.PASS:
            skipped += 1
            ET.SubElement(case, "skipped", message=text)  # "WAIVED until ... (waiver): ..."
        elif check.status is not Status.PASS:
            detail = f" ({check.error})" if check.error else ""
            ET.SubElement(case, "system-out").text = xml_text(
                f"[{check.status.value}, severity {check.severity.value}] {text}{detail}")
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
