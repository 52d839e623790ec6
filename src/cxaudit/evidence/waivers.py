"""Apply waivers to check results: accepted risks that stay visible and expire.

A waiver counts when it names a check of the audit, has an approver (one of
``approvals.waiver_approvers`` when the policy lists them) and ``today`` is not
after its ``expires`` date. A counting waiver marks a failing, warning or
insufficient-data result as waived: the result keeps its status, its metrics
and its summary (prefixed ``WAIVED until …``), gains a ``waiver`` block, and no
longer blocks the verdict — which is then at best ``warn``. Errors are never
waived: a check that could not run cannot have its risk accepted (the gate
fails closed). A group waiver covers a result only when every per-group finding
of that check falls in the waived group(s).

Every waiver, counted or ignored, is listed in the result's ``waivers`` block
with its status and the reason, and ignored ones are named in the verdict reason.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cxaudit.evidence.schema import Waiver
from cxaudit.result import CheckResult, Status, Verdict, decide_verdict

#: Statuses of a waiver in the report.
APPLIED, NOT_NEEDED, EXPIRED, UNAPPROVED, UNAUTHORISED, UNMATCHED, NOT_COVERED, ERRORED = (
    "applied", "not_needed", "expired", "unapproved", "unauthorised", "unmatched",
    "not_covered", "not_applicable")
IGNORED = frozenset({EXPIRED, UNAPPROVED, UNAUTHORISED, UNMATCHED, NOT_COVERED, ERRORED})
_WAIVABLE = (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA, Status.INCONCLUSIVE)
_OPEN = (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA, Status.INCONCLUSIVE, Status.ERROR)


def _note(waiver: Waiver, status: str, message: str) -> dict[str, Any]:
    return {"waiver": waiver.label, "check": waiver.check, "group": waiver.group,
            "status": status, "message": message, "expires": waiver.expires.isoformat(),
            "approver": waiver.approver, "justification": waiver.justification}


def _group_label(group: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(group.items())) or "overall"


def _admissible(waiver: Waiver, check_ids: Sequence[str], today: dt.date,
                approvers: Iterable[str] | None) -> tuple[str, str] | None:
    """Why a waiver cannot count at all, or None when it may."""
    if waiver.check not in check_ids:
        close = difflib.get_close_matches(waiver.check, list(check_ids), n=1, cutoff=0.6)
        return UNMATCHED, ("no check with this id in the audit, so it is ignored"
                           + (f" (did you mean {close[0]}?)" if close else ""))
    if waiver.approver is None:
        return UNAPPROVED, "it has no approver, so it is ignored"
    if approvers is not None and waiver.approver not in set(approvers):
        return UNAUTHORISED, ("its approver is not listed in approvals.waiver_approvers, so it "
                              "is ignored")
    if today > waiver.expires:
        return EXPIRED, f"it expired on {waiver.expires.isoformat()}, so it is ignored"
    return None


def _waive(result: CheckResult, used: list[Waiver], groups: list[dict[str, str]] | None
           ) -> CheckResult:
    expires = min(w.expires for w in used).isoformat()
    labels = ", ".join(w.label for w in used)
    block = {"waivers": [w.label for w in used], "expires": expires,
             "approvers": sorted({w.approver for w in used if w.approver}),
             "justification": " | ".join(w.justification for w in used),
             "groups": groups, "original_status": result.status.value}
    summary = f"WAIVED until {expires} ({labels}): {result.summary}"
    return result.model_copy(update={"waiver": block, "summary": summary})


def _apply_to_result(result: CheckResult, candidates: list[tuple[int, Waiver]],
                     notes: dict[int, dict[str, Any]]) -> CheckResult:
    """Waive ``result`` if the admissible ``(index, waiver)`` candidates cover it; note each."""
    if result.status is Status.PASS:
        for k, w in candidates:
            notes[k] = _note(w, NOT_NEEDED, "the check passes, so the waiver is not needed")
        return result
    if result.status not in _WAIVABLE:
        for k, w in candidates:
            notes[k] = _note(w, ERRORED, "the check could not run; a waiver accepts a measured "
                             "risk, not a missing measurement, so it is ignored")
        return result
    whole = [w for _, w in candidates if not w.group]
    if whole:
        for k, w in candidates:
            notes[k] = (_note(w, APPLIED, "the finding is waived") if not w.group else
                        _note(w, NOT_NEEDED, "a waiver of the whole check applies"))
        return _waive(result, whole, None)
    findings = [m for m in result.metrics if m.status in _OPEN]
    uncovered, used = [], set()
    for metric in findings:
        covering = {k for k, w in candidates if metric.group
                    and all(metric.group.get(a) == v for a, v in w.group.items())}
        if not covering or metric.status is Status.ERROR:
            uncovered.append(metric)
        used |= covering
    if not findings:
        message = ("the check reports no per-group findings, so a group waiver cannot cover it; "
                   "it is ignored")
    elif uncovered:
        shown = sorted({_group_label(m.group) for m in uncovered})
        message = (f"findings outside the waived group(s) remain ({'; '.join(shown[:4])}), so "
                   "the check still counts")
    else:
        message = ""
    for k, w in candidates:
        if findings and k not in used:
            notes[k] = _note(w, NOT_NEEDED, "this group has no finding")
        elif message:
            notes[k] = _note(w, NOT_COVERED, message)
        else:
            notes[k] = _note(w, APPLIED, "the group's findings are waived")
    if message:
        return result
    applied = [w for k, w in candidates if k in used]
    return _waive(result, applied, [w.group for w in applied])


#: What a waiver's status says when no audit date exists and the wall clock decides expiry.
WALL_CLOCK = ("the wall clock (the audit has no date: give --as-of, the policy's as_of or "
              "data.timestamp so reruns judge expiry the same way)")


def apply_waivers(results: Sequence[CheckResult], waivers: Iterable[Waiver], today: dt.date, *,
                  approvers: Iterable[str] | None = None, today_source: str | None = None
                  ) -> tuple[tuple[CheckResult, ...], list[dict[str, Any]]]:
    """Mark results covered by a counting waiver as waived.

    Parameters
    ----------
    results
        The check results in policy order.
    waivers
        Declared waivers (policy and ``--waivers`` file).
    today
        The audit's date (the ``--as-of`` input, the policy's ``as_of`` or the data's
        latest ``data.timestamp``; the wall clock only when none exists): a waiver counts
        through its ``expires`` day.
    today_source
        Where ``today`` came from (e.g. ``--as-of``, or :data:`WALL_CLOCK`): each entry
        of the report then says ``judged_at`` (the day and its source).
    approvers
        Who may approve waivers (``approvals.waiver_approvers``); None: anyone named.

    Returns
    -------
    results, report
        The results (waived ones marked, none removed) and one entry per waiver
        with ``status`` (``applied``, ``not_needed``, ``expired``, ``unapproved``,
        ``unauthorised``, ``unmatched``, ``not_covered``, ``not_applicable``) and
        a ``message`` saying why.
    """
    waivers = list(waivers)
    approvers = list(approvers) if approvers is not None else None
    check_ids = [r.id for r in results]
    notes: dict[int, dict[str, Any]] = {}
    by_check: dict[str, list[tuple[int, Waiver]]] = {}
    for k, waiver in enumerate(waivers):
        refusal = _admissible(waiver, check_ids, today, approvers)
        if refusal is not None:
            notes[k] = _note(waiver, *refusal)
        else:
            by_check.setdefault(waiver.check, []).append((k, waiver))
    out = tuple(_apply_to_result(r, by_check[r.id], notes) if r.id in by_check else r
                for r in results)
    report = [notes[k] for k in sorted(notes)]
    if today_source is not None:
        judged = f"{today.isoformat()} ({today_source})"
        for note in report:
            note["judged_at"] = judged
            if today_source == WALL_CLOCK and note["status"] in (APPLIED, EXPIRED):
                note["message"] += (f"; expiry judged at {today.isoformat()} by the wall clock, "
                                    "as the audit has no date (give --as-of)")
    return out, report


def verdict_with_waivers(results: Sequence[CheckResult], report: Sequence[dict[str, Any]]
                         ) -> tuple[Verdict, str]:
    """:func:`~cxaudit.result.decide_verdict`, with ignored waivers named in the reason."""
    verdict, reason = decide_verdict(tuple(results))
    ignored = [f"{n['waiver']} ({n['status'].replace('_', ' ')})" for n in report
               if n["status"] in IGNORED]
    if ignored:
        reason += f"; ignored waiver(s): {', '.join(ignored)}"
    return verdict, reason


def load_waivers(path: str | Path) -> tuple[Waiver, ...]:
    """Read a waivers file: YAML with a top-level ``waivers:`` list (or a bare list).

    Raises
    ------
    PolicyError
        With ``FILE:LINE:COL`` for every invalid waiver.
    """
    from cxaudit.errors import PolicyError, PolicyProblem
    from cxaudit.policy.yamlmarks import UnreadableFile, cut, read_yaml

    path = Path(path)
    shown_path = str(path)

    def problem(message: str, where: tuple[int, int] | None = None, at: str = "",
                hint: str | None = None) -> PolicyProblem:
        line, col = where or (None, None)
        return PolicyProblem(file=shown_path, line=line, column=col, path=at,
                             message=message[:1000], hint=hint)

    # Only a regular file of at most 5 MB is read, without YAML aliases (billion laughs).
    try:
        _, data, marks, problems = read_yaml(path, what="waivers file")
    except UnreadableFile as exc:
        found = exc.problem(shown_path)
        if exc.missing:
            found.hint = "check the --waivers path"
        raise PolicyError([found]) from None
    if problems:
        raise PolicyError(problems)
    if data is None:
        raise PolicyError([problem("the waivers file is empty",
                                   hint="start it with `waivers:` and a `- check: …` item")])
    prefix: tuple[Any, ...] = ()
    if isinstance(data, dict) and set(data) <= {"cxaudit", "waivers"} and "waivers" in data:
        data, prefix = data["waivers"], ("waivers",)
    if not isinstance(data, list):
        raise PolicyError([problem("a waivers file holds a `waivers:` list", marks.get(()),
                                   hint="start it with `waivers:` and a `- check: …` item")])
    found, problems = [], []
    for k, raw in enumerate(data):
        try:
            found.append(Waiver.model_validate(raw))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc = (*prefix, k, *error["loc"])
                where = next((marks[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in marks),
                             None)
                message = error["msg"].removeprefix("Value error, ")
                if error["type"] == "missing":
                    message = f"`{error['loc'][-1]}` is required"
                elif error["type"] == "extra_forbidden":
                    message = (f"unknown key `{cut(error['loc'][-1])}` (valid: "
                               f"{', '.join(Waiver.model_fields)})")
                problems.append(problem(message, where, ".".join(cut(p) for p in loc)))
    if problems:
        raise PolicyError(problems)
    return tuple(found)


def trail_entries(result: Any) -> list[dict[str, Any]]:
    """One audit-trail entry per waiver the audit evaluated."""
    return [{k: note.get(k) for k in ("waiver", "check", "group", "status", "expires",
                                       "approver", "justification")}
            for note in getattr(result, "waivers", ()) or ()]
