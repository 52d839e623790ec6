"""JUnit XML: one testcase per check, so CI systems show checks as tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cxaudit.result import AuditResult, Severity, Status


def render_junit(result: AuditResult) -> str:
    """One ``testsuite`` named after the system; failures for blocking outcomes."""
    suite = ET.Element("testsuite", name=f"cxaudit: {result.system.get('name', 'audit')}",
                       tests=str(len(result.checks)))
    failures = errors = 0
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname=check.type, name=check.id)
        text = check.summary
        if check.status is Status.ERROR:
            errors += 1
            ET.SubElement(case, "error", message=text, type="error").text = check.error or text
        elif check.status is Status.FAIL and check.severity is Severity.BLOCK:
            failures += 1
            ET.SubElement(case, "failure", message=text, type="blocking").text = text
        elif check.status in (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA):
            # Non-blocking outcomes stay visible without failing the CI job.
            ET.SubElement(case, "system-out").text = f"[{check.status.value}] {text}"
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
