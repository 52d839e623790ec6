"""Data minimisation (every feature justified) and storage limitation (retention)."""

from __future__ import annotations

from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.context import AuditContext
from cxaudit.errors import InputError
from cxaudit.loaders.timestamps import require_compatible, scalar_micros
from cxaudit.masking import hash_ids
from cxaudit.result import Metric, Status

_DAY_US = 86_400 * 1_000_000


class Minimisation(Check):
    """Data minimisation: every feature the model uses has a declared justification.

    Personal data must be "adequate, relevant and limited to what is necessary"
    for the purpose. The policy states, per feature, why the model needs it
    (``consent.feature_justifications``); features without one fail the check.
    Justifications for columns the model does not use are listed as stale.

    Example::

        consent:
          feature_justifications:
            tenure: "churn risk rises in the first months of a contract"
            Contract: "month-to-month customers can leave at any time"
        checks:
          - id: every-feature-justified
            type: privacy.minimisation
            severity: warn
    """

    type = "privacy.minimisation"
    params_model = CheckParams
    rule = "GDPR Art. 5(1)(c) data minimisation; Art. 25(2)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.checks.privacy.pii import unknown_features

        unknown = unknown_features(ctx, "whether every input of the model is justified")
        if unknown is not None:
            return unknown
        declared = ctx.policy.consent.feature_justifications if ctx.policy.consent else {}
        features = list(ctx.features)
        missing = [f for f in features if f not in declared]
        stale = sorted(set(declared) - set(features))
        metrics = [Metric(name="features_justified", value=float(len(features) - len(missing)),
                          n=len(features)),
                   Metric(name="features_without_justification", value=float(len(missing)),
                          n=len(features), threshold={"max": 0.0},
                          status=Status.FAIL if missing else Status.PASS)]
        details = {"unjustified": missing, "stale_justifications": stale}
        if missing:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"{len(missing)} of {len(features)} features have no "
                                        f"declared justification: {', '.join(missing[:8])}"
                                        f"{' …' if len(missing) > 8 else ''} (add them under "
                                        "consent.feature_justifications, or drop them).")
        note = f" ({len(stale)} justification(s) name unused columns)" if stale else ""
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"All {len(features)} features have a declared "
                                    f"justification{note}.")


class RetentionParams(CheckParams):
    """Declaration of ``privacy.retention``."""

    retention_days: int | None = Field(default=None, ge=1, description="Override of "
                                       "consent.retention_days.")
    examples: int = Field(default=5, ge=0, le=20, description="Hashed example subjects.")


class Retention(Check):
    """Retention: no row is older than the declared retention period.

    Rows whose event time (``data.timestamp``) is more than
    ``consent.retention_days`` before the reference date must have been
    deleted or anonymised. The reference date is ``consent.as_of`` when set,
    else the audit's date (``--as-of``, the policy's ``as_of``, else the latest
    event time; stated in the finding) — never the wall clock. Without a timestamp column the
    age of rows is unknown and the check reports insufficient data — it never
    passes silently.

    Example::

        consent:
          retention_days: 730
        checks:
          - id: storage-limitation
            type: privacy.retention
            severity: block
    """

    type = "privacy.retention"
    params_model = RetentionParams
    rule = "GDPR Art. 5(1)(e) storage limitation"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.consent.states import event_times

        params: RetentionParams = self.params  # type: ignore[assignment]
        spec = ctx.policy.consent
        days = params.retention_days or (spec.retention_days if spec else None)
        if days is None:
            raise InputError(f"{ctx.policy.locate('checks', params.id)}: privacy.retention "
                             "needs a retention period", hint="set consent.retention_days")
        if not ctx.policy.data.timestamp:
            return CheckOutcome(status=Status.INSUFFICIENT_DATA, details={"retention_days": days},
                                summary="The data has no event time (data.timestamp), so the "
                                        "age of its rows cannot be judged against the "
                                        f"{days}-day retention period.")
        zone = spec.timezone if spec else None
        times = event_times(ctx).times
        as_of = spec.as_of if spec and spec.as_of is not None else None
        note = ""
        if as_of is not None:
            reference = scalar_micros(as_of, timezone=zone)
            source = f"consent.as_of {as_of.isoformat()}"
        else:
            # The audit's date input (--as-of, the policy's as_of, the latest event time),
            # never the wall clock: reruns of the same audit stay identical.
            from cxaudit.lawdates import GIVE_AS_OF, resolve_audit_date

            when = resolve_audit_date(ctx)
            if when.moment is None:
                return CheckOutcome(status=Status.INCONCLUSIVE, details={"retention_days": days},
                                    summary=f"The audit has no date to measure the age of rows "
                                            f"from: {GIVE_AS_OF}.")
            now = when.moment
            reference = scalar_micros(now if times.aware else now.replace(tzinfo=None),
                                      timezone=None)
            source = f"the audit date {now.isoformat()} ({when.source})"
            if not times.aware:
                note = " (naive event times compared with the audit date in UTC)"
        require_compatible(times, f"data.timestamp {ctx.policy.data.timestamp!r}", reference,
                           "the retention reference date")
        cutoff = int(reference.micros[0]) - days * _DAY_US
        old = ~times.missing & (times.micros < cutoff)
        n = len(old)
        count = int(old.sum())
        ids = []
        if count and ctx.policy.data.id:
            column = ctx.policy.data.id
            subjects = ctx.engine.to_pandas(ctx.frame, [column])[column].reset_index(drop=True)
            ids = hash_ids(subjects[old].drop_duplicates(), limit=params.examples)
        oldest = int(times.micros[~times.missing].min()) if (~times.missing).any() else None
        age = (int(reference.micros[0]) - oldest) / _DAY_US if oldest is not None else None
        metrics = [Metric(name="rows_past_retention", value=float(count), n=n,
                          threshold={"max": 0.0}, status=Status.FAIL if count else Status.PASS),
                   Metric(name="rows_past_retention_share", value=count / n if n else 0.0, n=n),
                   Metric(name="oldest_row_age_days", value=age)]
        details = {"retention_days": days, "reference": source + note,
                   "rows_without_time": int(times.missing.sum()), "example_subjects": ids}
        if count:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"{count:,} of {n:,} rows ({count / n:.1%}) are older "
                                        f"than the {days}-day retention period (reference: "
                                        f"{source}{note}); the oldest is {age:,.0f} days old.")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"No row is older than the {days}-day retention period "
                                    f"(reference: {source}{note}).")


CHECKS = (Minimisation, Retention)
