"""Every data-quality check documents itself with an example that is a valid policy."""

from __future__ import annotations

import textwrap

from cxaudit.checks.data_quality import CHECKS
from cxaudit.checks.registry import load_registry
from cxaudit.policy.loader import load_policy


def test_every_check_is_registered_and_its_example_loads(write_policy):
    registry = load_registry()
    examples = []
    for cls in CHECKS:
        assert registry.get(cls.type) is cls
        doc = cls.documentation()
        assert "Example::" in doc, cls.type
        examples.append(textwrap.dedent(doc.split("Example::", 1)[1]).strip("\n"))
    policy = load_policy(write_policy("\n".join(examples) + "\n"))
    assert {c.type for c in policy.checks} == {cls.type for cls in CHECKS}
