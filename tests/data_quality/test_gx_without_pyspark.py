"""The console script's audit skips what its dependencies import for nothing: GX and shap
import pyspark (unless the audit runs on Spark: --engine, else the policy's engine:), and
skops, through scikit-learn, pytest. Both stay importable; other processes are unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cxaudit.policy.loader import declared_engine

MECHANISM = textwrap.dedent("""
    import sys
    from cxaudit.checks import gx_adapter
    from cxaudit.explain import explainers
    from cxaudit.lean import skip_on_import
    skip_on_import("pyspark")
    gx_adapter.gx()
    explainers.import_shap()
    print("pyspark" in sys.modules)
    import pyspark  # still importable for anything else
    print("pyspark" in sys.modules)
""")

DECISION = textwrap.dedent("""
    import sys
    import cxaudit.cli
    from cxaudit.cli.audit import _lean_imports
    from cxaudit.lean import SKIPPED
    cxaudit.cli.CONSOLE = sys.argv[3] == "console"
    _lean_imports(sys.argv[1], sys.argv[2] or None)
    print("pyspark" in SKIPPED, "pytest" in SKIPPED)
""")

POLICY = "cxaudit: 1\n{engine}system: {{name: t}}\ndata: {{label: y}}\nchecks: []\n"


def test_gx_and_shap_import_without_pyspark_which_stays_importable():
    pytest.importorskip("pyspark")
    out = subprocess.run([sys.executable, "-c", MECHANISM], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.split() == ["False", "True"]


def test_declared_engine_follows_extends(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(POLICY.format(engine="engine: spark\n"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("cxaudit: 1\nextends: [base.yaml]\nchecks: []\n", encoding="utf-8")
    plain = tmp_path / "plain.yaml"
    plain.write_text(POLICY.format(engine=""), encoding="utf-8")
    assert declared_engine(child) == "spark"
    assert declared_engine(plain) is None
    assert declared_engine(tmp_path / "missing.yaml") is None


@pytest.mark.parametrize(("engine_line", "option", "process", "skipped"), [
    ("", "", "console", True),
    ("engine: arrow\n", "", "console", True),
    ("engine: spark\n", "", "console", False),
    ("", "spark", "console", False),
    ("engine: spark\n", "local", "console", True),
    ("", "", "caller", False),  # e.g. Click's test runner: other audits may follow
])
def test_only_the_console_script_skips_and_never_for_spark(tmp_path, engine_line, option,
                                                           process, skipped):
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY.format(engine=engine_line), encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", DECISION, str(policy), option, process],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == [str(skipped), str(process == "console")]


SKOPS = textwrap.dedent("""
    import sys
    from pathlib import Path
    import skops.io
    from sklearn.linear_model import LogisticRegression
    skops.io.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), sys.argv[1])
""")
LOAD = textwrap.dedent("""
    import sys
    from cxaudit.lean import skip_on_import
    from cxaudit.loaders import model
    skip_on_import("pytest")
    loaded = model.load_model(sys.argv[1])
    print("pytest" in sys.modules, type(loaded.estimator).__name__)
    import pytest  # still importable
""")


def test_skops_loads_without_pytest_with_the_same_trusted_types(tmp_path):
    path = tmp_path / "m.skops"
    subprocess.run([sys.executable, "-c", SKOPS, str(path)], check=True, timeout=120)
    out = subprocess.run([sys.executable, "-c", LOAD, str(path)], capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "LogisticRegression"]
