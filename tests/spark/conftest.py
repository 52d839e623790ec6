"""One Spark session for the whole folder, and an engine fixture over all three engines.

The same test bodies run on the local (pandas), streaming Arrow and Spark
engines; the Spark session is ``local[2]`` with two shuffle partitions, no UI
and no network beyond the loopback driver.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ENGINES = ("local", "arrow", "spark")


def java() -> str | None:
    """The ``java`` pyspark would start (``JAVA_HOME`` first, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def need_java() -> None:
    """Skip with one line naming the missing tool; in CI (``CI`` set) fail: .ci/run installs it."""
    if java() is None:
        if os.environ.get("CI"):
            pytest.fail("Java is missing in CI: .ci/run installs openjdk-17-jre-headless")
        pytest.skip("Java is not installed: the Spark engine tests need it "
                    "(apt-get install openjdk-17-jre-headless)")


@pytest.fixture(autouse=True)
def _java_for_spark(request):
    """Tests that start Spark (the spark session, the spark engine, Spark Connect) need Java."""
    callspec = getattr(request.node, "callspec", None)
    if ("spark" in request.fixturenames or request.node.module.__name__.endswith("test_connect")
            or (callspec is not None and callspec.params.get("engine") == "spark")):
        need_java()


@pytest.fixture(scope="session")
def spark():
    """A ``local[2]`` Spark session shared by every test in tests/spark."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("cxaudit-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.session.timeZone", "UTC")
               # Small data: start fast rather than run fast (C1 JIT only, no codegen, no AQE).
               .config("spark.driver.extraJavaOptions",
                       "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
               .config("spark.sql.codegen.wholeStage", "false")
               .config("spark.sql.adaptive.enabled", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each engine in turn (Spark bound to the shared session)."""
    return make_engine(request.param, request)


def make_engine(name: str, request):
    """The engine called ``name``; Spark uses the session fixture."""
    if name == "spark":
        from cxaudit.engines.spark import SparkEngine

        return SparkEngine(session=request.getfixturevalue("spark"))
    from cxaudit.engines import get_engine

    return get_engine(name)


@pytest.fixture
def small_batches(monkeypatch):
    """Force the Arrow engine to merge many batches (1,000 rows each)."""
    from cxaudit.engines import arrow_stream

    monkeypatch.setattr(arrow_stream, "BATCH_ROWS", 1000)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The shipped demo: telco customers, a trained pipeline, a consent ledger, the demo policy."""
    from cxaudit.demo import build_demo

    files = build_demo(tmp_path_factory.mktemp("demo"))
    # Smaller SHAP sample and bootstrap than the demo's (the engines' parity, not SHAP's
    # precision, is under test here; tests/explain covers SHAP itself).
    text = re.sub(r"(\n    type: explain\.\w+\n)", r"\1    sample_size: 600\n    n_boot: 40\n",
                  files.policy.read_text(encoding="utf-8"))
    files.policy.write_text(text, encoding="utf-8")
    return {"policy": str(files.policy), "data": str(files.data), "model": str(files.model),
            "consent": str(files.consent), "reference": str(files.reference), "trust_model": True}
