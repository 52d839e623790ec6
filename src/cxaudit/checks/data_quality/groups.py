"""Checks on customer groups in the data: completeness, representation, label balance.

All three are arithmetic on small per-group tables the engine computes in one
pass (``missing_counts``, ``count_by``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold
from cxaudit.checks.data_quality._common import attribute_column, group_key, plural, ratio
from cxaudit.checks.plan import count_by
from cxaudit.context import LABEL, AuditContext
from cxaudit.errors import InputError
from cxaudit.result import Metric, Status

_RULE = "EU AI Act Art. 10(2)(f)-(g), 10(3): data representative and examined for bias"


def _attribute_sets(ctx: AuditContext, attributes: list[str] | None) -> list[list[str]]:
    return ctx.group_sets(attributes) if (attributes or ctx.protected) else []


def _label(group: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


class GroupCompletenessParams(CheckParams):
    """Declaration of ``data.group_completeness``."""

    columns: list[str] | None = Field(default=None, description="Columns to examine "
                                      "(default: the model's features).")
    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all, with declared intersections).")
    max_gap: float = Field(default=0.05, ge=0, le=1, description="Largest allowed gap between "
                           "the most and the least complete group's missing rate.")
    max_ratio: float = Field(default=2.0, ge=1, description="Largest allowed ratio of the "
                             "highest to the lowest group missing rate.")
    blank_is_missing: bool = Field(default=True, description="Count whitespace-only text as "
                                   "missing (CSV exports often write unknown numbers as ' ').")
    min_group_size: int = Field(default=30, ge=1, description="Smaller groups are reported, "
                                "not compared.")


class GroupCompleteness(Check):
    """Group completeness: no customer group's data is much more incomplete than another's.

    A feature that is often missing for one group (older customers without an
    online account, customers of one region with a legacy billing system)
    makes the model guess for exactly that group. For each column and each
    group of each protected attribute this measures the missing rate (null,
    NaN and — by default — blank text). A column fails when the most
    incomplete group's rate exceeds the least incomplete group's both by more
    than ``max_gap`` (absolute) and by more than ``max_ratio`` times: both
    conditions, so that 0.1% against 0.3% is not a finding.

    Example::

        - id: complete-for-every-group
          type: data.group_completeness
          columns: [TotalCharges, tenure, MonthlyCharges]
          max_gap: 0.02
          max_ratio: 1.5
    """

    type = "data.group_completeness"
    params_model = GroupCompletenessParams
    rule = _RULE

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: GroupCompletenessParams = self.params  # type: ignore[assignment]
        columns = list(params.columns or ctx.features)
        absent = [c for c in columns if c not in ctx.data_columns]
        if absent:
            return CheckOutcome(status=Status.ERROR, summary=f"Column(s) {', '.join(absent)} "
                                "are not in the data.")
        sets = _attribute_sets(ctx, params.attributes)
        if not sets:
            return CheckOutcome(status=Status.ERROR, summary="No protected attributes: declare "
                                "data.protected or `attributes:`.")
        groupings = [[attribute_column(ctx, a) for a in attrs] for attrs in sets]
        tables = ctx.engine.missing_counts(ctx.frame, columns, [(), *groupings],
                                           blank_is_missing=params.blank_is_missing)
        overall = tables[0].iloc[0]
        metrics = [Metric(name="missing_rate", group={"column": c},
                          value=int(overall[c]) / int(overall["rows"]) if overall["rows"] else 0.0,
                          n=int(overall["rows"])) for c in columns]
        failing: list[str] = []
        small: set[str] = set()
        for attrs, keys, table in zip(sets, groupings, tables[1:], strict=True):
            for column in columns:
                rates: dict[str, float] = {}
                for _, row in table.iterrows():
                    group = {a: group_key(row[k]) for a, k in zip(attrs, keys, strict=True)}
                    n = int(row["rows"])
                    rate = int(row[column]) / n if n else 0.0
                    label = _label(group)
                    metrics.append(Metric(name="missing_rate", group={"column": column, **group},
                                          value=rate, n=n))
                    if n < params.min_group_size:
                        small.add(label)
                        continue
                    rates[label] = rate
                if len(rates) < 2:
                    continue
                worst = max(sorted(rates), key=rates.__getitem__)
                best = min(sorted(rates), key=rates.__getitem__)
                gap = rates[worst] - rates[best]
                times = ratio(rates[worst], rates[best])
                bad = gap > params.max_gap and times > params.max_ratio
                status = Status.FAIL if bad else Status.PASS
                where = {"column": column, "attributes": " × ".join(attrs)}
                note = f"most incomplete: {worst}; least: {best}"
                metrics.append(Metric(name="missing_rate_gap", group=where, value=gap,
                                      threshold={"max": params.max_gap}, status=status, note=note))
                metrics.append(Metric(name="missing_rate_ratio", group=where,
                                      value=times if math.isfinite(times) else None,
                                      threshold={"max": params.max_ratio}, status=status,
                                      note=note if math.isfinite(times) else
                                      note + " (the least incomplete group has no missing values)"))
                if bad:
                    failing.append(f"{column}: {worst} {rates[worst]:.1%} missing vs "
                                   f"{best} {rates[best]:.1%}")
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), summary=(
                f"{plural(len(failing), 'column')} much more incomplete for one group: "
                + "; ".join(failing[:4]) + (" …" if len(failing) > 4 else "") + "."))
        summary = (f"No group's data is much more incomplete than another's across "
                   f"{plural(len(columns), 'column')} (gap ≤ {params.max_gap:g} or ratio ≤ "
                   f"{params.max_ratio:g}).")
        if small:
            summary += f" {plural(len(small), 'group')} under {params.min_group_size} rows not compared."
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), summary=summary)


class RepresentationParams(CheckParams):
    """Declaration of ``data.representation``."""

    attribute: str = Field(description="The column whose groups are compared (e.g. gender).")
    shares: dict[str | int | bool, float] | None = Field(default=None, description="Reference share of each "
                                            "group in the population served (sums to 1).")
    shares_file: str | None = Field(default=None, description="CSV with columns `group,share` "
                                    "(relative to the policy), instead of `shares`.")
    threshold: Threshold = Field(default=Threshold(min=0.8), description="Bounds on each group's "
                                 "share in the data divided by its reference share.")

    @model_validator(mode="after")
    def _one_source(self) -> RepresentationParams:
        if (self.shares is None) == (self.shares_file is None):
            raise ValueError("give the reference population as `shares:` or `shares_file:` "
                             "(exactly one)")
        return self

    @field_validator("shares")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[Any, float] | None) -> dict[Any, float] | None:
        if value is not None:
            booleans = [k for k in value if isinstance(k, bool)]
            if booleans:
                raise ValueError(f"group {booleans[0]!r} is a YAML boolean: quote group names "
                                 "such as \"Yes\" and \"No\"")
            check_shares(value)
        return value


def check_shares(shares: dict[Any, float]) -> dict[str, float]:
    """Validate reference shares: non-negative, summing to 1 (±0.01); keys as text."""
    if not shares:
        raise ValueError("`shares` needs at least one group")
    not_finite = [k for k, v in shares.items() if not math.isfinite(float(v))]
    if not_finite:  # NaN would slip through every comparison below (NaN < 0 is False)
        raise ValueError(f"share of {str(not_finite[0])[:60]!r} is not a finite number")
    negative = [k for k, v in shares.items() if v < 0]
    if negative:
        raise ValueError(f"share of {negative[0]!r} is negative")
    total = sum(shares.values())
    if abs(total - 1) > 0.01:
        raise ValueError(f"shares sum to {total:g}; they must sum to 1 (write 0.51, not 51)")
    return {str(k).strip(): float(v) / total for k, v in shares.items()}


def _read_shares(path: Path) -> dict[str, float]:
    import io

    import pandas as pd

    from cxaudit.policy.yamlmarks import UnreadableFile, read_regular_file

    try:  # a regular file of at most 5 MB: a FIFO would block, /dev/zero never end
        raw = read_regular_file(path, what="shares file")
    except UnreadableFile as exc:
        raise ValueError(f"{path}: {exc.message}") from None
    table = pd.read_csv(io.BytesIO(raw), dtype={"group": str})
    missing = {"group", "share"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: needs columns group and share (missing {', '.join(missing)})")
    doubled = table["group"][table["group"].duplicated()]
    if len(doubled):
        line = int(doubled.index[0]) + 2  # the header is line 1
        raise ValueError(f"{path}:{line}: group {str(doubled.iloc[0])[:60]!r} is listed twice")
    shares = pd.to_numeric(table["share"], errors="coerce")
    if shares.isna().any():
        line = int(shares.index[shares.isna()][0]) + 2
        raise ValueError(f"{path}:{line}: share is not a number (write 0.51 for 51%)")
    return check_shares(dict(zip(table["group"], shares.astype(float), strict=True)))


class Representation(Check):
    """Representation: each group's share of the data matches the population served.

    A model trained on data where one group is scarce learns that group worst.
    This compares each group's share of the rows with a declared reference
    share (census figures, the customer base) and holds the ratio
    data share / reference share to ``threshold`` (default at least 0.8; add
    ``max`` to catch over-representation too). Groups the reference lists but
    the data lacks have ratio 0; groups the data has but the reference does
    not are listed, not judged.

    Example::

        - id: gender-representation
          type: data.representation
          attribute: gender
          shares: {Female: 0.51, Male: 0.49}
          threshold: {min: 0.8, max: 1.25}
    """

    type = "data.representation"
    params_model = RepresentationParams
    rule = _RULE

    def count_needs(self, ctx: AuditContext) -> list[list[str]]:
        """Rows per group of the attribute (for the audit's count plan)."""
        return [[attribute_column(ctx, self.params.attribute)]]  # type: ignore[attr-defined]

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: RepresentationParams = self.params  # type: ignore[assignment]
        if params.attribute not in ctx.data_columns:
            return CheckOutcome(status=Status.ERROR,
                                summary=f"Column {params.attribute!r} is not in the data.")
        if params.shares is not None:
            shares = check_shares(params.shares)
        else:
            path = Path(params.shares_file or "")
            if not path.is_absolute():
                path = Path(ctx.policy.source).parent / path
            try:
                shares = _read_shares(path)
            except (OSError, ValueError) as exc:
                raise InputError(f"{ctx.policy.locate('checks', params.id, 'shares_file')}: "
                                 f"cannot read the reference shares: {exc}",
                                 hint="give a regular CSV file with columns group,share") from None
        column = attribute_column(ctx, params.attribute)
        counts = count_by(ctx, [column])
        observed: dict[str, int] = {}
        for value, count in zip(counts[column], counts["count"], strict=True):
            key = group_key(value)
            observed[key] = observed.get(key, 0) + int(count)
        total = sum(observed.values())
        metrics, failing = [], []
        for group in sorted(set(shares) | set(observed)):
            share = observed.get(group, 0) / total if total else 0.0
            where = {params.attribute: group}
            metrics.append(Metric(name="share", group=where, value=share,
                                  n=observed.get(group, 0)))
            if group not in shares:
                metrics.append(Metric(name="share_ratio", group=where, value=None,
                                      note="not in the reference population; not judged"))
                continue
            metrics.append(Metric(name="reference_share", group=where, value=shares[group]))
            value = ratio(share, shares[group])
            ok = params.threshold.holds(value)
            metrics.append(Metric(name="share_ratio", group=where, value=value,
                                  n=observed.get(group, 0), threshold=params.threshold.as_dict(),
                                  status=Status.PASS if ok else Status.FAIL))
            if not ok:
                failing.append(f"{group} {share:.1%} of rows vs {shares[group]:.1%} expected")
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), summary=(
                f"{plural(len(failing), 'group')} of {params.attribute} outside "
                f"{params.threshold.describe()} of the reference share: " + "; ".join(failing) + "."))
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), summary=(
            f"Every group of {params.attribute} has {params.threshold.describe()} of its "
            "reference share."))


class LabelBalanceParams(CheckParams):
    """Declaration of ``data.label_balance``."""

    attributes: list[str] | None = Field(default=None, description="Protected attributes "
                                         "(default: all, with declared intersections).")
    threshold: Threshold = Field(default=Threshold(min=0.5, max=2.0), description="Bounds on a "
                                 "group's positive-label rate divided by the overall rate.")
    min_group_size: int = Field(default=30, ge=1)


class LabelBalance(Check):
    """Label balance: the positive-label rate of each group in the training data.

    When one group's outcomes are far rarer (or commoner) than everyone
    else's, a model can learn the group instead of the behaviour, and its
    error rates for that group are estimated from few cases. This reports the
    positive rate per group and holds its ratio to the overall rate to
    ``threshold`` (default between 0.5 and 2). Groups under ``min_group_size``
    are reported as insufficient, never passed.

    Example::

        - id: churn-rate-by-group
          type: data.label_balance
          attributes: [gender, SeniorCitizen]
          threshold: {min: 0.5, max: 2.0}
    """

    type = "data.label_balance"
    params_model = LabelBalanceParams
    rule = _RULE
    requires = frozenset({"label"})

    def count_needs(self, ctx: AuditContext) -> list[list[str]]:
        """Labels overall and per group (for the audit's count plan)."""
        params: LabelBalanceParams = self.params  # type: ignore[assignment]
        return [[LABEL], *([*(attribute_column(ctx, a) for a in attrs), LABEL]
                           for attrs in _attribute_sets(ctx, params.attributes))]

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: LabelBalanceParams = self.params  # type: ignore[assignment]
        total = count_by(ctx, [LABEL])
        n_all = int(total["count"].sum())
        overall = float(total.loc[total[LABEL] == 1, "count"].sum()) / n_all if n_all else 0.0
        metrics = [Metric(name="positive_rate", value=overall, n=n_all)]
        failing, small = [], []
        for attrs in _attribute_sets(ctx, params.attributes):
            keys = [attribute_column(ctx, a) for a in attrs]
            counts = count_by(ctx, [*keys, LABEL])
            cells: dict[tuple[str, ...], list[int]] = {}
            for _, row in counts.iterrows():
                key = tuple(group_key(row[k]) for k in keys)
                cell = cells.setdefault(key, [0, 0])
                cell[int(row[LABEL] == 1)] += int(row["count"])
            for key in sorted(cells):
                negatives, positives = cells[key]
                n = negatives + positives
                group: dict[str, Any] = dict(zip(attrs, key, strict=True))
                rate = positives / n if n else 0.0
                metrics.append(Metric(name="positive_rate", group=group, value=rate, n=n))
                if n < params.min_group_size:
                    small.append(_label(group))
                    metrics.append(Metric(name="positive_rate_ratio", group=group, value=None, n=n,
                                          threshold=params.threshold.as_dict(),
                                          status=Status.INSUFFICIENT_DATA,
                                          note=f"fewer than {params.min_group_size} rows"))
                    continue
                value = ratio(rate, overall)
                ok = params.threshold.holds(value)
                metrics.append(Metric(name="positive_rate_ratio", group=group, value=value, n=n,
                                      threshold=params.threshold.as_dict(),
                                      status=Status.PASS if ok else Status.FAIL,
                                      note=f"{positives} positive of {n}"))
                if not ok:
                    failing.append(f"{_label(group)} {rate:.1%} vs {overall:.1%} overall")
        if failing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), summary=(
                f"{plural(len(failing), 'group')} with a positive-label rate outside "
                f"{params.threshold.describe()} times the overall rate: "
                + "; ".join(failing[:4]) + (" …" if len(failing) > 4 else "") + "."))
        if small:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA, metrics=tuple(metrics), summary=(
                f"No group fails, but {plural(len(small), 'group')} under "
                f"{params.min_group_size} rows could not be judged: {'; '.join(small[:4])}."))
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), summary=(
            f"Every group's positive-label rate is within {params.threshold.describe()} times "
            f"the overall rate ({overall:.1%})."))
