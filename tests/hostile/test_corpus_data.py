"""The data half of the hostile-input corpus (issue 15): data files, decisions, labels,
duplicate columns, consent ledgers, models and reference data, through ``cxaudit audit``.

Every case starts from a small valid audit derived from the telco fixture (400 rows, a
decision column whose rate is equal across groups, a score column, fake customer names
and emails) that passes, then breaks one thing. The harness asserts the exit code, the
message's location, no traceback, no personal data anywhere and never ``pass``.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .harness import Case, check_case, run

NAMES = ("Zelda Quixote", "Bartholomew Ampersand", "Ottilie Vanderbraak")
EMAILS = ("zelda.quixote@example.com", "b.ampersand@example.org")
SECRETS = (*NAMES, *EMAILS)

BASE_DATA = """\
  id: customerID
  label: Churn
  positive: "Yes"
  protected: [gender, SeniorCitizen]
"""
CHECKS = """\
checks:
  - {id: parity, type: bias.selection_rate, threshold: {min: 0.8}, severity: block}
"""


def policy_text(data: str = "  prediction: decision\n", base: str = BASE_DATA,
                checks: str = CHECKS) -> str:
    return ("cxaudit: 1\nsystem: {name: churn-offers, intervention: assistive}\ndata:\n"
            + base + data + checks)


_FRAME: pd.DataFrame | None = None


def base_frame() -> pd.DataFrame:
    """400 telco rows plus a balanced decision, a score, names and emails (copy)."""
    global _FRAME
    if _FRAME is None:
        from cxaudit.resources import demo_dataset

        frame = pd.read_csv(demo_dataset(), dtype={"customerID": str}).head(400).copy()
        index = np.arange(len(frame))
        frame["decision"] = np.where(index % 2 == 0, "Yes", "No")
        frame["score"] = np.where(index % 2 == 0, 0.75, 0.25)
        frame["full_name"] = [NAMES[i % 3] + f" {i}" if i >= 3 else NAMES[i] for i in index]
        frame["email"] = [EMAILS[i % 2] if i < 2 else f"user{i}@example.net" for i in index]
        _FRAME = frame
    return _FRAME.copy()


Mutate = Callable[[pd.DataFrame], pd.DataFrame]


def audit_args(tmp: Path, data: str, *extra: str, policy: str | None = None) -> list[str]:
    (tmp / "policy.yaml").write_text(policy or policy_text(), encoding="utf-8")
    return ["audit", "--policy", "policy.yaml", "--data", data, "--out", "out",
            "--format", "json", "--no-trail", *extra]


def csv_case(mutate: Mutate | None = None, *, policy: str | None = None,
             extra: tuple[str, ...] = (), name: str = "customers.csv") -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        frame = base_frame()
        if mutate is not None:
            frame = mutate(frame)
        frame.to_csv(tmp / name, index=False)
        return audit_args(tmp, name, *extra, policy=policy)

    return build


def parquet_case(mutate: Mutate | None = None, *, policy: str | None = None,
                 extra: tuple[str, ...] = ()) -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        frame = base_frame()
        if mutate is not None:
            frame = mutate(frame)
        frame.to_parquet(tmp / "customers.parquet", index=False)
        return audit_args(tmp, "customers.parquet", *extra, policy=policy)

    return build


def bytes_case(content: bytes | Callable[[], bytes], *, name: str = "customers.csv",
               policy: str | None = None) -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(content() if callable(content) else content)
        return audit_args(tmp, name, policy=policy)

    return build


def base_csv_bytes(**to_csv) -> bytes:
    return base_frame().to_csv(index=False, **to_csv).encode("utf-8")


def setcol(column: str, values) -> Mutate:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = values(frame) if callable(values) else values
        return frame

    return mutate


def set_rows(column: str, rows: list[int], value) -> Mutate:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        for row in rows:
            frame.loc[row, column] = value
        return frame

    return mutate


SCORE = "  score: score\n  decision_threshold: 0.5\n"


def score_policy(extra: str = "") -> str:
    return policy_text(SCORE + extra)


# -- decisions that are not decisions ---------------------------------------------------------
DECISIONS = [
    Case("score-text", csv_case(setcol("score", lambda f: np.where(f.index % 2 == 0, "high",
                                                                   "low")),
                                policy=score_policy()),
         mentions=("score", "400")),
    Case("score-some-text", csv_case(set_rows("score", [4, 9, 30], "pending"),
                                     policy=score_policy()),
         mentions=("'score'", "3 row", "lines 6, 11, 32", "not a finite number", "'pending'")),
    Case("score-na-markers", csv_case(set_rows("score", [4, 9, 30], "n/a"), policy=score_policy()),
         mentions=("'score'", "3 row", "lines 6, 11, 32", "no score")),
    Case("score-text-arrow", csv_case(set_rows("score", [4, 9, 30], "pending"),
                                      policy=score_policy(), extra=("--engine", "arrow")),
         mentions=("'score'", "3 row", "lines 6, 11, 32")),
    Case("score-tolerated-arrow", csv_case(set_rows("score", [4, 9], "pending"),
                                           policy=score_policy("  max_invalid_decisions: 2\n"),
                                           extra=("--engine", "arrow")),
         exit_code=0, may_pass=True),
    Case("score-empty-cells", csv_case(set_rows("score", [0, 1], None), policy=score_policy()),
         mentions=("'score'", "2 row", "lines 2, 3")),
    Case("score-inf", csv_case(set_rows("score", [7], "inf"), policy=score_policy()),
         mentions=("'score'", "line 9")),
    Case("score-above-one", csv_case(set_rows("score", [3], 1.7), policy=score_policy()),
         mentions=("'score'", "line 5", "[0, 1]")),
    Case("score-negative", csv_case(set_rows("score", [3], -0.2), policy=score_policy()),
         mentions=("'score'", "line 5")),
    Case("score-credit-range-ok",
         csv_case(setcol("score", lambda f: np.where(f.index % 2 == 0, 720, 580)),
                  policy=policy_text("  score: score\n  score_range: [300, 850]\n"
                                     "  decision_threshold: 650\n")),
         exit_code=0, may_pass=True),
    Case("score-credit-outside-range",
         csv_case(lambda f: set_rows("score", [11], 905)(setcol(
             "score", lambda g: np.where(g.index % 2 == 0, 720, 580))(f)),
                  policy=policy_text("  score: score\n  score_range: [300, 850]\n"
                                     "  decision_threshold: 650\n")),
         mentions=("'score'", "line 13", "300", "850")),
    Case("score-credit-no-range",
         csv_case(setcol("score", lambda f: np.where(f.index % 2 == 0, 720, 580)),
                  policy=policy_text("  score: score\n  decision_threshold: 0.5\n")),
         mentions=("'score'", "score_range")),
    Case("score-tolerated", csv_case(set_rows("score", [4, 9], "n/a"),
                                     policy=score_policy("  max_invalid_decisions: 2\n")),
         exit_code=0, may_pass=True),
    Case("score-over-tolerance", csv_case(set_rows("score", [4, 9, 30], "n/a"),
                                          policy=score_policy("  max_invalid_decisions: 2\n")),
         mentions=("3 row", "max_invalid_decisions")),
    Case("score-holds-emails", csv_case(setcol("score", lambda f: f["email"]),
                                        policy=score_policy()),
         mentions=("'score'",), secrets=SECRETS),
    Case("prediction-third-value", csv_case(set_rows("decision", [5, 6], "Maybe")),
         mentions=("'decision'", "3 distinct", "positive")),
    Case("prediction-numeric-vs-yes", csv_case(setcol(
        "decision", lambda f: np.where(f.index % 2 == 0, 1, 0))),
         mentions=("'decision'", "'Yes'")),
    Case("prediction-holds-names", csv_case(setcol("decision", lambda f: f["full_name"])),
         mentions=("'decision'",), secrets=SECRETS),
    # Everyone selected is a legitimate (if odd) decision set: equal rates, the check passes.
    Case("prediction-all-one-value-ok", csv_case(setcol("decision", "Yes")),
         exit_code=0, may_pass=True),
    Case("prediction-empty-cells", csv_case(set_rows("decision", [0, 5], None)),
         mentions=("'decision'", "2 row", "lines 2, 7")),
    Case("prediction-third-value-arrow", csv_case(set_rows("decision", [5, 6], "Maybe"),
                                                  extra=("--engine", "arrow")),
         mentions=("'decision'", "3 distinct")),
]

# -- labels silently misread ---------------------------------------------------------------------
LABELS = [
    Case("label-positive-absent", csv_case(policy=policy_text(
        "  prediction: decision\n", base=BASE_DATA.replace('"Yes"', '"Churned"'))),
         mentions=("'Churn'", "'Churned'", "data.positive")),
    Case("label-yes-vs-01", csv_case(setcol("Churn", lambda f: (f["Churn"] == "Yes").astype(int)),
                                     policy=policy_text("  prediction: decision\n",
                                                        base=BASE_DATA.replace(
                                                            'positive: "Yes"', 'positive: "Yes"')),
                                     ),
         mentions=("'Churn'", "'Yes'")),
    Case("label-third-class", csv_case(set_rows("Churn", [2, 3], "Unknown")),
         mentions=("'Churn'", "3 distinct", "positive")),
    Case("label-third-class-arrow", csv_case(set_rows("Churn", [2, 3], "Unknown"),
                                             extra=("--engine", "arrow")),
         mentions=("'Churn'", "3 distinct")),
    Case("label-positive-list-ok", csv_case(set_rows("Churn", [2, 3], "Unknown"),
                                            policy=policy_text("  prediction: decision\n",
                                                               base=BASE_DATA.replace(
                                                                   'positive: "Yes"',
                                                                   'positive: ["Yes", "Unknown"]')
                                                               )),
         exit_code=0, may_pass=True),
    Case("label-is-names", csv_case(policy=policy_text(
        "  prediction: decision\n", base=BASE_DATA.replace("label: Churn", "label: full_name")
        .replace('  positive: "Yes"\n', ""))),
         mentions=("'full_name'",), secrets=SECRETS),
    Case("label-is-names-with-positive", csv_case(policy=policy_text(
        "  prediction: decision\n", base=BASE_DATA.replace("label: Churn", "label: full_name"))),
         mentions=("'full_name'",), secrets=SECRETS),
    Case("label-missing-values", csv_case(set_rows("Churn", [10], None)),
         mentions=("'Churn'", "line 12")),
    Case("label-numeric-codes", csv_case(setcol("Churn", lambda f: f.index % 3),
                                         policy=policy_text("  prediction: decision\n",
                                                            base=BASE_DATA.replace(
                                                                '  positive: "Yes"\n', ""))),
         mentions=("'Churn'", "0 and 1")),
    Case("protected-lists", parquet_case(setcol("gender", lambda f: [[g] for g in f["gender"]])),
         mentions=("'gender'", "list")),
    Case("protected-mappings", parquet_case(setcol("gender", lambda f: [{"g": g}
                                                                        for g in f["gender"]])),
         mentions=("'gender'",)),
    Case("protected-lists-arrow", parquet_case(setcol("gender", lambda f: [[g] for g in
                                                                           f["gender"]]),
                                               extra=("--engine", "arrow")),
         mentions=("'gender'",)),
]


# -- duplicate column names ----------------------------------------------------------------------
def duplicate_header(column: str) -> Callable[[], bytes]:
    def content() -> bytes:
        frame = base_frame()
        frame[column + "__dup"] = frame[column]
        text = frame.to_csv(index=False)
        return text.replace(column + "__dup", column, 1).encode()

    return content


def duplicate_parquet(tmp: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = base_frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("gender", pa.array(frame["gender"].tolist()))
    pq.write_table(table, tmp / "customers.parquet")
    return audit_args(tmp, "customers.parquet")


DUPLICATES = [
    Case("duplicate-protected", bytes_case(duplicate_header("gender")),
         mentions=("'gender'", "columns 2 and 26")),
    Case("duplicate-unused", bytes_case(duplicate_header("tenure")),
         mentions=("'tenure'", "columns 6 and 26")),
    Case("duplicate-arrow", lambda tmp: [*bytes_case(duplicate_header("gender"))(tmp),
                                         "--engine", "arrow"],
         mentions=("'gender'", "columns 2 and 26")),
    Case("duplicate-parquet", duplicate_parquet, mentions=("'gender'", "columns 2 and 26")),
    Case("header-gender.1-is-fine", csv_case(setcol("gender.1", "x")), exit_code=0,
         may_pass=True),
]


# -- data files ------------------------------------------------------------------------------------
def latin1() -> bytes:
    frame = base_frame()
    frame.loc[5, "PaymentMethod"] = "Chèque"
    return frame.to_csv(index=False).encode("latin-1")


def fifo_case(name: str, role_args: Callable[[Path, str], list[str]]) -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        os.mkfifo(tmp / name)
        return role_args(tmp, name)

    return build


def huge_field(column: str) -> Mutate:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.loc[7, column] = "Zelda Quixote " + "x" * 5_000_000
        return frame

    return mutate


def truncated_parquet(tmp: Path) -> list[str]:
    base_frame().to_parquet(tmp / "customers.parquet", index=False)
    data = (tmp / "customers.parquet").read_bytes()
    (tmp / "customers.parquet").write_bytes(data[: len(data) // 2])
    return audit_args(tmp, "customers.parquet")


def data_args(tmp: Path, name: str) -> list[str]:
    return audit_args(tmp, name)


FILES = [
    Case("bom-csv", bytes_case(lambda: b"\xef\xbb\xbf" + base_csv_bytes()), exit_code=0,
         may_pass=True),
    Case("bom-csv-arrow", lambda tmp: [*bytes_case(lambda: b"\xef\xbb\xbf" + base_csv_bytes())(
        tmp), "--engine", "arrow"], exit_code=0, may_pass=True),
    Case("latin1-csv", bytes_case(latin1), mentions=("customers.csv", "line 7", "UTF-8")),
    Case("semicolon-csv", bytes_case(lambda: base_csv_bytes(sep=";")),
         mentions=("customers.csv", "';'")),
    Case("tab-csv", bytes_case(lambda: base_csv_bytes(sep="\t")),
         mentions=("customers.csv", "tab")),
    Case("empty-file", bytes_case(b""), mentions=("customers.csv", "empty")),
    Case("header-only", bytes_case(lambda: base_csv_bytes().split(b"\n")[0] + b"\n"),
         mentions=("customers.csv", "no rows")),
    Case("blank-lines-only", bytes_case(b"\n\n\n"), mentions=("customers.csv",)),
    Case("directory", lambda tmp: (tmp / "customers.csv").mkdir() or audit_args(tmp,
                                                                              "customers.csv"),
         mentions=("customers.csv",)),
    Case("fifo", fifo_case("customers.csv", data_args), subprocess_timeout=60,
         mentions=("customers.csv", "not a regular file")),
    Case("fifo-arrow", fifo_case("customers.csv", lambda t, n: [*data_args(t, n), "--engine",
                                                                 "arrow"]),
         subprocess_timeout=60, mentions=("customers.csv", "not a regular file")),
    Case("dev-zero-symlink", lambda tmp: (tmp / "customers.csv").symlink_to("/dev/zero")
         or audit_args(tmp, "customers.csv"), subprocess_timeout=60,
         mentions=("customers.csv", "not a regular file")),
    Case("binary-junk", bytes_case(bytes(range(256)) * 64), mentions=("customers.csv",)),
    Case("gzip-as-csv", bytes_case(lambda: __import__("gzip").compress(base_csv_bytes())),
         mentions=("customers.csv",)),
    Case("nul-bytes", bytes_case(lambda: base_csv_bytes().replace(b"Female", b"Fe\x00male", 3)),
         mentions=("customers.csv", "line")),
    Case("wrong-extension", bytes_case(base_csv_bytes, name="customers.xlsx"),
         mentions=("customers.xlsx", "extension")),
    Case("csv-named-parquet", bytes_case(base_csv_bytes, name="customers.parquet"),
         mentions=("customers.parquet", "Parquet")),
    Case("truncated-parquet", truncated_parquet, mentions=("customers.parquet",)),
    Case("ragged-rows", bytes_case(lambda: base_csv_bytes().replace(b"\n", b"\n,,", 6)),
         mentions=("customers.csv", "line")),
    Case("unterminated-quote", bytes_case(lambda: base_csv_bytes() + b'"9999-XXXX,Female,0'),
         mentions=("customers.csv",)),
    Case("missing-file", lambda tmp: audit_args(tmp, "nowhere.csv"), mentions=("nowhere.csv",)),
    Case("huge-field-unused", csv_case(huge_field("PaymentMethod")), exit_code=0, may_pass=True,
         secrets=("Zelda Quixote " + "x" * 100,)),
    Case("huge-field-in-score", csv_case(huge_field("score"), policy=score_policy()),
         mentions=("'score'", "line 9"), secrets=("Zelda Quixote",)),
    Case("protected-column-missing", csv_case(lambda f: f.drop(columns=["gender"])),
         mentions=("gender",)),
]


# -- consent ledgers -----------------------------------------------------------------------------
CONSENT_POLICY = textwrap.dedent("""\
    cxaudit: 1
    system: {name: churn-offers, purpose: offers}
    data:
      id: customerID
      prediction: decision
      positive: "Yes"
      protected: [gender, SeniorCitizen]
    consent:
      as_of: "2025-05-01T00:00:00Z"
    checks:
      - {id: cov, type: consent.coverage}
    """)


def ledger_frame() -> pd.DataFrame:
    ids = base_frame()["customerID"]
    return pd.DataFrame({
        "subject_id": ids, "purpose": "offers", "lawful_basis": "consent", "status": "granted",
        "granted_at": "2025-01-01T00:00:00Z", "withdrawn_at": None, "expires_at": None,
        "notice_version": "v1", "channel": "web", "jurisdiction": "EU-DE"})


def ledger_case(mutate: Mutate | None = None, *, raw: bytes | None = None,
                name: str = "ledger.csv", special: str | None = None) -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        base_frame().to_csv(tmp / "customers.csv", index=False)
        target = tmp / name
        if special == "fifo":
            os.mkfifo(target)
        elif special == "dir":
            target.mkdir()
        elif raw is not None:
            target.write_bytes(raw)
        else:
            frame = ledger_frame()
            if mutate is not None:
                frame = mutate(frame)
            if name.endswith(".parquet"):
                frame.to_parquet(target, index=False)
            else:
                frame.to_csv(target, index=False)
        return audit_args(tmp, "customers.csv", "--consent", name, policy=CONSENT_POLICY)

    return build


LEDGER = [
    Case("ledger-ok", ledger_case(), exit_code=0, may_pass=True),
    Case("ledger-wrong-columns", ledger_case(lambda f: f.rename(columns={"status": "state"})),
         mentions=("ledger.csv", "status")),
    Case("ledger-unparseable-time", ledger_case(set_rows("granted_at", [3], "yesterday-ish")),
         mentions=("ledger.csv", "granted_at", "line 5")),
    Case("ledger-empty", ledger_case(raw=b""), mentions=("ledger.csv", "empty")),
    Case("ledger-header-only", ledger_case(raw=b"subject_id,purpose,lawful_basis,status,"
                                                b"granted_at,withdrawn_at,expires_at,"
                                                b"notice_version,channel,jurisdiction\n"),
         mentions=("ledger.csv",)),
    Case("ledger-fifo", ledger_case(special="fifo"), subprocess_timeout=60,
         mentions=("ledger.csv", "not a regular file")),
    Case("ledger-directory", ledger_case(special="dir"), mentions=("ledger.csv",)),
    Case("ledger-duplicate-columns", ledger_case(raw=b"subject_id,purpose,status,status\n"
                                                     b"a,offers,granted,granted\n"),
         mentions=("ledger.csv", "'status'", "columns 3 and 4")),
    Case("ledger-unknown-status-email", ledger_case(set_rows("status", [2], EMAILS[0])),
         mentions=("ledger.csv", "status", "line 4"), secrets=SECRETS),
    Case("ledger-latin1", ledger_case(raw="subject_id,purpose\nJosé,offers\n".encode("latin-1")),
         mentions=("ledger.csv", "UTF-8")),
    Case("ledger-missing", lambda tmp: ledger_case(raw=b"")(tmp)[:-2] + ["--consent", "nope.csv"],
         mentions=("nope.csv",)),
    Case("ledger-truncated-parquet", ledger_case(raw=b"PAR1\x00\x00garbage", name="ledger.parquet"),
         mentions=("ledger.parquet",)),
    Case("ledger-withdrawn-before-granted", ledger_case(
        lambda f: set_rows("withdrawn_at", [1], "2024-01-01T00:00:00Z")(
            set_rows("status", [1], "withdrawn")(f))), mentions=("ledger.csv", "withdrawn")),
]


# -- models --------------------------------------------------------------------------------------
MODEL_POLICY = policy_text("  features: [tenure, MonthlyCharges]\n")


def model_case(model: object | bytes | None, name: str = "model.joblib", *,
               trust: bool = True, policy: str = MODEL_POLICY,
               mutate: Mutate | None = None, engine: str | None = None) -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        import joblib

        frame = base_frame()
        if mutate is not None:
            frame = mutate(frame)
        frame.to_csv(tmp / "customers.csv", index=False)
        if isinstance(model, bytes):
            (tmp / name).write_bytes(model)
        elif model is not None:
            joblib.dump(model, tmp / name)
        args = audit_args(tmp, "customers.csv", "--model", name, policy=policy)
        if trust:
            args.append("--trust-model")
        if engine:
            args += ["--engine", engine]
        return args

    return build


def _models():
    from . import models

    return models


def sklearn_model():
    from sklearn.linear_model import LogisticRegression

    frame = base_frame()
    return LogisticRegression().fit(frame[["tenure", "MonthlyCharges"]], frame["Churn"])


def nan_logistic():
    model = sklearn_model()
    model.coef_ = np.full_like(model.coef_, np.nan)
    return model


MODELS = [
    Case("model-raises", model_case(_models().RaisingModel()), mentions=("model.joblib",)),
    Case("model-raises-arrow", model_case(_models().RaisingModel(), engine="arrow"),
         mentions=("model.joblib",)),
    Case("model-text-feature", model_case(sklearn_model(), mutate=set_rows(
        "MonthlyCharges", [3], "lots")), mentions=("model.joblib",)),
    Case("model-nan-proba", model_case(_models().NanModel()),
         mentions=("model.joblib", "200 row", "lines 2, 4, 6")),
    Case("model-nan-coef", model_case(nan_logistic()), mentions=("model.joblib", "400 row")),
    Case("model-nan-proba-arrow", model_case(_models().NanModel(), engine="arrow"),
         mentions=("model.joblib", "200 row")),
    Case("model-proba-out-of-range", model_case(_models().OutOfRangeModel()),
         mentions=("model.joblib", "[0, 1]")),
    Case("model-wrong-length", model_case(_models().WrongLengthModel()),
         mentions=("model.joblib", "399", "400")),
    Case("model-three-columns", model_case(_models().ThreeColumnModel()),
         mentions=("model.joblib",)),
    Case("model-predicts-text", model_case(_models().TextPredictModel()),
         mentions=("model.joblib", "'Yes'")),
    Case("model-predicts-floats", model_case(_models().FloatPredictModel()),
         mentions=("model.joblib",)),
    Case("model-good", model_case(_models().GoodModel()), exit_code=0, may_pass=True),
    Case("model-garbage-joblib", model_case(b"\x80\x04garbage not a pickle"),
         mentions=("model.joblib",)),
    Case("model-garbage-skops", model_case(b"PK\x03\x04 not a zip", name="model.skops",
                                           trust=False), mentions=("model.skops",)),
    Case("model-wrong-format", model_case(b"hello", name="model.txt"),
         mentions=("model.txt", "unsupported")),
    Case("model-missing", model_case(None, name="nope.skops"), mentions=("nope.skops",)),
    Case("model-not-a-model", model_case({"weights": [1, 2]}), mentions=("model.joblib",
                                                                          "predict")),
    Case("model-fifo", lambda tmp: (os.mkfifo(tmp / "model.skops"), model_case(
        None, name="model.skops", trust=False)(tmp))[1], subprocess_timeout=60,
         mentions=("model.skops",)),
]


# -- reference data ------------------------------------------------------------------------------
DRIFT_CHECKS = CHECKS + "  - {id: drift, type: data.drift, columns: [tenure], severity: block}\n"


def reference_case(raw: bytes | Callable[[], bytes] | None = None, *, special: str | None = None,
                   name: str = "reference.csv") -> Callable[[Path], list]:
    def build(tmp: Path) -> list[str]:
        base_frame().to_csv(tmp / "customers.csv", index=False)
        target = tmp / name
        if special == "fifo":
            os.mkfifo(target)
        elif raw is not None:
            target.write_bytes(raw() if callable(raw) else raw)
        return audit_args(tmp, "customers.csv", "--reference", name,
                          policy=policy_text(checks=DRIFT_CHECKS))

    return build


REFERENCE = [
    Case("reference-missing", reference_case(), mentions=("reference.csv",)),
    Case("reference-empty", reference_case(b""), mentions=("reference.csv", "empty")),
    Case("reference-duplicate-columns", reference_case(duplicate_header("tenure")),
         mentions=("reference.csv", "'tenure'")),
    Case("reference-fifo", reference_case(special="fifo"), subprocess_timeout=60,
         mentions=("reference.csv", "not a regular file")),
    Case("reference-latin1", reference_case(latin1), mentions=("reference.csv", "UTF-8")),
]

CASES = [*DECISIONS, *LABELS, *DUPLICATES, *FILES, *LEDGER, *MODELS, *REFERENCE]


def test_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)


def test_valid_base_passes(tmp_path):
    """The corpus' starting point is a passing audit: every failure above is the breakage."""
    outcome = run(csv_case()(tmp_path), tmp_path)
    assert outcome.exit_code == 0, outcome.text
    report = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "pass"
    outcome = run(csv_case(policy=score_policy())(tmp_path), tmp_path)
    assert outcome.exit_code == 0, outcome.text
