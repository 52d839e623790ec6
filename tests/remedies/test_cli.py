"""``cxaudit remedies`` and ``cxaudit audit --remedies``: exit codes, JSON, figures, the report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from click.testing import CliRunner
from fairlearn.metrics import MetricFrame, selection_rate
from sklearn.metrics import accuracy_score

from cxaudit.cli import cli

from .conftest import write_case


def _run(folder: Path, *args: str):
    old = Path.cwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


BASE = ("remedies", "--policy", "policy.yaml", "--data", "data.csv", "--model", "model.skops")


def test_remedies_json_figures_match_fairlearn_on_raw_rows(case):
    result = _run(case, *BASE, "--reference", "ref.csv", "--json", "r.json", "--out", "o")
    assert result.exit_code == 0, result.output
    assert "never applied automatically" in result.output
    found = json.loads((case / "r.json").read_text("utf-8"))
    assert found == json.loads((case / "o" / "remedies.json").read_text("utf-8"))
    assert set(found) >= {"note", "legal_warning", "remedies", "skipped", "retraining_fits"}
    (item,) = found["remedies"]
    assert (item["check"], item["attribute"], item["metric"]) == ("parity", "gender",
                                                                  "selection_rate")
    data = pd.read_csv(case / "data.csv")
    model = sio.load(case / "model.skops", trusted=sio.get_untrusted_types(
        file=case / "model.skops"))
    p = model.predict_proba(data[["x1", "x2"]])[:, list(model.classes_).index("yes")]
    y = (data["outcome"] == "yes").to_numpy(int)
    now = (p >= 0.5).astype(int)
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=now,
                        sensitive_features=data["gender"]).by_group
    retraining = item["retraining"]
    assert retraining["offered"] and retraining["constraint"] == "DemographicParity"
    assert retraining["current_model"]["worst"] == pytest.approx(rates.min() / rates.max())
    assert retraining["current_model"]["accuracy"] == pytest.approx(accuracy_score(y, now))
    assert [pt["difference_bound"] for pt in retraining["points"]] == [0.01, 0.05, 0.2]
    assert retraining["rows_used"] == 1500 and not retraining["sampled"]
    for point in retraining["points"]:
        assert 0 <= point["deterministic"]["accuracy_ci"][0] <= point["deterministic"][
            "accuracy"] <= point["deterministic"]["accuracy_ci"][1] <= 1
    blind = item["group_blind"]
    chosen = (p >= blind["threshold"]).astype(int)
    rates = MetricFrame(metrics=selection_rate, y_true=y, y_pred=chosen,
                        sensitive_features=data["gender"]).by_group
    assert rates.min() / rates.max() >= 0.8
    assert "2000e" not in found["legal_warning"]["text"]  # a churn model: general caution


def test_remedies_are_deterministic(case):
    args = (*BASE, "--reference", "ref.csv", "--retrain-bounds", "0.05", "--json")
    _run(case, *args, "a.json")
    _run(case, *args, "b.json")
    strip = [lambda d: [p.pop("seconds") for f in d["retraining_fits"] for p in f["points"]]]
    a, b = (json.loads((case / n).read_text("utf-8")) for n in ("a.json", "b.json"))
    for d in (a, b):
        strip[0](d)
    assert a == b


def test_without_reference_retraining_is_not_offered_with_the_reason(case):
    result = _run(case, *BASE, "--json", "r.json")
    assert result.exit_code == 0
    (item,) = json.loads((case / "r.json").read_text("utf-8"))["remedies"]
    assert not item["retraining"]["offered"]
    assert "--reference" in item["retraining"]["reason"]


def test_estimator_without_sample_weight_is_not_retrained(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = write_case(tmp_path, estimator=make_pipeline(StandardScaler(),
                                                          KNeighborsClassifier(25)))
    result = _run(folder, *BASE, "--reference", "ref.csv", "--json", "r.json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads((folder / "r.json").read_text("utf-8"))["remedies"]
    assert "sample_weight" in item["retraining"]["reason"]


def test_no_failing_check_is_nothing_to_remedy(tmp_path):
    folder = write_case(tmp_path, checks=(
        "  - {id: parity, type: bias.selection_rate, compare: ratio, threshold: {min: 0.01}}\n"))
    result = _run(folder, *BASE, "--json", "r.json")
    assert result.exit_code == 0
    assert "nothing to remedy" in result.output
    assert json.loads((folder / "r.json").read_text("utf-8"))["remedies"] == []


def test_audit_remedies_section_leaves_the_audit_digest_alone(case):
    common = ("audit", "--policy", "policy.yaml", "--data", "data.csv", "--model", "model.skops",
              "--reference", "ref.csv", "--no-trail")
    plain = _run(case, *common, "--out", "plain")
    fixed = _run(case, *common, "--out", "fixed", "--remedies")
    assert plain.exit_code == fixed.exit_code == 1
    manifests = [json.loads((case / d / "manifest.json").read_text("utf-8"))
                 for d in ("plain", "fixed")]
    assert manifests[0]["audit_digest"] == manifests[1]["audit_digest"]
    assert "remedies" not in json.loads((case / "fixed" / "audit.json").read_text("utf-8"))
    stored = json.loads((case / "fixed" / "remedies.json").read_text("utf-8"))
    assert stored["audit_digest"] == manifests[1]["audit_digest"]
    html = (case / "fixed" / "audit.html").read_text("utf-8")
    assert "What would fix it" in html and "never applied automatically" in html
    assert "What would fix it" not in (case / "plain" / "audit.html").read_text("utf-8")
    assert "What would fix it" in (case / "fixed" / "audit.md").read_text("utf-8")
    assert _run(case, "verify", "fixed").exit_code == 0
    # a later plain audit into the same folder removes the stale remedies.json
    assert _run(case, *common, "--out", "fixed").exit_code == 1
    assert not (case / "fixed" / "remedies.json").exists()
    assert np.isfinite(stored["remedies"][0]["group_blind"]["threshold"])


def test_each_failing_attribute_is_retrained_on_its_own_groups(tmp_path):
    folder = write_case(tmp_path)
    for name in ("data.csv", "ref.csv"):
        frame = pd.read_csv(folder / name)
        frame["band"] = np.where(frame["x2"] > 0, "hi", "lo")
        frame.to_csv(folder / name, index=False)
    policy = (folder / "policy.yaml").read_text("utf-8")
    (folder / "policy.yaml").write_text(policy.replace("protected: [gender]",
                                                       "protected: [gender, band]"), "utf-8")
    result = _run(folder, *BASE, "--reference", "ref.csv", "--retrain-bounds", "0.05",
                  "--json", "r.json")
    assert result.exit_code == 0, result.output
    items = json.loads((folder / "r.json").read_text("utf-8"))["remedies"]
    assert {i["attribute"] for i in items} == {"gender", "band"}
    for item in items:
        assert item["retraining"]["fitted_on"] == item["attribute"]
