"""GX is imported only when a GX-backed check is declared, and never phones home."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cxaudit.resources import demo_dataset

SCRIPT = textwrap.dedent("""
    import sys
    import pandas as pd
    from cxaudit.engines.local import LocalEngine
    from cxaudit.policy.loader import load_policy
    from cxaudit.runner import audit_loaded
    policy = load_policy(sys.argv[1])
    audit_loaded(policy, pd.read_csv(sys.argv[2]), engine=LocalEngine(),
                 reference=pd.read_csv(sys.argv[2]))
    print("great_expectations" in sys.modules)
""")

POLICY = """\
cxaudit: 1
system: {name: t}
data: {id: customerID, label: Churn, positive: "Yes", protected: [gender]}
checks:
  - {id: c, type: data.group_completeness}
  - {id: d, type: data.drift, columns: [tenure]}
  - {id: u, type: data.duplicates}
"""


def test_builtin_checks_do_not_import_gx(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(policy), str(demo_dataset())],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_gx_context_is_ephemeral_without_analytics():
    import os

    from cxaudit.checks.gx_adapter import GxSession

    session = GxSession()
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    assert type(session._context).__name__ == "EphemeralDataContext"
    assert session._context.config.analytics_enabled is False


def test_gx_never_opens_a_connection(monkeypatch):
    import socket

    import pandas as pd

    from cxaudit.checks.gx_adapter import GxSession, build_expectation

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    session = GxSession()
    frame = pd.DataFrame({"a": [1, 2, None]})
    results = session.validate(frame, [("k", build_expectation(
        "expect_column_values_to_not_be_null", {"column": "a"}, key="k"))])
    assert results["k"].result["unexpected_count"] == 1
