"""Direct identifiers and special-category data among the model's features."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.checks.privacy.detectors import (
    PII_NAME_RULES,
    SPECIAL_NAME_RULES,
    match_name,
    special_value_kind,
    value_kind,
)
from cxaudit.context import AuditContext
from cxaudit.result import Metric, Status


class ScanParams(CheckParams):
    """Declaration shared by the feature scans."""

    sample_size: int = Field(default=2000, ge=10, description="Rows sampled for value patterns.")
    min_share: float = Field(default=0.5, gt=0, le=1, description="Share of sampled values "
                             "that must match a pattern for the column to be flagged.")
    allowed: dict[str, str] = Field(default_factory=dict, description="Features allowed "
                                    "despite a match, with the justification (shown).")


def unknown_features(ctx: AuditContext, what: str) -> CheckOutcome | None:
    """The inconclusive outcome of a check about the model's inputs when nobody said what
    they are (no ``data.features``, no model naming them); None when they are known."""
    from cxaudit.context import DECLARE_FEATURES, features_known

    if features_known(ctx.policy, ctx.model):
        return None
    return CheckOutcome(status=Status.INCONCLUSIVE,
                        summary=f"Cannot tell {what} without the list of the model's inputs: "
                                f"{DECLARE_FEATURES}, or pass a model that names them "
                                "(--model). Every other column is not assumed to be one.")


def sample_features(ctx: AuditContext, size: int) -> pd.DataFrame:
    """A seeded random sample of the model features (all rows when fewer)."""
    features = [f for f in ctx.features if f in ctx.data_columns]
    frame = ctx.engine.to_pandas(ctx.frame, features)
    if len(frame) > size:
        frame = frame.sample(n=size, random_state=ctx.seed)
    return frame


def _categorical_flag(values: pd.Series) -> bool:
    # A yes/no or small set of labels ("PhoneService": Yes/No) is not an identifier.
    return values.dropna().nunique() <= 10


def _outcome(kind: str, found: list[dict[str, Any]], allowed: dict[str, str], scanned: int,
             what: str) -> CheckOutcome:
    metrics = [Metric(name="features_flagged", group={"feature": f["feature"]}, value=f["share"],
                      note=f"{f['kind']} by {f['found_by']}",
                      status=Status.PASS if f["feature"] in allowed else Status.FAIL)
               for f in found]
    blocking = [f for f in found if f["feature"] not in allowed]
    details = {"flagged": found, "allowed": {k: v for k, v in allowed.items()
                                             if k in {f["feature"] for f in found}},
               "features_scanned": scanned}
    if not blocking:
        note = f" ({len(found)} allowed with a justification)" if found else ""
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"None of the {scanned} features carries {what}{note}.")
    listed = "; ".join(f"{f['feature']} ({f['kind']}, by {f['found_by']})" for f in blocking[:6])
    return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                        summary=f"{len(blocking)} of {scanned} features carry {what}: {listed}"
                                f"{' …' if len(blocking) > 6 else ''}.")


class PiiFeatures(Check):
    """Direct identifiers in features: no names, emails, phones, addresses, ids, IPs or cards.

    A model does not need to know *who* a customer is to predict churn or pick
    an offer; direct identifiers among its inputs break data minimisation and
    make every model artefact personal data. Each feature is checked by its
    name (``email``, ``customer_name``, ``ip_address``, ``ssn`` ...) and by the
    values of a seeded sample: email and IP patterns, phone numbers, street
    addresses, national ids (US SSN, UK NINO, IBAN with its mod-97 check),
    card numbers (13-19 digits passing the Luhn check) and personal names. A
    column whose name looks like an identifier but holds a handful of labels
    (``PhoneService: Yes/No``) is not flagged. Values are never reported.

    Example::

        - id: no-direct-identifiers
          type: privacy.pii_features
          sample_size: 2000
          min_share: 0.5
          severity: block
    """

    type = "privacy.pii_features"
    params_model = ScanParams
    rule = "GDPR Art. 5(1)(c) data minimisation; Art. 25 data protection by design"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ScanParams = self.params  # type: ignore[assignment]
        unknown = unknown_features(ctx, "whether the model uses direct identifiers")
        if unknown is not None:
            return unknown
        sample = sample_features(ctx, params.sample_size)
        found: list[dict[str, Any]] = []
        for feature in sample.columns:
            values = sample[feature]
            if feature == ctx.policy.data.id:
                found.append({"feature": feature, "kind": "subject id", "found_by": "data.id",
                              "share": 1.0})
                continue
            kind, share = value_kind(values, params.min_share)
            if kind:
                found.append({"feature": feature, "kind": kind, "found_by": "values",
                              "share": round(share, 4)})
                continue
            by_name = match_name(str(feature), PII_NAME_RULES)
            if by_name and not _categorical_flag(values):
                found.append({"feature": feature, "kind": by_name, "found_by": "name",
                              "share": 1.0})
        return _outcome("pii", found, params.allowed, len(sample.columns), "direct identifiers")


class SpecialCategory(Check):
    """Special-category data in features: health, religion, ethnicity, sexuality, biometrics, politics, unions.

    GDPR Art. 9 forbids processing these categories without an Art. 9(2)
    exception; the EU AI Act Art. 10(5) allows them only where strictly
    necessary to detect bias, never as ordinary model inputs. A feature is
    flagged when the policy declares it (``consent.special_category``), when
    its name says so (``health_status``, ``religion``, ``ethnicity`` ...) or
    when its sampled values come from such a vocabulary (at least two distinct
    terms covering ``min_share`` of the values). List a feature under
    ``allowed`` with its Art. 9(2) basis to accept it.

    Example::

        consent:
          special_category: [disability_flag]
        checks:
          - id: no-special-category-features
            type: privacy.special_category
            allowed: {}
            severity: block
    """

    type = "privacy.special_category"
    params_model = ScanParams
    rule = "GDPR Art. 9(1); EU AI Act Art. 10(5)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: ScanParams = self.params  # type: ignore[assignment]
        unknown = unknown_features(ctx, "whether the model uses special-category data")
        if unknown is not None:
            return unknown
        sample = sample_features(ctx, params.sample_size)
        declared = set(ctx.policy.consent.special_category) if ctx.policy.consent else set()
        found: list[dict[str, Any]] = []
        for feature in sample.columns:
            if feature in declared:
                found.append({"feature": feature, "kind": "declared", "found_by": "policy",
                              "share": 1.0})
                continue
            by_name = match_name(str(feature), SPECIAL_NAME_RULES)
            if by_name:
                found.append({"feature": feature, "kind": by_name, "found_by": "name",
                              "share": 1.0})
                continue
            kind, share = special_value_kind(sample[feature], params.min_share * 0.6)
            if kind:
                found.append({"feature": feature, "kind": kind, "found_by": "values",
                              "share": round(share, 4)})
        return _outcome("special", found, params.allowed, len(sample.columns),
                        "special-category data")


CHECKS = (PiiFeatures, SpecialCategory)
