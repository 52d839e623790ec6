"""Fold Great Expectations results into one finding: metrics per expectation and group.

Each expectation contributes its unexpected percent (held to ``mostly``), or its
observed value (held to ``min_value``/``max_value``), or whether it was met;
details keep GX's counts and the masked examples. ``critical`` failures fail
the check, ``warning``/``info`` ones make it warn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxaudit.checks.base import CheckOutcome
from cxaudit.checks.data_quality._common import plural
from cxaudit.result import Metric, Status


@dataclass(frozen=True)
class Spec:
    """One expectation a check asks GX to validate."""

    key: str
    expectation: str
    kwargs: dict[str, Any]
    id_column: str | None
    skipped: str | None = None


def _threshold(run: Any) -> dict[str, float] | None:
    mostly = run.kwargs.get("mostly")
    if "unexpected_percent" in run.result:
        allowed = (1 - float(mostly)) * 100 if mostly is not None else 0.0
        return {"max": round(allowed, 10)}
    bounds = {k: run.kwargs[f"{k}_value"] for k in ("min", "max")
              if isinstance(run.kwargs.get(f"{k}_value"), (int, float))}
    return {k: float(v) for k, v in bounds.items()} or None


def _status(run: Any) -> Status:
    if run.success:
        return Status.PASS
    return Status.WARN if run.severity in ("warning", "info") else Status.FAIL


def _describe(run: Any) -> str:
    target = run.kwargs.get("column") or run.kwargs.get("column_list") or "the table"
    text = f"{run.expectation} on {target}"
    if run.error:
        return f"{text} could not be evaluated ({run.error})"
    result = run.result
    if "unexpected_count" in result:
        text += (f": {result['unexpected_count']:,} of {result.get('element_count', 0):,} values "
                 f"({result.get('unexpected_percent') or 0:.2f}%) unexpected")
        if result.get("examples"):
            unique = list(dict.fromkeys(str(e) for e in result["examples"]))
            text += ", e.g. " + ", ".join(unique[:3])
    elif "observed_value" in result:
        text += f": observed {result['observed_value']}"
    return text


def fold_outcome(specs: list[Spec], scopes: list[tuple[dict[str, str], dict[str, Any]]],
                 check_type: str) -> CheckOutcome:
    """One CheckOutcome from GX results: metrics per expectation and group, masked details."""
    metrics: list[Metric] = []
    details: list[dict[str, Any]] = []
    failing: list[str] = []
    warning: list[str] = []
    failed_keys: set[str] = set()
    warned_keys: set[str] = set()
    for group, results in scopes:
        for index, spec in enumerate(specs):
            if spec.skipped is not None:
                if not group:
                    details.append({"index": index, "expectation": spec.expectation,
                                    "skipped": spec.skipped})
                continue
            run = results.get(spec.key)
            if run is None:
                continue
            status = Status.FAIL if run.error else _status(run)
            where = {**({"column": str(run.kwargs["column"])} if "column" in run.kwargs else {}),
                     **group}
            label = _describe(run) + (f" [{', '.join(f'{k}={v}' for k, v in group.items())}]"
                                      if group else "")
            if status is Status.FAIL:
                failing.append(label)
                failed_keys.add(spec.key)
            elif status is Status.WARN:
                warning.append(label)
                warned_keys.add(spec.key)
            result = run.result
            if "unexpected_percent" in result:
                metrics.append(Metric(name="unexpected_percent", group=where,
                                      value=result["unexpected_percent"],
                                      n=result.get("element_count"), threshold=_threshold(run),
                                      status=status, note=f"{run.expectation}: "
                                      f"{result.get('unexpected_count', 0)} unexpected"))
                metrics.append(Metric(name="unexpected_count", group=where,
                                      value=float(result.get("unexpected_count") or 0),
                                      n=result.get("element_count"), note=run.expectation))
            elif isinstance(result.get("observed_value"), (int, float)):
                metrics.append(Metric(name="observed_value", group=where,
                                      value=float(result["observed_value"]),
                                      threshold=_threshold(run), status=status,
                                      note=run.expectation))
            else:
                metrics.append(Metric(name="expectation_met", group=where,
                                      value=1.0 if run.success and not run.error else 0.0,
                                      status=status, note=run.expectation))
            details.append({"index": index, "expectation": run.expectation, "group": group,
                            "kwargs": run.kwargs, "success": run.success and not run.error,
                            "severity": run.severity, **result,
                            **({"error": run.error} if run.error else {})})
    evaluated = sum(1 for s in specs if s.skipped is None)
    skipped = len(specs) - evaluated
    tail = f" ({plural(skipped, 'expectation')} skipped: optional column absent)" if skipped else ""
    if failing:
        status = Status.FAIL
        summary = (f"{plural(len(failed_keys), 'expectation')} failed"
                   + (f" ({len(failing)} results with groups)" if len(failing) > len(failed_keys)
                      else "") + ": "
                   + "; ".join(failing[:3]) + (" …" if len(failing) > 3 else "") + "." + tail)
    elif warning:
        status = Status.WARN
        summary = (f"{plural(len(warned_keys), 'warning-level expectation')} failed: "
                   + "; ".join(warning[:3]) + "." + tail)
    elif evaluated == 0:
        status = Status.INSUFFICIENT_DATA
        summary = "No expectation could be evaluated: every one needs a column the table lacks."
    else:
        status = Status.PASS
        summary = (f"Great Expectations validated {plural(evaluated, 'expectation')}"
                   f"{' per group' if len(scopes) > 1 else ''}; all met." + tail)
    return CheckOutcome(status=status, summary=summary, metrics=tuple(metrics),
                        details={"engine": "great_expectations", "expectations": details})
