"""Proxy features: how well the model's inputs stand in for a protected attribute."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold
from cxaudit.context import AuditContext, group_column
from cxaudit.result import Metric, Status


def discretise(values: pd.Series, bins: int = 10) -> np.ndarray:
    """Integer codes for association measures.

    Numeric columns (and text columns that are at least 95% numbers, like a
    CSV's ``TotalCharges``) go into quantile bins; other columns keep their
    ``2 * bins`` most frequent values and pool the rest as "other", so a
    near-unique column (an id, an email) does not look like a perfect proxy
    just because every value is its own category. Missing is its own code.
    """
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() >= 0.95 * values.notna().sum() > 0:
            values = numbers
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numeric = values.astype(float)
        if numeric.nunique() > bins:
            numeric = pd.qcut(numeric, q=bins, duplicates="drop")
        codes, _ = pd.factorize(numeric, sort=True)
    else:
        text = values.astype("string")
        keep = text.value_counts().index[:2 * bins]
        text = text.where(text.isin(keep) | text.isna(), "\x00other")
        codes, _ = pd.factorize(text, sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes < 0, codes.max(initial=-1) + 1, codes)


def contingency(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Counts of every (first, second) code pair, as a dense 2-D table."""
    rows, cols = int(first.max()) + 1, int(second.max()) + 1
    flat = np.bincount(first * cols + second, minlength=rows * cols)
    table = flat.reshape(rows, cols)
    return table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]


def cramers_v(table: np.ndarray) -> float:
    """Cramér's V without bias correction: sqrt(chi² / (n · (min(r, c) − 1)))."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    k = min(table.shape) - 1
    if n == 0 or k == 0:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * k)))


def mutual_information(table: np.ndarray) -> float:
    """Mutual information in nats of the two variables cross-tabulated in ``table``."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        return 0.0
    joint = table / n
    outer = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    nonzero = joint > 0
    return float((joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum())


def attribute_auc(codes: np.ndarray, target: np.ndarray, seed: int, folds: int = 3
                  ) -> float | None:
    """Cross-validated AUC of a logistic model predicting ``target`` from binned features.

    ``codes`` holds one column of :func:`discretise` codes per feature (one-hot
    encoded here). One-vs-rest macro AUC for more than two groups; ``None``
    when a group is too small to cross-validate.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.preprocessing import OneHotEncoder
    from threadpoolctl import threadpool_limits

    classes, counts = np.unique(target, return_counts=True)
    if len(classes) < 2 or counts.min() < folds:
        return None
    encoded = OneHotEncoder(handle_unknown="ignore").fit_transform(codes)
    model = LogisticRegression(max_iter=1000)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One BLAS thread: L-BFGS on a few hundred one-hot columns makes hundreds of tiny BLAS
    # calls, and waking a second thread for each costs more than the call (the demo's two
    # attributes: 0.2 s on one thread, 1-3 s of CPU on two when the machine is busy). The
    # gradient is a sparse product (no BLAS), so the fit does not depend on the thread count.
    with threadpool_limits(limits=1, user_api="blas"):
        proba = cross_val_predict(model, encoded, target, cv=splitter, method="predict_proba")
    if len(classes) == 2:
        return float(roc_auc_score(target == classes[1], proba[:, 1]))
    return float(roc_auc_score(target, proba, multi_class="ovr", average="macro",
                               labels=classes))


class ProxyParams(CheckParams):
    """Declaration of ``privacy.proxy``."""

    cramers_v: Threshold = Field(default=Threshold(max=0.5), description="Bounds on each "
                                 "feature's Cramér's V with a protected attribute.")
    auc: Threshold = Field(default=Threshold(max=0.8), description="Bounds on the AUC of a "
                           "model predicting the attribute from all features.")
    sample_size: int = Field(default=20000, ge=100, description="Rows sampled (seeded).")
    bins: int = Field(default=10, ge=2, le=50, description="Quantile bins for numeric features.")
    top: int = Field(default=5, ge=1, le=50, description="Strongest proxies listed per attribute.")
    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all).")


class Proxy(Check):
    """Proxy features: no input stands in for a protected attribute.

    Leaving gender or age out of a model does not make it blind to them when
    other inputs encode them (a postcode for ethnicity, a tariff for age). For
    every feature and protected attribute, on a seeded sample, the check
    computes Cramér's V (numeric features in quantile bins) and the mutual
    information (nats); it then fits a small logistic model that predicts the
    attribute from *all* features together and reports its cross-validated
    AUC (0.5: no information, 1: the attribute is recoverable). The strongest
    proxies are listed with their strength; a feature whose V, or an attribute
    whose AUC, exceeds the bounds fails the check.

    Example::

        - id: no-strong-proxies
          type: privacy.proxy
          cramers_v: {max: 0.5}
          auc: {max: 0.8}
          top: 5
          severity: warn
    """

    type = "privacy.proxy"
    params_model = ProxyParams
    rule = "GDPR Art. 9 and EU AI Act Art. 10(2)(f): examine data for possible biases"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ProxyParams = self.params  # type: ignore[assignment]
        attributes = params.attributes or ctx.protected
        if not attributes:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA,
                                summary="The policy declares no protected attributes to test "
                                        "proxies against (data.protected).")
        from cxaudit.checks.privacy.pii import unknown_features

        unknown = unknown_features(ctx, "whether the model's inputs stand in for "
                                   + ", ".join(attributes))
        if unknown is not None:
            return unknown
        features = [f for f in ctx.features if f in ctx.data_columns]
        columns = features + [group_column(a) for a in attributes]
        frame = ctx.engine.to_pandas(ctx.frame, columns)
        if len(frame) > params.sample_size:
            frame = frame.sample(n=params.sample_size, random_state=ctx.seed)
        codes = {f: discretise(frame[f], params.bins) for f in features}
        metrics: list[Metric] = []
        problems: list[str] = []
        details: dict[str, Any] = {"sample_rows": len(frame), "top_proxies": {}, "auc": {}}
        for attribute in attributes:
            groups = frame[group_column(attribute)].astype(str).to_numpy()
            group_codes = pd.factorize(groups, sort=True)[0]
            rows = []
            for feature in features:
                if feature == attribute:
                    problems.append(f"{attribute} is itself a feature")
                    rows.append((feature, 1.0, float("nan")))
                    continue
                table = contingency(codes[feature], group_codes)
                rows.append((feature, cramers_v(table), mutual_information(table)))
            rows.sort(key=lambda r: (-r[1], r[0]))
            for feature, v, mi in rows:
                ok = params.cramers_v.holds(v)
                metrics.append(Metric(name="cramers_v", group={"attribute": attribute,
                                      "feature": feature}, value=v, n=len(frame),
                                      threshold=params.cramers_v.as_dict(),
                                      status=Status.PASS if ok else Status.FAIL))
                metrics.append(Metric(name="mutual_information_nats",
                                      group={"attribute": attribute, "feature": feature},
                                      value=mi, n=len(frame)))
                if not ok and feature != attribute:
                    problems.append(f"{feature} ~ {attribute} (Cramér's V {v:.2f})")
            details["top_proxies"][attribute] = [
                {"feature": f, "cramers_v": round(v, 4),
                 "mutual_information_nats": None if np.isnan(mi) else round(mi, 4)}
                for f, v, mi in rows[:params.top]]
            others = [f for f in features if f != attribute]
            auc = (attribute_auc(np.column_stack([codes[f] for f in others]), groups, ctx.seed)
                   if others else None)
            details["auc"][attribute] = auc
            if auc is None:
                metrics.append(Metric(name="attribute_auc", group={"attribute": attribute},
                                      value=None, status=Status.INSUFFICIENT_DATA,
                                      note="a group is too small to cross-validate"))
                continue
            ok = params.auc.holds(auc)
            metrics.append(Metric(name="attribute_auc", group={"attribute": attribute},
                                  value=auc, n=len(frame), threshold=params.auc.as_dict(),
                                  status=Status.PASS if ok else Status.FAIL))
            if not ok:
                problems.append(f"the features predict {attribute} with AUC {auc:.2f}")
        strongest = "; ".join(
            f"{a}: " + ", ".join(f"{p['feature']} {p['cramers_v']:.2f}"
                                 for p in details["top_proxies"][a][:3])
            for a in attributes)
        if problems:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary="Features stand in for protected attributes: "
                                        + "; ".join(problems[:5])
                                        + f". Strongest proxies (Cramér's V): {strongest}.")
        aucs = ", ".join(f"{a} {v:.2f}" for a, v in details["auc"].items() if v is not None)
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"No feature is a strong proxy (Cramér's V within "
                                    f"{params.cramers_v.describe()}; AUC {aucs or 'n/a'}). "
                                    f"Strongest: {strongest}.")


CHECKS = (Proxy,)
