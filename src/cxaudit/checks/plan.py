"""Ask the audit's checks what they count, and compute it once (the aggregation plan).

A check that reads ``count_by`` tables declares them with ``count_needs(ctx)``
(a list of column lists); :func:`plan_counts` merges every declaration into one
:class:`cxaudit.engines.plan.CountPlan`, has the engine compute the finest
grouping in one scan and leaves the cell table in ``ctx.notes`` for the checks
to marginalise. See :mod:`cxaudit.engines.plan`.
"""

from __future__ import annotations

import logging
from typing import Any

from cxaudit.checks.registry import load_registry

LOGGER = logging.getLogger("cxaudit.runner")


def count_by(ctx: Any, columns: list[str]) -> Any:
    """``ctx.engine.count_by(ctx.frame, columns)``, as a marginal of the audit's plan when
    the plan covers ``columns`` (no scan), else from the engine (one scan)."""
    from cxaudit.engines.plan import planned_counts

    planned = planned_counts(ctx.notes, columns)
    return planned if planned is not None else ctx.engine.count_by(ctx.frame, list(columns))


def plan_counts(ctx: Any) -> None:
    """Compute the audit's aggregation plan into ``ctx.notes``.

    A check whose declaration fails, or a plan the engine cannot compute, only
    costs the shortcut: the checks then count for themselves (and report their
    own errors, as without a plan)."""
    from cxaudit.engines.plan import NOTE, CountPlan

    registry = load_registry()
    plan = CountPlan()
    for params in ctx.policy.checks:
        cls = registry.get(params.type)
        needs = getattr(cls, "count_needs", None)
        if needs is None:
            continue
        try:
            for columns in needs(cls(params), ctx):
                plan.add(columns)
        except Exception:  # noqa: BLE001 - the check says what is wrong when it runs
            LOGGER.debug("check %s: no count plan", params.id, exc_info=True)
    try:
        table = plan.compute(ctx.engine, ctx.frame)
    except Exception:  # noqa: BLE001 - each check counts for itself and reports the error
        LOGGER.debug("count plan not computed", exc_info=True)
        return
    if table is not None:
        ctx.notes[NOTE] = table
        LOGGER.info("count plan: %d cells over %s in %.2f s", len(table.cells),
                    ", ".join(table.columns), table.seconds,
                    extra={"cells": len(table.cells), "seconds": table.seconds})
