"""Schema checks: the columns the audit and the model depend on."""

from __future__ import annotations

import difflib

from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.context import AuditContext
from cxaudit.result import Metric, Status


class RequiredColumnsParams(CheckParams):
    """Declaration of ``data.required_columns``."""

    columns: list[str] = Field(min_length=1, description="Columns the data must contain.")
    allow_missing_values: bool = Field(
        default=True, description="false: the columns must also have no missing values."
    )


class RequiredColumns(Check):
    """Required columns: the data has every column the audit and the model depend on.

    A model scored on a table that lost a column silently degrades; an audit run
    on it silently measures something else. This check fails when a listed
    column is absent (naming the closest existing columns), and — with
    ``allow_missing_values: false`` — when a listed column has missing values.

    Example::

        - id: schema
          type: data.required_columns
          columns: [customerID, tenure, Contract, MonthlyCharges]
          allow_missing_values: false
    """

    type = "data.required_columns"
    params_model = RequiredColumnsParams
    rule = "EU AI Act Art. 10(3): training data complete and free of errors"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: RequiredColumnsParams = self.params  # type: ignore[assignment]
        available = list(ctx.data_columns)
        absent = [c for c in params.columns if c not in available]
        present = [c for c in params.columns if c in available]
        metrics = []
        problems = []
        for column in absent:
            close = difflib.get_close_matches(column, available, n=2, cutoff=0.5)
            problems.append(f"{column} is missing" + (f" (closest: {', '.join(close)})" if close else ""))
            metrics.append(Metric(name="column_present", group={"column": column}, value=0.0,
                                  status=Status.FAIL))
        if present:
            nulls = ctx.engine.null_counts(ctx.frame, present)
            rows = int(nulls["rows"].iloc[0])
            for column in present:
                missing = int(nulls[column].iloc[0])
                ok = params.allow_missing_values or missing == 0
                metrics.append(Metric(name="missing_rate", group={"column": column},
                                      value=missing / rows if rows else 0.0, n=rows,
                                      threshold=None if params.allow_missing_values else {"max": 0.0},
                                      status=Status.PASS if ok else Status.FAIL))
                if not ok:
                    problems.append(f"{column} has {missing} missing value(s)")
        if problems:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics),
                                summary="The data is not complete: " + "; ".join(problems) + ".")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics),
                            summary=f"All {len(params.columns)} required columns are present"
                            + ("." if params.allow_missing_values else " and have no missing values."))


CHECKS = (RequiredColumns,)
