"""Drift of the audited data against reference (training) data: the population stability index.

PSI = Σ (a_i − e_i) · ln(a_i / e_i) over bins, with e_i the reference share
and a_i the current share of bin i. Bins come from the reference only:
quantiles for numbers (``bins`` equal-frequency bins, ties merged),
categories for text (the ``max_categories`` commonest, the rest pooled as
"other"); missing values are a bin of their own, so a surge of blanks is
drift too. Shares are floored at ``EPSILON`` so an empty bin does not make
the index infinite. Engine work: quantiles of the reference, then one
histogram pass per table (``binned_counts``) for every column and group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.checks.data_quality._common import attribute_column, plural
from cxaudit.context import UNKNOWN_GROUP, AuditContext
from cxaudit.engines.base import Binning
from cxaudit.result import Metric, Status

EPSILON = 1e-4


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """Population stability index of two histograms over the same bins (counts or shares)."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if ref.sum() == 0 or cur.sum() == 0:
        return math.nan
    e = np.maximum(ref / ref.sum(), EPSILON)
    a = np.maximum(cur / cur.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


class DriftParams(CheckParams):
    """Declaration of ``data.drift``."""

    columns: list[str] | None = Field(default=None, description="Columns to compare "
                                      "(default: the model's features).")
    attributes: list[str] | None = Field(default=None, description="Also compare within each "
                                         "group of these attributes (default: the protected "
                                         "attributes; [] for overall only).")
    warn: float = Field(default=0.1, gt=0, description="PSI at or above which the check warns.")
    block: float = Field(default=0.25, gt=0, description="PSI at or above which the check fails.")
    bins: int = Field(default=10, ge=2, le=100, description="Quantile bins for numeric columns.")
    max_categories: int = Field(default=20, ge=1, description="Categories kept per text column; "
                                "the rest are pooled.")
    numeric: list[str] = Field(default_factory=list, description="Text columns holding numbers "
                               "(e.g. TotalCharges); values that do not parse count as missing.")
    min_group_size: int = Field(default=100, ge=1, description="Groups smaller than this in "
                                "either table are reported, not judged.")

    @model_validator(mode="after")
    def _ordered(self) -> DriftParams:
        if self.warn > self.block:
            raise ValueError(f"`warn` ({self.warn:g}) must not exceed `block` ({self.block:g})")
        return self


def _binnings(ctx: AuditContext, params: DriftParams, columns: list[str]) -> dict[str, Binning]:
    engine, reference = ctx.engine, ctx.reference
    schema = engine.to_pandas(reference, columns, limit=0).dtypes
    numeric = [c for c in columns if c in params.numeric or (
        pd.api.types.is_numeric_dtype(schema[c]) and not pd.api.types.is_bool_dtype(schema[c]))]
    probs = [i / params.bins for i in range(1, params.bins)]
    quantiles = engine.quantiles(reference, numeric, probs, coerce_numeric=params.numeric)
    top = engine.top_values(reference, [c for c in columns if c not in numeric],
                            params.max_categories)
    binnings = {}
    for column in columns:
        if column in numeric:
            binnings[column] = Binning(edges=sorted(set(quantiles[column])),
                                       coerce_numeric=column in params.numeric)
        else:
            binnings[column] = Binning(categories=top[column])
    return binnings


def _long(tables: dict[str, pd.DataFrame], keys: list[str], names: list[str]) -> pd.DataFrame:
    """All columns' histograms in one frame: column, group attributes as text, bin, count."""
    parts = []
    for column, table in tables.items():
        part = table.rename(columns=dict(zip(keys, names, strict=True)))
        part.insert(0, "column", column)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for name in names:
        text = out[name].astype("string").str.strip()
        out[name] = text.mask(text.isna() | (text == ""), UNKNOWN_GROUP).astype(object)
    return out


def psi_table(reference: pd.DataFrame, current: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """PSI per combination of ``by`` from long histograms (``by`` + bin + count).

    Returns ``by`` columns plus ``psi``, ``n_reference`` and ``n_current``.
    """
    keys = [*by, "bin"]
    both = pd.concat([reference.groupby(keys)["count"].sum().rename("e"),
                      current.groupby(keys)["count"].sum().rename("a")], axis=1).fillna(0)
    totals = both.groupby(level=by).transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.maximum(both["e"] / totals["e"], EPSILON)
        a = np.maximum(both["a"] / totals["a"], EPSILON)
        terms = (a - e) * np.log(a / e)
    out = pd.DataFrame({"psi": terms.groupby(level=by).sum(),
                        "n_reference": both["e"].groupby(level=by).sum(),
                        "n_current": both["a"].groupby(level=by).sum()})
    out.loc[(out["n_reference"] == 0) | (out["n_current"] == 0), "psi"] = np.nan
    return out.reset_index()


class Drift(Check):
    """Drift: the audited data still looks like the data the model learned from.

    Compares each column of the audited data with the reference (training)
    data given by ``--reference FILE``, with the population stability index
    (PSI), overall and within each group of the protected attributes — drift
    that hits one group only is invisible overall. Rules of thumb: below 0.1
    stable, 0.1–0.25 a shift to look at (``warn``), 0.25 and above a shift
    that invalidates the model's validation (``block``).

    Example::

        - id: drift-since-training
          type: data.drift
          columns: [tenure, MonthlyCharges, TotalCharges, Contract, InternetService]
          numeric: [TotalCharges]
          warn: 0.1
          block: 0.25
    """

    type = "data.drift"
    params_model = DriftParams
    requires = frozenset({"reference"})
    rule = "EU AI Act Art. 15(1), 72: accuracy maintained and monitored after deployment"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: DriftParams = self.params  # type: ignore[assignment]
        if ctx.reference is None:
            return CheckOutcome(status=Status.ERROR, summary="No reference data to compare with: "
                                "pass the training data with --reference FILE.")
        columns = list(params.columns or ctx.features)
        ref_columns = ctx.engine.columns(ctx.reference)
        absent = [c for c in columns if c not in ctx.data_columns or c not in ref_columns]
        if absent:
            return CheckOutcome(status=Status.ERROR, summary=(
                f"Column(s) {', '.join(absent)} are missing from the audited or the reference data."))
        attributes = ctx.protected if params.attributes is None else list(params.attributes)
        missing_attrs = [a for a in attributes if a not in ref_columns]
        if missing_attrs and params.attributes is not None:
            return CheckOutcome(status=Status.ERROR, summary=(
                f"Attribute(s) {', '.join(missing_attrs)} are missing from the reference data."))
        # Protected attributes the reference lacks: compare overall only for them, and say so.
        attributes = [a for a in attributes if a not in missing_attrs]
        binnings = _binnings(ctx, params, columns)
        current_by = [attribute_column(ctx, a) for a in attributes]
        current = ctx.engine.binned_counts(ctx.frame, binnings, current_by)
        reference = ctx.engine.binned_counts(ctx.reference, binnings, attributes)
        metrics: list[Metric] = []
        worst: list[tuple[float, str]] = []
        small: set[str] = set()
        cur = _long(current, current_by, attributes)
        ref = _long(reference, attributes, attributes)
        for attribute in [None, *attributes]:
            by = ["column", *([attribute] if attribute else [])]
            table = psi_table(ref, cur, by)
            for row in table.itertuples(index=False):
                column, key = row[0], (str(row[1]) if attribute else None)
                nc, nr = int(row.n_current), int(row.n_reference)
                where = {"column": column, **({attribute: key} if attribute else {})}
                if attribute and min(nc, nr) < params.min_group_size:
                    small.add(f"{attribute}={key}")
                    metrics.append(Metric(name="psi", group=where, value=None, n=nc,
                                          status=Status.INSUFFICIENT_DATA,
                                          note=f"{nc} current / {nr} reference rows"))
                    continue
                value = float(row.psi)
                status = (Status.FAIL if value >= params.block else
                          Status.WARN if value >= params.warn else Status.PASS)
                metrics.append(Metric(name="psi", group=where, value=value, n=nc,
                                      threshold={"max": params.warn}, status=status,
                                      note=f"{nr} reference rows"))
                worst.append((value, column + (f" [{attribute}={key}]" if attribute else "")))
        order = {c: i for i, c in enumerate(columns)}
        metrics.sort(key=lambda m: (order[m.group["column"]], len(m.group)))
        worst.sort(key=lambda item: (-item[0], item[1]))
        blocking = [f"{label} {v:.2f}" for v, label in worst if v >= params.block]
        warning = [f"{label} {v:.2f}" for v, label in worst if params.warn <= v < params.block]
        # Quantile edges are shown; category values are not (they can be personal data).
        details = {"bins": {c: ({"quantile_edges": b.edges} if b.edges is not None else
                                {"categories": len(b.categories or [])})
                            for c, b in binnings.items()},
                   "not_judged": sorted(small),
                   "attributes_missing_from_reference": missing_attrs}
        if blocking:
            status, summary = Status.FAIL, (
                f"{plural(len(blocking), 'column/group')} drifted by PSI ≥ {params.block:g}: "
                + "; ".join(blocking[:4]) + (" …" if len(blocking) > 4 else "") + ".")
        elif warning:
            status, summary = Status.WARN, (
                f"{plural(len(warning), 'column/group')} shifted (PSI ≥ {params.warn:g}): "
                + "; ".join(warning[:4]) + (" …" if len(warning) > 4 else "") + ".")
        else:
            top = f" (largest: {worst[0][1]} {worst[0][0]:.3f})" if worst else ""
            status, summary = Status.PASS, (
                f"No drift: PSI below {params.warn:g} for {plural(len(columns), 'column')}"
                f"{' overall and per group' if attributes else ''}{top}.")
        if missing_attrs:
            summary += (f" Not compared per group of {', '.join(missing_attrs)}: the reference "
                        "data lacks it.")
        return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics), details=details)
