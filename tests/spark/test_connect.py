"""Spark Connect: the whole demo audit through ``SPARK_REMOTE`` agrees with the local engine.

``SPARK_REMOTE=local[2]`` makes pyspark start a real Spark Connect server (the
``spark-connect`` jar shipped with pyspark) and talk to it over gRPC, exactly
as it would to ``sc://host:15002``. The audit runs in its own process: this
test session already holds a classic Spark session, and a process has one kind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from parity_helpers import TIMINGS, _close

pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")


def _cli_audit(demo: dict, out, *, engine: str, env: dict[str, str]) -> dict:
    args = [sys.executable, "-m", "cxaudit", "--quiet", "audit", "--policy", demo["policy"],
            "--data", demo["data"], "--model", demo["model"], "--consent", demo["consent"],
            "--reference", demo["reference"], "--trust-model", "--format", "json",
            "--engine", engine, "--out", str(out)]
    proc = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # pass or fail; never error (3)
    return json.loads((out / "audit.json").read_text(encoding="utf-8"))


def test_demo_audit_over_spark_connect_agrees(demo, tmp_path):
    local = _cli_audit(demo, tmp_path / "local", engine="local", env={})
    remote = _cli_audit(demo, tmp_path / "connect", engine="spark",
                        env={"SPARK_REMOTE": "local[2]", "CXAUDIT_SPARK_MASTER": ""})
    assert remote["run"]["engine"] == "spark"
    assert remote["verdict"] == local["verdict"]
    assert [c["id"] for c in remote["checks"]] == [c["id"] for c in local["checks"]]
    for want, got in zip(local["checks"], remote["checks"], strict=True):
        assert (got["status"], got["summary"]) == (want["status"], want["summary"]), want["id"]
        assert _close(want["metrics"], got["metrics"]), want["id"]
        assert _close(want["details"], got["details"], frozenset(TIMINGS)), want["id"]
    assert any(c["type"].startswith("consent.") and c["status"] == "fail"
               for c in remote["checks"])  # the as-of join ran (and found the demo's problems)
