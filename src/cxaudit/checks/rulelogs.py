"""Checks on what happened to customers (event logs) and on governance documents' contents.

- ``logs.deadline``: every request (or adverse decision) was handled within N calendar or
  business days (opt-outs honoured within 15 business days; explanations within 30 days).
- ``logs.disclosure``: every event where a disclosure is due shows the exact text.
- ``logs.exercised``: the routes a rule requires (representations, human review, contest)
  are used in the log, not only declared.
- ``governance.document_contents``: a governance document exists and has the required
  sections (Markdown headings or YAML front-matter keys); its prose is not judged.

Every date is the audit's date input (:mod:`cxaudit.lawdates`), never the wall clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import Field, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.errors import InputError
from cxaudit.policy.model import DocumentKind
from cxaudit.result import Metric, Status

if TYPE_CHECKING:
    from cxaudit.context import AuditContext

_DAY_US = 86_400_000_000


def _require(ctx: AuditContext, log: str, frame: Any, column: str, who: str,
             what: str = "") -> None:
    """Exit 2 at the log's place in the policy when ``frame`` lacks ``column``."""
    if column not in frame.columns:
        raise InputError(f"{ctx.policy.locate('logs', log)}: {who} needs a `{column}` "
                         f"column{what}")



def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _no_date(ctx: AuditContext) -> CheckOutcome | None:
    from cxaudit.lawdates import GIVE_AS_OF, resolve_audit_date

    if resolve_audit_date(ctx).moment is None:
        return CheckOutcome(status=Status.INCONCLUSIVE,
                            summary=f"Which deadlines have passed depends on the date: "
                                    f"{GIVE_AS_OF}.")
    return None


def _local_days(micros: np.ndarray, zone: str) -> np.ndarray:
    """Calendar days (datetime64[D]) of UTC microseconds in ``zone``."""
    import pandas as pd

    stamps = pd.to_datetime(micros, unit="us", utc=True).tz_convert(ZoneInfo(zone))
    return stamps.tz_localize(None).normalize().to_numpy().astype("datetime64[D]")


def holiday_calendar(calendar: str, years: range) -> list[date]:
    """Public holidays of ``US-CA``-style codes (country, optional subdivision), from the
    ``holidays`` package."""
    import holidays

    country, _, subdiv = calendar.partition("-")
    try:
        found = holidays.country_holidays(country, subdiv=subdiv or None, years=list(years))
    except (NotImplementedError, KeyError) as exc:
        raise InputError(f"no holiday calendar for {calendar!r}: {exc}",
                         hint="use a country code with an optional subdivision, e.g. US-CA, "
                              "GB-ENG, DE-BY") from None
    return sorted(found)


class DeadlineParams(CheckParams):
    """Declaration of ``logs.deadline``."""

    log: str = Field(description="Name of the log under `logs:` (time: request or decision, "
                     "done: when it was handled or the notice sent).")
    within_days: int | None = Field(default=None, ge=1, le=3660, description="Days allowed "
                                    "after the event (give this or min_days).")
    min_days: int | None = Field(default=None, ge=1, le=3660, description="Days that must pass "
                                 "at least between the event and `done` (a notice given N "
                                 "business days before use: time = notice, done = use); "
                                 "give this or within_days.")
    log_optional: bool = Field(default=False, description="When the policy declares no such "
                               "log, the check is not_applicable (saying so) instead of an "
                               "error: for packs whose rule is checked only with a log.")
    business_days: bool = Field(default=False, description="Count business days (weekends "
                                "and the calendar's public holidays skipped).")
    calendar: str | None = Field(default=None, pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
                                 description="Holiday calendar, e.g. US-CA (required with "
                                 "business_days).")
    only_flagged: bool = Field(default=False, description="Count only events whose `flag` "
                               "column is true (e.g. adverse decisions).")
    kinds: list[str] | None = Field(default=None, description="Count only events whose `kind` "
                                    "is one of these.")

    @model_validator(mode="after")
    def _one_bound(self) -> DeadlineParams:
        if (self.within_days is None) == (self.min_days is None):
            raise ValueError("give within_days (handled within N days) or min_days (at least "
                             "N days between the event and done), not both or neither")
        return self


class Deadline(Check):
    """Deadline: every request in a log was handled within the days the rule allows.

    Reads the log named by ``log`` (its ``time`` column: when the request was made or
    the decision taken; ``done``: when it was honoured or the notice sent). An event is
    late when ``done`` falls after the deadline, or when it is not done and the deadline
    has passed at the audit date (``--as-of``); events whose deadline is still ahead are
    pending, never late. Days are counted in the log's time zone; with
    ``business_days: true`` weekends and the public holidays of ``calendar`` (from the
    ``holidays`` package) are skipped.

    Example (CCPA ADMT opt-outs within 15 business days)::

        logs:
          optouts: {file: optouts.csv, timezone: America/Los_Angeles,
                    columns: {subject: customer_id, time: requested_at, done: honoured_at}}
        checks:
          - id: optouts-in-time
            type: logs.deadline
            log: optouts
            within_days: 15
            business_days: true
            calendar: US-CA
    """

    type = "logs.deadline"
    params_model = DeadlineParams
    rule = None

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.lawdates import resolve_audit_date
        from cxaudit.loaders.logs import MISSING, cached_log
        from cxaudit.masking import hash_ids

        params: DeadlineParams = self.params  # type: ignore[assignment]
        if params.log_optional and params.log not in (getattr(ctx.policy, "logs", None) or {}):
            return CheckOutcome(status=Status.NOT_APPLICABLE,
                                summary=f"Not checked: the policy declares no log "
                                        f"{params.log!r} (declare logs.{params.log} to check "
                                        "this rule).", details={"log": None})
        if params.business_days and not params.calendar:
            raise InputError(f"{ctx.policy.locate('checks', params.id)}: business_days needs "
                             "a holiday `calendar` (e.g. US-CA)")
        log = cached_log(ctx, params.log)
        frame = log.frame
        _require(ctx, params.log, frame, "done", "logs.deadline",
                 " (when the request was handled)")
        missing = _no_date(ctx)
        if missing is not None:
            return missing
        when = resolve_audit_date(ctx)
        as_of_us = int(when.moment.timestamp() * 1_000_000)
        keep = frame["time"].to_numpy() <= as_of_us
        if params.only_flagged:
            _require(ctx, params.log, frame, "flag", "only_flagged")
            keep &= frame["flag"].to_numpy(dtype=bool)
        if params.kinds is not None:
            _require(ctx, params.log, frame, "kind", "kinds")
            keep &= np.isin(frame["kind"].to_numpy(dtype=object), params.kinds)
        events = frame[keep]
        n = len(events)
        if n == 0:
            return CheckOutcome(status=Status.INCONCLUSIVE, details={"log": log.source},
                                summary=f"The log {log.source} has no event to judge up to "
                                        f"{when.describe()}.")
        zone = log.timezone or "UTC"
        start = _local_days(events["time"].to_numpy(), zone)
        done_us = events["done"].to_numpy()
        handled = done_us != MISSING
        today = np.datetime64(when.local_day(zone).isoformat(), "D")
        if params.min_days is not None:
            return _lead_time(params, log, events, start, done_us, handled, today, zone, when)
        if params.business_days:
            years = range(int(str(start.min())[:4]), int(str(today)[:4]) + 2)
            free = np.array(holiday_calendar(params.calendar, years), dtype="datetime64[D]")
            deadline = np.busday_offset(start, params.within_days, roll="forward",
                                        holidays=free)
            unit = "business days"
        else:
            deadline = start + np.timedelta64(params.within_days, "D")
            unit = "days"
        done_day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        if handled.any():
            done_day[handled] = _local_days(done_us[handled], zone)
        late_done = handled & (done_day > deadline)
        late_open = ~handled & (deadline < today)
        pending = ~handled & ~late_open
        late = late_done | late_open
        count = int(late.sum())
        subjects = events["subject"].to_numpy(dtype=object)
        ids = hash_ids(subjects[late], limit=5) if count else []
        metrics = (
            Metric(name="late", value=float(count), n=n, threshold={"max": 0.0},
                   status=Status.FAIL if count else Status.PASS),
            Metric(name="late_after_handling", value=float(late_done.sum()), n=n),
            Metric(name="not_handled_past_deadline", value=float(late_open.sum()), n=n),
            Metric(name="pending", value=float(pending.sum()), n=n),
        )
        details = {"log": log.source, "within": f"{params.within_days} {unit}",
                   "calendar": params.calendar, "time_zone": zone,
                   "as_of": when.describe(), "example_subjects": ids}
        what = f"within {params.within_days} {unit}" + (
            f" ({params.calendar} holidays, {zone})" if params.business_days else f" ({zone})")
        if count:
            return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details,
                                summary=f"{_plural(count, 'event')} of {n:,} in {log.source} "
                                        f"were not handled {what}: {int(late_done.sum()):,} "
                                        f"late, {int(late_open.sum()):,} still open past the "
                                        f"deadline (audit date {when.describe()}).")
        return CheckOutcome(status=Status.PASS, metrics=metrics, details=details,
                            summary=f"All {n:,} events in {log.source} were handled {what}"
                                    f"{f'; {int(pending.sum()):,} pending' if pending.any() else ''}.")


def _lead_time(params: DeadlineParams, log: Any, events: Any, start: np.ndarray,
               done_us: np.ndarray, handled: np.ndarray, today: np.datetime64, zone: str,
               when: Any) -> CheckOutcome:
    """``min_days``: ``done`` (e.g. the tool's use) must come at least N (business) days
    after ``time`` (e.g. the notice): on or after the Nth (business) day after it."""
    from cxaudit.masking import hash_ids

    n = len(events)
    if params.business_days:
        years = range(int(str(start.min())[:4]), int(str(today)[:4]) + 2)
        free = np.array(holiday_calendar(params.calendar, years), dtype="datetime64[D]")
        # The Nth business day after the event (an event on a weekend or holiday counts
        # from the business day before it: the next business day is then the first).
        earliest = np.busday_offset(start, params.min_days, roll="backward", holidays=free)
        unit = "business days"
    else:
        earliest = start + np.timedelta64(params.min_days, "D")
        unit = "days"
    done_day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if handled.any():
        done_day[handled] = _local_days(done_us[handled], zone)
    too_soon = handled & (done_day < earliest)
    not_yet = ~handled
    count = int(too_soon.sum())
    subjects = events["subject"].to_numpy(dtype=object)
    metrics = (
        Metric(name="too_soon", value=float(count), n=n, threshold={"max": 0.0},
               status=Status.FAIL if count else Status.PASS),
        Metric(name="not_done_yet", value=float(not_yet.sum()), n=n),
    )
    details = {"log": log.source, "at_least": f"{params.min_days} {unit}",
               "calendar": params.calendar, "time_zone": zone, "as_of": when.describe(),
               "example_subjects": hash_ids(subjects[too_soon], limit=5) if count else []}
    what = f"at least {params.min_days} {unit} after the event" + (
        f" ({params.calendar} holidays, {zone})" if params.business_days else f" ({zone})")
    if count:
        return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details,
                            summary=f"{_plural(count, 'event')} of {n:,} in {log.source} were "
                                    f"done sooner than {what} (audit date "
                                    f"{when.describe()}).")
    return CheckOutcome(status=Status.PASS, metrics=metrics, details=details,
                        summary=f"All {n:,} events in {log.source} done so far came {what}"
                                + (f"; {int(not_yet.sum()):,} not done yet"
                                   if not_yet.any() else "") + ".")


class DisclosureParams(CheckParams):
    """Declaration of ``logs.disclosure``."""

    log: str = Field(description="Name of the log under `logs:` (text: what was shown).")
    text: str = Field(min_length=1, max_length=2000, description="The disclosure that must "
                      "appear, exactly (case and punctuation as the rule writes it).")
    only_flagged: bool = Field(default=True, description="Judge only events whose `flag` is "
                               "true (e.g. the price was set by an algorithm from personal "
                               "data); without a flag column, every event.")


class Disclosure(Check):
    """Disclosure: every event where a disclosure is due showed its exact text.

    Reads the log named by ``log``: its ``text`` column holds what was shown with the
    price (or decision); ``flag`` marks the events where the rule requires the
    disclosure. An event fails when its text does not contain ``text`` exactly.

    Example (New York General Business Law § 349-a)::

        - id: ny-price-disclosure
          type: logs.disclosure
          log: prices
          text: THIS PRICE WAS SET BY AN ALGORITHM USING YOUR PERSONAL DATA.
    """

    type = "logs.disclosure"
    params_model = DisclosureParams

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.loaders.logs import cached_log
        from cxaudit.masking import hash_ids

        params: DisclosureParams = self.params  # type: ignore[assignment]
        log = cached_log(ctx, params.log)
        frame = log.frame
        _require(ctx, params.log, frame, "text", "logs.disclosure", " (what was shown)")
        due = np.ones(len(frame), dtype=bool)
        if params.only_flagged and "flag" in frame.columns:
            due = frame["flag"].to_numpy(dtype=bool)
        shown = frame["text"].to_numpy(dtype=object)[due]
        n = int(due.sum())
        if n == 0:
            return CheckOutcome(status=Status.NOT_APPLICABLE, details={"log": log.source},
                                summary=f"No event in {log.source} needs the disclosure.")
        missing = np.array([params.text not in str(t) for t in shown], dtype=bool)
        count = int(missing.sum())
        ids = hash_ids(frame["subject"].to_numpy(dtype=object)[due][missing], limit=5)
        metrics = (Metric(name="events_without_disclosure", value=float(count), n=n,
                          threshold={"max": 0.0}, status=Status.FAIL if count else Status.PASS),)
        details = {"log": log.source, "required_text": params.text, "example_subjects": ids}
        if count:
            return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details,
                                summary=f"{_plural(count, 'event')} of {n:,} in {log.source} did "
                                        f"not show the required disclosure.")
        return CheckOutcome(status=Status.PASS, metrics=metrics, details=details,
                            summary=f"All {n:,} events in {log.source} showed the disclosure.")


class ExercisedParams(CheckParams):
    """Declaration of ``logs.exercised``."""

    log: str = Field(description="Name of the log under `logs:` (kind: the event type).")
    kinds: list[str] = Field(min_length=1, description="Event kinds that must each occur.")
    min_each: int = Field(default=1, ge=1, description="Fewest events of each kind.")


class Exercised(Check):
    """Exercised: the routes a rule requires are used in the log, not only declared.

    Counts the events of each ``kinds`` value in the log's ``kind`` column (e.g.
    ``information_given``, ``representation``, ``human_review``, ``contest``) up to
    the audit date; fails when one occurs fewer than ``min_each`` times.
    """

    type = "logs.exercised"
    params_model = ExercisedParams

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.lawdates import resolve_audit_date
        from cxaudit.loaders.logs import cached_log

        params: ExercisedParams = self.params  # type: ignore[assignment]
        log = cached_log(ctx, params.log)
        frame = log.frame
        _require(ctx, params.log, frame, "kind", "logs.exercised")
        missing = _no_date(ctx)
        if missing is not None:
            return missing
        when = resolve_audit_date(ctx)
        upto = frame[frame["time"].to_numpy() <= int(when.moment.timestamp() * 1_000_000)]
        counts = {k: int((upto["kind"] == k).sum()) for k in params.kinds}
        short = [k for k, c in counts.items() if c < params.min_each]
        metrics = tuple(Metric(name="events", group={"kind": k}, value=float(c), n=len(upto),
                               threshold={"min": float(params.min_each)},
                               status=Status.FAIL if c < params.min_each else Status.PASS)
                        for k, c in counts.items())
        details = {"log": log.source, "counts": counts, "as_of": when.describe()}
        listed = ", ".join(f"{k} {c:,}" for k, c in counts.items())
        if short:
            return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details,
                                summary=f"Not exercised in {log.source}: {', '.join(short)} "
                                        f"(counts: {listed}).")
        return CheckOutcome(status=Status.PASS, metrics=metrics, details=details,
                            summary=f"Every route is used in {log.source} ({listed}).")


class ContentsParams(CheckParams):
    """Declaration of ``governance.document_contents``."""

    document: DocumentKind = Field(description="Which `system.documents` entry.")
    sections: list[str] = Field(min_length=1, description="Required sections: a Markdown "
                                "heading or a front-matter key each; `a | b` accepts either.")
    min_items: dict[str, int] = Field(default_factory=dict, description="Front-matter keys "
                                      "that, when present, must list at least this many items.")
    min_values: dict[str, float] = Field(default_factory=dict, description="Front-matter keys "
                                         "that must hold a number at least this large.")
    when_present: dict[str, list[str]] = Field(
        default_factory=dict, description="Sections that become required when another is "
        "present (e.g. human_appeal → reviewer_can_overturn).")
    max_age_days: int | None = Field(default=None, ge=1, description="The front-matter "
                                     "`date` may be at most this old at the audit date.")


#: Largest document read (a governance document, not a data dump).
MAX_DOCUMENT_BYTES = 5_000_000
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def read_document(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Front matter (a YAML mapping between ``---`` lines) and the Markdown headings."""
    import yaml

    from cxaudit.errors import InputError

    if not path.is_file():
        raise FileNotFoundError(path)
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise InputError(f"{path.name} is larger than {MAX_DOCUMENT_BYTES:,} bytes",
                         hint="reference the governance document itself")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path.name} is not UTF-8 text; sections are read from Markdown or "
                         "text documents", hint="reference the Markdown source") from None
    front: dict[str, Any] = {}
    match = re.match(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", text, re.S)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            raise InputError(f"{path.name}: the front matter is not YAML: "
                             f"{str(exc).splitlines()[0]}") from None
        if isinstance(loaded, dict):
            front = {str(k): v for k, v in loaded.items()}
        text = text[match.end():]
    return front, list(_HEADING.findall(text))


class DocumentContents(Check):
    """Document contents: a governance document exists and has the required sections.

    ``document`` names a ``system.documents`` entry (a path relative to the policy).
    Each of ``sections`` must be a Markdown heading of the document (``## Purpose``)
    or a key of its YAML front matter (``purpose: …``); ``a | b`` accepts either
    (an opt-out route or the human-appeal exception). ``min_items`` asks a
    front-matter list to have enough entries (two opt-out methods). The prose is
    not judged. A URL cannot be read: the check is inconclusive.

    Example::

        - id: notice-elements
          type: governance.document_contents
          document: pre_use_notice
          sections: [purpose, opt_out | appeal, access_right, no_retaliation]
          min_items: {opt_out_methods: 2}
    """

    type = "governance.document_contents"
    params_model = ContentsParams

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ContentsParams = self.params  # type: ignore[assignment]
        docs = ctx.policy.system.documents
        ref = getattr(docs, params.document, None) if docs is not None else None
        if not ref:
            return CheckOutcome(status=Status.FAIL, summary=(
                f"No {params.document.replace('_', ' ')} is referenced "
                f"(`system.documents.{params.document}`)."))
        if "://" in ref:
            return CheckOutcome(status=Status.INCONCLUSIVE, details={"document": ref},
                                summary=f"{ref} is a URL; its sections cannot be read. "
                                        "Reference the file to have them checked.")
        path = Path(ref) if Path(ref).is_absolute() else Path(ctx.policy.source).parent / ref
        try:
            front, headings = read_document(path)
        except FileNotFoundError:
            return CheckOutcome(status=Status.FAIL, details={"document": ref},
                                summary=f"The {params.document.replace('_', ' ')} {ref!r} does "
                                        "not exist next to the policy.")
        # A front-matter key set to false or left empty does not count as present.
        have = {_norm(h) for h in headings} | {_norm(k) for k, v in front.items()
                                               if v is not None and v is not False and v != ""}
        absent = [s for s in params.sections
                  if not any(_norm(alt) in have for alt in s.split("|"))]
        for key, needed in params.when_present.items():
            if _norm(key) in have:
                absent += [f"{s} (with {key})" for s in needed if _norm(s) not in have]
        few = []
        for key, n in params.min_items.items():
            if key not in front:
                continue
            value = front.get(key)
            count = len(value) if isinstance(value, list) else 0
            if count < n:
                few.append(f"{key} lists {count} (at least {n})")
        for key, least in params.min_values.items():
            value = front.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
                few.append(f"{key} is {value!r} (at least {least:g})")
        stale = None
        if params.max_age_days is not None:
            stale = self._age(ctx, front, params.max_age_days)
        problems = ([f"missing section(s): {', '.join(absent)}"] if absent else []) + few + (
            [stale] if stale else [])
        metrics = (Metric(name="missing_sections", value=float(len(absent)),
                          n=len(params.sections), threshold={"max": 0.0},
                          status=Status.FAIL if absent else Status.PASS),)
        details = {"document": ref, "missing": absent, "short_lists": few}
        if problems:
            return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details,
                                summary=f"The {params.document.replace('_', ' ')} ({path.name}) "
                                        f"is incomplete: {'; '.join(problems)}.")
        return CheckOutcome(status=Status.PASS, metrics=metrics, details=details,
                            summary=f"The {params.document.replace('_', ' ')} ({path.name}) has "
                                    f"every required section ({len(params.sections)}).")

    @staticmethod
    def _age(ctx: AuditContext, front: dict[str, Any], days: int) -> str | None:
        from cxaudit.lawdates import resolve_audit_date

        when = resolve_audit_date(ctx)
        value = front.get("date")
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
        if not isinstance(value, date):
            return "no front-matter `date` (YYYY-MM-DD) to judge its age by"
        if when.day is None:
            return "no audit date to judge its age at (give --as-of)"
        age = (when.day - value).days
        return f"dated {value.isoformat()}, {age} days old (at most {days})" if age > days else None


CHECKS: tuple[type[Check], ...] = (Deadline, Disclosure, Exercised, DocumentContents)
