"""Checks on the rows themselves: duplicates and freshness."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.checks.data_quality._common import plural
from cxaudit.context import AuditContext
from cxaudit.masking import EXAMPLES_HINT, hash_ids
from cxaudit.policy.validators import known_time_zone
from cxaudit.result import Metric, Status


class DuplicatesParams(CheckParams):
    """Declaration of ``data.duplicates``."""

    columns: list[str] | None = Field(default=None, description="Key columns (default: data.id; "
                                      "`[]` for fully duplicated rows).")
    max_rate: float = Field(default=0.0, ge=0, le=1, description="Largest allowed share of rows "
                            "that repeat an earlier row's key.")


class Duplicates(Check):
    """Duplicates: one row per customer (or no row repeated verbatim).

    Duplicated customers weigh twice in training and in every group metric,
    and duplicated rows often mean a broken join. With ``columns`` (default:
    the policy's ``data.id``) rows sharing a key count as duplicates; with
    ``columns: []`` only rows identical in every column do. Fails when the
    share of rows repeating an earlier key exceeds ``max_rate`` (default 0).
    Examples are salted hashes of the duplicated keys, never the keys.

    Example::

        - id: one-row-per-customer
          type: data.duplicates
          columns: [customerID]
    """

    type = "data.duplicates"
    params_model = DuplicatesParams
    rule = "EU AI Act Art. 10(3): training data free of errors"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: DuplicatesParams = self.params  # type: ignore[assignment]
        if params.columns is None:
            if not ctx.policy.data.id:
                return CheckOutcome(status=Status.ERROR, summary="No key columns: set data.id in "
                                    "the policy, or `columns:` (`[]` for whole rows).")
            columns = [ctx.policy.data.id]
        else:
            columns = list(params.columns) or list(ctx.data_columns)
        absent = [c for c in columns if c not in ctx.data_columns]
        if absent:
            return CheckOutcome(status=Status.ERROR,
                                summary=f"Column(s) {', '.join(absent)} are not in the data.")
        rows = ctx.engine.num_rows(ctx.frame)
        repeated, keys, examples = ctx.engine.duplicate_keys(ctx.frame, columns)
        rate = repeated / rows if rows else 0.0
        ok = rate <= params.max_rate
        what = "fully duplicated rows" if not params.columns and params.columns is not None \
            else f"rows repeating a key of {', '.join(columns)}"
        metrics = (
            Metric(name="duplicate_rate", value=rate, n=rows, threshold={"max": params.max_rate},
                   status=Status.PASS if ok else Status.FAIL, note=what),
            Metric(name="duplicate_rows", value=float(repeated), n=rows),
            Metric(name="duplicated_keys", value=float(keys), n=rows),
        )
        hashed = hash_ids(["|".join(str(v) for v in key) for key in examples],
                          limit=len(examples))
        details = {"columns": columns, "examples": hashed}
        if examples and not hashed:
            details["examples_hidden"] = EXAMPLES_HINT
        if not ok:
            shown = f", e.g. {', '.join(hashed[:3])}" if hashed else ""
            return CheckOutcome(status=Status.FAIL, metrics=metrics, details=details, summary=(
                f"{plural(repeated, 'row')} ({rate:.2%}) are {what} ({plural(keys, 'key')} "
                f"affected{shown}); at most {params.max_rate:.2%} allowed."))
        return CheckOutcome(status=Status.PASS, metrics=metrics, details=details, summary=(
            f"{plural(repeated, 'row')} ({rate:.2%}) are {what}; at most "
            f"{params.max_rate:.2%} allowed."))


class FreshnessParams(CheckParams):
    """Declaration of ``data.freshness``."""

    column: str | None = Field(default=None, description="Timestamp column "
                               "(default: data.timestamp).")
    max_age_days: float = Field(gt=0, description="The newest timestamp may be at most this old.")
    timezone: str | None = Field(default=None, description="IANA zone the timestamps were "
                                 "recorded in, required when they carry no UTC offset.")
    as_of: datetime | None = Field(default=None, description="Moment to measure age from, with "
                                   "its zone (default: the audit's date, --as-of or the "
                                   "policy's as_of; without one the check is inconclusive).")
    format: str = Field(default="ISO8601", description="strftime format of text timestamps.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_time_zone(value)

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("`as_of` needs a UTC offset, e.g. 2026-11-23T00:00:00Z: naive and "
                             "aware times are never compared silently")
        return value


class Freshness(Check):
    """Freshness: the data is recent enough to describe today's customers.

    A model audited (or trained) on a stale extract measures customers who
    have since left, moved or changed plans. This takes the newest timestamp
    of ``column`` and fails when it is older than ``max_age_days``. Time
    zones are explicit: timestamps with a UTC offset are compared as such;
    timestamps without one need ``timezone:`` (the zone they were recorded
    in) — the check never guesses. ``as_of`` pins the reference moment.

    Example::

        - id: recent-snapshot
          type: data.freshness
          column: snapshot_date
          max_age_days: 35
          timezone: Europe/Paris
    """

    type = "data.freshness"
    params_model = FreshnessParams
    rule = "EU AI Act Art. 10(3): data relevant for the intended purpose"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: FreshnessParams = self.params  # type: ignore[assignment]
        column = params.column or ctx.policy.data.timestamp
        if not column:
            return CheckOutcome(status=Status.ERROR, summary="No timestamp column: set "
                                "`column:` or data.timestamp in the policy.")
        if column not in ctx.data_columns:
            return CheckOutcome(status=Status.ERROR, summary=f"Column {column!r} is not in the data.")
        found = ctx.engine.datetime_range(ctx.frame, column, format=params.format)
        newest: Any = found["max"]
        if newest is None:
            return CheckOutcome(status=Status.ERROR, summary=(
                f"No value of {column!r} is a timestamp in format {params.format} "
                f"({plural(found['unparseable'], 'value')} unparseable)."))
        if found["aware"]:
            newest = newest.tz_convert("UTC")
            zone_note = "timestamps carry UTC offsets"
        elif params.timezone is None:
            return CheckOutcome(status=Status.ERROR, summary=(
                f"The timestamps in {column!r} have no time zone; declare the zone they were "
                f"recorded in (`timezone: UTC` or e.g. `timezone: Europe/Paris`) at "
                f"{ctx.policy.locate('checks', params.id)}."))
        else:
            newest = newest.tz_localize(ZoneInfo(params.timezone), ambiguous=True,
                                        nonexistent="shift_forward").tz_convert("UTC")
            zone_note = f"naive timestamps read as {params.timezone}"
        if params.as_of is not None:
            as_of = params.as_of.astimezone(timezone.utc)
        else:
            # The audit's date input, never the wall clock: reruns stay identical.
            from cxaudit.lawdates import GIVE_AS_OF, resolve_audit_date

            when = resolve_audit_date(ctx)
            if when.moment is None or when.from_data:
                why = ("the audit date is the data's own latest event time, against which "
                       "the data is always fresh" if when.from_data else "the audit has no date")
                return CheckOutcome(status=Status.INCONCLUSIVE, details={
                    "newest": newest.isoformat(), "as_of": None},
                    summary=f"The newest {column} is {newest.isoformat()}; its age cannot be "
                            f"judged: {why}. {GIVE_AS_OF[0].upper()}{GIVE_AS_OF[1:]}, or the "
                            "check's `as_of`.")
            as_of = when.moment
        age_days = (as_of - newest.to_pydatetime()).total_seconds() / 86400
        ok = age_days <= params.max_age_days
        metrics = (Metric(name="age_days", value=age_days, n=found["values"],
                          threshold={"max": params.max_age_days},
                          status=Status.PASS if ok else Status.FAIL, note=zone_note),
                   Metric(name="unparseable_timestamps", value=float(found["unparseable"]),
                          n=found["values"]))
        details = {"newest": newest.isoformat(), "as_of": as_of.isoformat(),
                   "oldest": _utc(found["min"], found["aware"], params.timezone)}
        summary = (f"The newest {column} is {age_days:.1f} days old (at most "
                   f"{params.max_age_days:g} allowed; {zone_note}).")
        if found["unparseable"]:
            summary += f" {plural(found['unparseable'], 'value')} could not be read as timestamps."
        return CheckOutcome(status=Status.PASS if ok else Status.FAIL, summary=summary,
                            metrics=metrics, details=details)


def _utc(value: Any, aware: bool, zone: str | None) -> str | None:
    if value is None:
        return None
    if aware:
        return value.tz_convert("UTC").isoformat()
    return value.tz_localize(ZoneInfo(zone or "UTC"), ambiguous=True,
                             nonexistent="shift_forward").tz_convert("UTC").isoformat()
