"""Hostile corpus: ``cxaudit remedies`` (and ``audit --remedies``) on broken or odd inputs.

Bad input is exit 2 naming the file or option; inputs that are merely unhelpful (no
failing check, no bias check, a model without probabilities, a reference the estimator
cannot be refitted on) are exit 0 with the reason in the output: remedies never decide.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from tests.remedies.conftest import PARITY, POLICY, write_case

from .harness import Case, check_case

ARGS = ["remedies", "--policy", "policy.yaml", "--data", "data.csv", "--model", "model.skops"]


def _case(*extra: str, checks: str = PARITY, estimator=None, prepare=None):
    def build(folder: Path) -> list[str]:
        write_case(folder, checks=checks, estimator=estimator)
        if prepare is not None:
            prepare(folder)
        return [*ARGS, *extra]
    return build


def _write(name: str, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


def _fifo(name: str):
    def make(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        os.mkfifo(folder / name)
    return make


def _frame(name: str, change):
    def make(folder: Path) -> None:
        frame = pd.read_csv(folder / name)
        change(frame).to_csv(folder / name, index=False)
    return make


def _svc():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC())


REF = ("--reference", "ref.csv")
NO_BIAS = "  - {id: rows, type: data.duplicates}\n"
LOOSE = "  - {id: parity, type: bias.selection_rate, compare: ratio, threshold: {min: 0.01}}\n"

CASES = [
    # -- the reference data -----------------------------------------------------------------
    Case("reference-missing", _case("--reference", "nope.csv"), out=None,
         mentions=("nope.csv",)),
    Case("reference-empty", _case(*REF, prepare=_write("ref.csv", b"")), out=None,
         mentions=("ref.csv",)),
    Case("reference-garbage", _case(*REF, prepare=_write("ref.csv", bytes(range(256)) * 40)),
         out=None, mentions=("ref.csv",)),
    Case("reference-parquet-garbage", _case("--reference", "ref.parquet",
                                            prepare=_write("ref.parquet", b"PAR1 not really")),
         out=None, mentions=("ref.parquet",)),
    Case("reference-no-label", _case(*REF, prepare=_frame("ref.csv",
                                                          lambda f: f.drop(columns="outcome"))),
         out=None, mentions=("outcome",)),
    Case("reference-no-feature", _case(*REF, prepare=_frame("ref.csv",
                                                            lambda f: f.drop(columns="x2"))),
         out=None, mentions=("x2",)),
    Case("reference-no-protected", _case(*REF, prepare=_frame(
        "ref.csv", lambda f: f.drop(columns="gender"))), out=None, mentions=("gender",)),
    Case("reference-label-unknown-values", _case(*REF, prepare=_frame(
        "ref.csv", lambda f: f.assign(outcome="maybe"))), exit_code=0, may_pass=True, out=None,
         mentions=("label has one value",)),
    Case("reference-a-folder", _case("--reference", "refdir",
                                     prepare=lambda f: (f / "refdir").mkdir()),
         out=None, mentions=("refdir",)),
    Case("reference-fifo", _case(*REF, prepare=_fifo("ref.csv")), out=None,
         subprocess_timeout=90, mentions=("ref.csv",)),
    # -- the audited data, model and policy ----------------------------------------------------
    Case("data-fifo", _case(prepare=_fifo("data.csv")), out=None, subprocess_timeout=90,
         mentions=("data.csv",)),
    Case("data-missing-protected", _case(prepare=_frame("data.csv",
                                                        lambda f: f.drop(columns="gender"))),
         out=None, mentions=("gender",)),
    Case("model-missing", _case(prepare=lambda f: (f / "model.skops").unlink()), out=None,
         mentions=("model.skops",)),
    Case("model-garbage", _case(prepare=_write("model.skops", b"not a zip")), out=None,
         mentions=("model.skops",)),
    Case("policy-garbage", _case(prepare=_write("policy.yaml", b"checks: [unclosed\n")),
         out=None, mentions=("policy.yaml",)),
    Case("policy-missing", _case(prepare=lambda f: (f / "policy.yaml").unlink()), out=None,
         mentions=("policy.yaml",)),
    # -- options -------------------------------------------------------------------------------
    Case("bounds-not-numbers", _case("--retrain-bounds", "a,b"), out=None,
         mentions=("--retrain-bounds",)),
    Case("bounds-zero", _case("--retrain-bounds", "0"), out=None, mentions=("--retrain-bounds",)),
    Case("bounds-too-many", _case("--retrain-bounds", ",".join(f"0.0{i}" for i in range(1, 10))),
         out=None, mentions=("--retrain-bounds",)),
    Case("bounds-nan", _case("--retrain-bounds", "nan"), out=None,
         mentions=("--retrain-bounds",)),
    Case("retrain-rows-tiny", _case("--retrain-rows", "5"), out=None,
         mentions=("--retrain-rows",)),
    Case("retrain-iter-zero", _case("--retrain-max-iter", "0"), out=None,
         mentions=("--retrain-max-iter",)),
    Case("json-into-a-folder", _case("--json", "jdir", prepare=lambda f: (f / "jdir").mkdir()),
         out=None, mentions=("jdir",)),
    Case("out-is-a-file", _case("--out", "o", prepare=_write("o", b"x")), out=None,
         mentions=("o",)),
    # -- unhelpful but valid: exit 0 with the reason ------------------------------------------
    Case("other-checks-needing-other-inputs", _case(checks=PARITY + (
        "  - {id: drift, type: data.drift, columns: [x1]}\n"
        "  - {id: withdrawn, type: consent.withdrawn}\n")), exit_code=0, may_pass=True,
         out=None, mentions=("parity (selection_rate ratio, gender)",)),
    Case("no-failing-check", _case(checks=LOOSE), exit_code=0, may_pass=True, out=None,
         mentions=("nothing to remedy",)),
    Case("policy-without-bias-checks", _case(checks=NO_BIAS), exit_code=0, may_pass=True,
         out=None, mentions=("nothing to remedy",)),
    Case("model-without-predict-proba", _case(*REF, estimator=_svc()), exit_code=0,
         may_pass=True, out=None, mentions=("needs a model with predict_proba",)),
    Case("reference-one-class", _case(*REF, prepare=_frame(
        "ref.csv", lambda f: f.assign(outcome="no"))), exit_code=0, may_pass=True, out=None,
         mentions=("retraining: not offered: the reference data's label has one value",)),
    Case("reference-one-group", _case(*REF, prepare=_frame(
        "ref.csv", lambda f: f.assign(gender="F"))), exit_code=0, may_pass=True, out=None,
         mentions=("retraining",)),
    Case("no-model-no-decisions", lambda folder: [*_case()(folder)[:5]], out=None,
         mentions=("policy.yaml", "parity", "decisions")),
    Case("audit-remedies-bad-reference", lambda folder: [
        "audit", *_case("--reference", "nope.csv")(folder)[1:], "--remedies", "--out", "out"],
         mentions=("nope.csv",)),
]


def test_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


def test_the_policy_template_is_the_remedies_one():
    assert "protected: [gender]" in POLICY
