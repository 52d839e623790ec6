"""Checks on what subjects told the controller: objections, opt-outs, age."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.consent._common import ConsentParams, finding
from cxaudit.consent.states import OPT_OUT_STATES, consent_view
from cxaudit.context import DECISION, AuditContext
from cxaudit.errors import InputError
from cxaudit.result import Metric, Status


class ObjectionParams(ConsentParams):
    """Declaration of ``consent.objection``."""

    purposes: list[str] = Field(
        default_factory=list, description="Further ledger purposes whose objections also bar "
        "this model (e.g. direct_marketing, profiling); the audited purpose always counts.")


class Objection(Check):
    """Objections: subjects who objected to direct marketing or profiling are not processed.

    An objection (GDPR Art. 21) is a ledger record with ``signal: objection``
    (status refused, or withdrawn with ``withdrawn_at``). A row is reported when
    an objection was in force at its event time for the audited purpose or any
    purpose listed under ``purposes`` (an objection to ``direct_marketing``
    also bars a retention-offer model). For direct-marketing purposes the
    objection is absolute (Art. 21(3)); the finding says whether the audited
    purpose is one (``consent.purposes.<id>.direct_marketing`` or the built-in
    TCF mapping).

    Example::

        - id: objections-honoured
          type: consent.objection
          purposes: [direct_marketing, profiling]
          severity: block
    """

    type = "consent.objection"
    params_model = ObjectionParams
    rule = "GDPR Art. 21(2)-(3): the right to object to direct marketing, including profiling"
    requires: ClassVar[frozenset[str]] = frozenset({"consent"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ObjectionParams = self.params  # type: ignore[assignment]
        view = consent_view(ctx)
        affected = view.mask("objected")
        per_purpose = {view.rules.purpose: int(affected.sum())}
        for purpose in params.purposes:
            if purpose == view.rules.purpose:
                continue
            other = consent_view(ctx, purpose).mask("objected")
            per_purpose[purpose] = int(other.sum())
            affected = affected | other
        marketing = view.rules.direct_marketing
        metrics = [Metric(name="objected_rows", group={"purpose": p}, value=float(k))
                   for p, k in per_purpose.items()]
        kind = ("direct marketing: objections are absolute" if marketing
                else "not declared as direct marketing")
        return finding(ctx, view, affected, params,
                       problem=f"were processed although the subject objected ({kind})",
                       clean="No row belongs to a subject with an objection in force",
                       extra_metrics=metrics,
                       extra_details={"direct_marketing": marketing,
                                      "objection_purposes": list(per_purpose)})


class OptOutParams(ConsentParams):
    """Declaration of ``consent.opt_out_honoured``."""

    column: str | None = Field(default=None, description="Treatment column (default: "
                               "consent.fallback.column, data.prediction, else the 0/1 "
                               "decision from the model or from data.score).")
    fallback: str | int | float | bool | None = Field(
        default=None, description="Fallback value (default: consent.fallback.value).")


def _treatment(ctx: AuditContext, params: OptOutParams) -> tuple[str, Any, pd.Series]:
    """The treatment column's name, the fallback value, and each row's treatment."""
    declared = ctx.policy.consent.fallback if ctx.policy.consent else None
    value = params.fallback if params.fallback is not None else (declared.value if declared
                                                                 else None)
    column = params.column or (declared.column if declared else None) or \
        ctx.policy.data.prediction
    if value is None:
        raise InputError(f"{ctx.policy.locate('consent')}: consent.opt_out_honoured needs the "
                         "declared non-personalised fallback",
                         hint="set consent.fallback: {value: 0} (the model's decision) or "
                              "{column: offer, value: generic}")
    if column is None:
        if not ctx.has_decision:
            raise InputError(f"{ctx.policy.locate('consent', 'fallback')}: no treatment to "
                             "compare with the fallback", hint="give consent.fallback.column, "
                             "data.prediction, or a model (--model)")
        # The model's own 0/1 decision, made once for the audit.
        treatment = ctx.engine.to_pandas(ctx.frame, [DECISION])[DECISION]
        return "model decision", value, treatment.reset_index(drop=True)
    if column not in ctx.data_columns:
        raise InputError(f"{ctx.policy.locate('consent', 'fallback')}: treatment column "
                         f"{column!r} is not in the data", hint="name a column of the scoring log")
    treatment = ctx.engine.to_pandas(ctx.frame, [column])[column]
    return column, value, treatment.reset_index(drop=True)


def _equals(values: pd.Series, expected: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype) and not isinstance(expected, str):
        return np.isclose(pd.to_numeric(values).to_numpy(dtype=float), float(expected),
                          rtol=0, atol=1e-12)
    text = values.astype("string").str.strip()
    wanted = str(expected).strip()
    if isinstance(expected, bool):
        return text.str.lower().isin({wanted.lower()}).fillna(False).to_numpy(dtype=bool)
    return (text == wanted).fillna(False).to_numpy(dtype=bool)


class OptOutHonoured(Check):
    """Opt-outs honoured: opted-out subjects received the non-personalised fallback.

    In a scoring log, every row whose subject had opted out at the event time
    — refused, withdrew, objected, or sent a Global Privacy Control (GPC) or
    other opt-out signal — must carry the declared fallback treatment (e.g. the
    generic offer, or decision 0) rather than a personalised one. The treatment
    is ``consent.fallback.column`` (default ``data.prediction``, else the 0/1
    decision the audit derives from the model or from ``data.score`` and its
    threshold, so ``fallback: {value: 0}`` means "no personalised offer"). Rows that got
    anything else are reported; GPC-signalled subjects are counted separately.

    Example::

        consent:
          fallback: {column: offer, value: generic}
        checks:
          - id: opt-outs-get-generic-offer
            type: consent.opt_out_honoured
            severity: block
    """

    type = "consent.opt_out_honoured"
    params_model = OptOutParams
    rule = ("GDPR Art. 21(3), Art. 7(3); CCPA §1798.120/.135 and 11 CCR §7025 (GPC); "
            "DSA Art. 38 non-profiling option")
    requires: ClassVar[frozenset[str]] = frozenset({"consent"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: OptOutParams = self.params  # type: ignore[assignment]
        column, fallback, treatment = _treatment(ctx, params)
        view = consent_view(ctx)
        opted_out = view.mask(*OPT_OUT_STATES) | view.signal_mask("gpc", "opt_out")
        got_fallback = _equals(treatment, fallback)
        affected = opted_out & ~got_fallback
        gpc = view.signal_mask("gpc")
        metrics = [
            Metric(name="opted_out_rows", value=float(opted_out.sum()), n=len(opted_out)),
            Metric(name="gpc_rows", value=float(gpc.sum()), n=len(opted_out)),
            Metric(name="gpc_rows_not_honoured", value=float((affected & gpc).sum()),
                   n=int(gpc.sum())),
        ]
        outcome = finding(ctx, view, affected, params,
                          problem=f"belong to opted-out subjects but did not get the fallback "
                                  f"{column} = {fallback!r}",
                          clean=f"Every opted-out row ({int(opted_out.sum()):,}, of which "
                                f"{int(gpc.sum()):,} by GPC) got the fallback "
                                f"{column} = {fallback!r}",
                          extra_metrics=metrics,
                          extra_details={"treatment_column": column, "fallback": fallback,
                                         "opted_out_rows": int(opted_out.sum()),
                                         "gpc_rows": int(gpc.sum())})
        return outcome


class MinorsParams(ConsentParams):
    """Declaration of ``consent.minors``."""

    unverified: Status = Field(
        default=Status.WARN, description="Status when subjects' age is neither known nor "
        "verified and no parental consent is recorded (warn, fail or pass).")


class Minors(Check):
    """Minors: subjects under the age limit have consent from a holder of parental responsibility.

    With ``consent.age_column`` (age in years at the event time) rows of
    subjects younger than ``consent.age_limit`` (default 16; member states may
    set 13-16) fail unless the record in force has ``parental_consent: true``.
    Rows whose age is unknown and whose record does not say ``age_verified:
    true`` (nor parental consent) are reported as unverified (``unverified:``
    sets their status, default warn). Without any age information the check
    reports insufficient data rather than passing.

    Example::

        consent:
          age_limit: 16
          age_column: age
        checks:
          - id: parental-consent-for-minors
            type: consent.minors
            severity: block
    """

    type = "consent.minors"
    params_model = MinorsParams
    rule = "GDPR Art. 8(1): a child's consent needs a holder of parental responsibility"
    requires: ClassVar[frozenset[str]] = frozenset({"consent"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: MinorsParams = self.params  # type: ignore[assignment]
        spec = ctx.policy.consent
        limit = spec.age_limit if spec else 16
        age_column = spec.age_column if spec else None
        view = consent_view(ctx)
        has_ledger_info = bool(set(view.ledger.attrs.get("cxaudit_ledger", {}).get(
            "optional_columns", ())) & {"age_verified", "parental_consent"})
        parental = view.record_values("parental_consent").fillna(False).to_numpy(dtype=bool)
        verified = view.record_values("age_verified").fillna(False).to_numpy(dtype=bool)
        n = len(parental)
        if age_column:
            if age_column not in ctx.data_columns:
                raise InputError(f"{ctx.policy.locate('consent', 'age_column')}: age column "
                                 f"{age_column!r} is not in the data", hint="name a data column")
            age = pd.to_numeric(ctx.engine.to_pandas(ctx.frame, [age_column])[age_column],
                                errors="coerce").to_numpy(dtype=float)
            known = ~np.isnan(age)
            minor = known & (age < limit)
        elif has_ledger_info:
            known = np.zeros(n, dtype=bool)
            minor = np.zeros(n, dtype=bool)
        else:
            return CheckOutcome(
                status=Status.INSUFFICIENT_DATA,
                summary="No age information: the data has no consent.age_column and the ledger "
                        "no age_verified/parental_consent columns, so minors cannot be found.",
                details={"age_limit": limit})
        violating = minor & ~parental
        unverified = ~known & ~verified & ~parental
        outcome = finding(ctx, view, violating, params,
                          problem=f"are of subjects under {limit} without recorded parental "
                                  "consent",
                          clean=(f"No row of a subject under {limit} lacks parental consent"
                                 if age_column else
                                 f"No subject is known to be under {limit} (no consent.age_column;"
                                 " judged from the ledger's age_verified/parental_consent)"),
                          extra_metrics=[
                              Metric(name="minor_rows", value=float(minor.sum()), n=n),
                              Metric(name="age_unverified_rows", value=float(unverified.sum()),
                                     n=n, status=params.unverified if unverified.any()
                                     else Status.PASS)],
                          extra_details={"age_limit": limit, "age_source": age_column or
                                         "ledger age_verified / parental_consent",
                                         "age_unverified_rows": int(unverified.sum())})
        if outcome.status is Status.PASS and unverified.any() and params.unverified is not Status.PASS:
            summary = (f"{int(unverified.sum()):,} of {n:,} rows belong to subjects whose age is "
                       f"neither known nor verified and who have no parental consent on record "
                       f"(age limit {limit}). " + outcome.summary)
            return outcome.model_copy(update={"status": params.unverified, "summary": summary})
        return outcome


CHECKS = (Objection, OptOutHonoured, Minors)
