"""Hostile corpus: the keys of bias.slices, explain.counterfactual_flip and bias.shift_stress.

A broken key is the user's to fix: the audit exits 2 (never 3) and names the policy
(the file and, where the check finds it at audit time, its line); a report, if any, is
never a pass.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from .harness import TELCO_POLICY_HEAD, Case, check_case, telco_rows

POLICY = TELCO_POLICY_HEAD + """\
  features: [tenure, Contract, MonthlyCharges, PaymentMethod, Partner]
checks:
  - id: CHECK
"""


def _audit(check: str, data: str | None = None):
    def build(folder: Path) -> list[str]:
        (folder / "p.yaml").write_text(POLICY.replace("  - id: CHECK\n", check), "utf-8")
        (folder / "d.csv").write_text(data if data is not None else telco_rows(400), "utf-8")
        return ["audit", "--policy", "p.yaml", "--data", "d.csv", "--out", "out"]
    return build


def _slices(extra: str = "") -> str:
    return "  - id: hidden\n    type: bias.slices\n    severity: block\n" + extra


SLICE_CASES = [
    Case("slices-unknown-metric", _audit(_slices("    metric: auc\n")), mentions=("p.yaml", "metric")),
    Case("slices-metric-not-text", _audit(_slices("    metric: [error_rate]\n")),
         mentions=("p.yaml",)),
    Case("slices-three-conditions", _audit(_slices("    conditions: 3\n")), mentions=("p.yaml",)),
    Case("slices-zero-conditions", _audit(_slices("    conditions: 0\n")), mentions=("p.yaml",)),
    Case("slices-support-negative", _audit(_slices("    min_support: -0.1\n")),
         mentions=("p.yaml",)),
    Case("slices-support-whole", _audit(_slices("    min_support: 1.0\n")), mentions=("p.yaml",)),
    Case("slices-support-nan", _audit(_slices("    min_support: .nan\n")), mentions=("p.yaml",)),
    Case("slices-bins-one", _audit(_slices("    bins: 1\n")), mentions=("p.yaml",)),
    Case("slices-bins-huge", _audit(_slices("    bins: 100000\n")), mentions=("p.yaml",)),
    Case("slices-gap-negative", _audit(_slices("    min_gap: -1\n")), mentions=("p.yaml",)),
    Case("slices-alpha-one", _audit(_slices("    alpha: 1\n")), mentions=("p.yaml",)),
    Case("slices-top-zero", _audit(_slices("    top: 0\n")), mentions=("p.yaml",)),
    Case("slices-unknown-key", _audit(_slices("    minimum_gap: 0.1\n")), mentions=("p.yaml",)),
    Case("slices-feature-not-a-column", _audit(_slices("    features: [tenure, postcode]\n")),
         mentions=("p.yaml:", "postcode")),
    Case("slices-features-empty", _audit(_slices("    features: []\n")), mentions=("p.yaml:",)),
    Case("slices-proxy-not-a-column", _audit(_slices("    proxies: {gender: [Nope]}\n")),
         mentions=("p.yaml:", "Nope")),
    Case("slices-proxy-for-unprotected", _audit(_slices("    proxies: {income: [tenure]}\n")),
         mentions=("p.yaml:", "income")),
    Case("slices-many-unknown-columns", _audit(_slices(
        "    features: [" + ", ".join(["tenure"] * 3 + [f"c{i}" for i in range(70)]) + "]\n")),
         mentions=("p.yaml:",)),
    Case("slices-score-metric-without-score", _audit(_slices("    metric: mean_score\n")),
         mentions=("p.yaml:", "mean_score")),
    # Blocking on request: a real gap blocks (exit 1), never a crash
    Case("slices-block-severity-finds-gaps", _audit(_slices("    metric: selection_rate\n"
                                                            "    min_gap: 0.0\n")),
         exit_code=1),
]


@functools.lru_cache(maxsize=1)
def _demo() -> Path:
    import tempfile

    from cxaudit.demo import build_demo

    folder = Path(tempfile.mkdtemp(prefix="cx-demo-"))
    build_demo(folder)
    return folder


def _model_audit(check: str):
    """The demo's model (its own features) and rows: the model predicts."""
    def build(folder: Path) -> list[str]:
        import shutil

        policy = POLICY.replace("  prediction: decision\n", "").replace(
            "  features: [tenure, Contract, MonthlyCharges, PaymentMethod, Partner]\n", "")
        (folder / "p.yaml").write_text(policy.replace("  - id: CHECK\n", check), "utf-8")
        demo = _demo()
        shutil.copy(demo / "customers.csv", folder / "d.csv")
        shutil.copy(demo / "model.skops", folder / "m.skops")
        return ["audit", "--policy", "p.yaml", "--data", "d.csv", "--model", "m.skops",
                "--out", "out"]
    return build


def _flip(extra: str = "") -> str:
    return "  - id: flips\n    type: explain.counterfactual_flip\n" + extra


FLIP_CASES = [
    Case("flip-without-model", _audit(_flip()), mentions=("p.yaml", "model")),
    Case("flip-share-above-one", _audit(_flip("    max_flip_share: 1.5\n")),
         mentions=("p.yaml",)),
    Case("flip-share-negative", _audit(_flip("    max_flip_share: -0.1\n")),
         mentions=("p.yaml",)),
    Case("flip-share-text", _audit(_flip("    max_flip_share: lots\n")), mentions=("p.yaml",)),
    Case("flip-sample-tiny", _audit(_flip("    sample_size: 1\n")), mentions=("p.yaml",)),
    Case("flip-confidence-one", _audit(_flip("    confidence: 1\n")), mentions=("p.yaml",)),
    Case("flip-unknown-attribute", _model_audit(_flip("    attributes: [religion]\n")),
         mentions=("p.yaml:", "religion")),
    Case("flip-proxy-not-a-column", _model_audit(_flip("    proxies: {gender: [postcode]}\n")),
         mentions=("p.yaml:", "postcode")),
    Case("flip-proxy-for-unprotected", _model_audit(_flip("    proxies: {age: [tenure]}\n")),
         mentions=("p.yaml:", "age")),
    Case("flip-proxies-not-a-list", _model_audit(_flip("    proxies: tenure\n")),
         mentions=("p.yaml",)),
    # applicable and failing: a proxy the model leans on flips decisions (blocks: exit 1)
    Case("flip-proxy-flips-block", _model_audit(_flip(
        "    proxies: {SeniorCitizen: [PaymentMethod, Dependents]}\n")), exit_code=1),
    # not applicable is never a pass of the gate's blocking check, and never an error
    Case("flip-not-applicable-exits-0", _model_audit(_flip()), exit_code=0, may_pass=True),
]


def _shift(scenario: str, extra: str = "") -> str:
    return ("  - id: shift\n    type: bias.shift_stress\n    severity: block\n" + extra
            + "    scenarios:\n      - " + scenario + "\n")


OK_SCENARIO = "{name: s, feature: Contract, target: {Month-to-month: 0.5, One year: 0.5}}"
SHIFT_CASES = [
    Case("shift-no-scenarios", _audit("  - id: shift\n    type: bias.shift_stress\n"),
         mentions=("p.yaml",)),
    Case("shift-empty-scenarios", _audit("  - id: shift\n    type: bias.shift_stress\n"
                                         "    scenarios: []\n"), mentions=("p.yaml",)),
    Case("shift-shares-not-summing", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: 0.5, One year: 0.6}}")),
         mentions=("p.yaml", "sum")),
    Case("shift-shares-percent", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: 50, One year: 50}}")),
         mentions=("p.yaml",)),
    Case("shift-share-negative", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: 1.5, One year: -0.5}}")),
         mentions=("p.yaml",)),
    Case("shift-share-nan", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: .nan, One year: 1}}")),
         mentions=("p.yaml",)),
    Case("shift-share-inf", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: .inf}}")), mentions=("p.yaml",)),
    Case("shift-share-text", _audit(_shift(
        "{name: s, feature: Contract, target: {Month-to-month: half}}")), mentions=("p.yaml",)),
    Case("shift-target-empty", _audit(_shift("{name: s, feature: Contract, target: {}}")),
         mentions=("p.yaml",)),
    Case("shift-category-misspelt", _audit(_shift(
        "{name: s, feature: Contract, target: {Month to month: 0.5, One year: 0.5}}")),
         mentions=("p.yaml:", "Month to month")),
    Case("shift-feature-not-a-column", _audit(_shift(
        "{name: s, feature: region, target: {north: 1}}")), mentions=("p.yaml:", "region")),
    Case("shift-edges-unsorted", _audit(_shift(
        "{name: s, feature: tenure, edges: [24, 12], target: [0.3, 0.3, 0.4]}")),
         mentions=("p.yaml", "edges")),
    Case("shift-edges-wrong-count", _audit(_shift(
        "{name: s, feature: tenure, edges: [12], target: [0.3, 0.3, 0.4]}")),
         mentions=("p.yaml",)),
    Case("shift-edges-on-text", _audit(_shift(
        "{name: s, feature: Contract, edges: [12], target: [0.5, 0.5]}")),
         mentions=("p.yaml:", "numbers")),
    Case("shift-edges-nan", _audit(_shift(
        "{name: s, feature: tenure, edges: [.nan], target: [0.5, 0.5]}")), mentions=("p.yaml",)),
    Case("shift-list-without-edges", _audit(_shift(
        "{name: s, feature: tenure, target: [0.5, 0.5]}")), mentions=("p.yaml",)),
    Case("shift-within-unknown", _audit(_shift(
        "{name: s, feature: Contract, within: region, target: {One year: 1}}")),
         mentions=("p.yaml",)),
    Case("shift-scenario-unknown-key", _audit(_shift(
        "{name: s, feature: Contract, target: {One year: 1}, weight: 2}")), mentions=("p.yaml",)),
    Case("shift-unknown-metric", _audit(_shift(OK_SCENARIO, "    metric: auc\n")),
         mentions=("p.yaml",)),
    Case("shift-selection-share-one", _audit(_shift(OK_SCENARIO, "    selection_share: 1\n")),
         mentions=("p.yaml",)),
    Case("shift-selection-without-score", _audit(_shift(OK_SCENARIO,
                                                        "    selection_share: 0.2\n")),
         mentions=("p.yaml:", "score")),
    Case("shift-attribute-not-protected", _audit(_shift(OK_SCENARIO,
                                                        "    attributes: [Contract]\n")),
         mentions=("p.yaml:", "Contract")),
    Case("shift-difference-with-min", _audit(_shift(
        OK_SCENARIO, "    compare: difference\n    threshold: {min: 0.1}\n")),
         mentions=("p.yaml", "max")),
    # valid scenarios under severity block: a failing verdict blocks (exit 1), never a crash
    Case("shift-fails-closed-under-block", _audit(_shift(OK_SCENARIO)), exit_code=1),
]


CASES = SLICE_CASES + FLIP_CASES + SHIFT_CASES


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
