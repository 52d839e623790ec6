"""Helpers shared by the data-quality checks: tables, groups, locations."""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from cxaudit.context import UNKNOWN_GROUP, AuditContext, group_column

_TABLE_INPUTS = {"consent": ("consent", "a consent ledger (--consent FILE)"),
                 "reference": ("reference", "reference data (--reference FILE)")}


class TableMissing(LookupError):
    """The audit has no such table (no --consent / --reference given)."""


def table_frame(ctx: AuditContext, table: str) -> tuple[Any, list[str]]:
    """Engine-native frame of ``table`` (data, consent or reference) and its columns.

    For ``data`` the derived columns cxaudit adds are left out, so table-level
    expectations see exactly the user's columns.
    """
    if table == "data":
        columns = list(ctx.data_columns)
        return ctx.engine.select(ctx.frame, columns), columns
    attribute, what = _TABLE_INPUTS[table]
    frame = getattr(ctx, attribute)
    if frame is None:
        raise TableMissing(f"this check runs on the {table} table, but the audit has no {what}")
    return frame, ctx.engine.columns(frame)


def group_key(value: Any) -> str:
    """A group value as text, the way :func:`cxaudit.context.group_column` writes it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN_GROUP
    try:
        import pandas as pd

        if pd.isna(value):
            return UNKNOWN_GROUP
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or UNKNOWN_GROUP


def attribute_column(ctx: AuditContext, attribute: str) -> str:
    """The column holding ``attribute`` as group text (derived for protected attributes)."""
    derived = group_column(attribute)
    return derived if derived in ctx.engine.columns(ctx.frame) else attribute


def plural(n: int, word: str) -> str:
    """``1 group``, ``3 groups``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def located_error(title: str, problems: list[tuple[tuple[Any, ...], str]]) -> ValidationError:
    """A pydantic ValidationError whose errors sit at ``loc`` inside a check declaration.

    The policy loader turns each into a PolicyProblem at that key's line and column.
    """
    return ValidationError.from_exception_data(title, [
        InitErrorDetails(type=PydanticCustomError("cxaudit_check", "{message}",
                                                  {"message": message}),
                         loc=loc, input=None)
        for loc, message in problems
    ])


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with 0/0 = 1 and x/0 = inf."""
    if denominator == 0:
        return 1.0 if numerator == 0 else math.inf
    return numerator / denominator
