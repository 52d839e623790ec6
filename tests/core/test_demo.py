"""The demo end to end: real data, real model, real audit, a real finding."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cxaudit.cli import cli


def test_demo_trains_audits_and_finds_the_age_gap(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in ("policy.yaml", "customers.csv", "model.skops", "consent-ledger.csv",
                 "audit.json", "audit.html", "audit.md", "audit.junit.xml"):
        assert (out / name).is_file(), name
    report = json.loads((out / "audit.json").read_text())
    assert report["inputs"]["model"]["sha256"]
    parity = next(c for c in report["checks"] if c["id"] == "selection-rate-parity")
    # Seniors churn more, so the model offers them retention deals far more often.
    senior = next(m for m in parity["metrics"]
                  if m["name"] == "selection_rate" and m["group"] == {"SeniorCitizen": "1"})
    other = next(m for m in parity["metrics"]
                 if m["name"] == "selection_rate" and m["group"] == {"SeniorCitizen": "0"})
    assert senior["value"] > other["value"] / 0.8
    assert parity["status"] == "fail"
    assert f"Open the report: {(out / 'audit.html').resolve()}" in result.output
    # The demo's customer ids never reach the reports.
    ids = (out / "customers.csv").read_text().splitlines()[1].split(",")[0]
    assert ids not in (out / "audit.json").read_text()
