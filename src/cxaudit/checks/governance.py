"""Governance checks: what the policy's ``system:`` block declares about the model.

These checks read the policy, not the data: who owns and approves the model,
what it is for, how much it decides alone, who can override it, and which
governance documents exist. A declaration is only as true as the people who
wrote it; the report records what was declared so that it can be held to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.context import AuditContext
from cxaudit.policy.model import Automation, DocumentKind
from cxaudit.result import Metric, Status

MetadataField = Literal["owner", "approver", "purpose", "journey_stage", "automation",
                        "model_type", "intervention", "description", "significant_effect",
                        "decision_log"]

_DOCUMENT_NAMES = {
    "dpia": "data protection impact assessment",
    "intended_use": "intended-use statement",
    "impact_assessment": "impact assessment",
    "technical_documentation": "technical documentation",
    "pre_use_notice": "pre-use notice",
    "risk_assessment": "risk assessment",
    "developer_documentation": "developer documentation",
    "access_response": "access-response template",
    "decision_rights": "decision-rights statement",
}


def _declared(system: object, name: str) -> bool:
    """A field counts as declared when the policy set it to a non-empty value.

    Fields with defaults (``automation``, ``model_type``) count only when the
    policy wrote them: a default is not a declaration.
    """
    if name not in system.model_fields_set:  # type: ignore[attr-defined]
        return False
    value = getattr(system, name)
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


def _finding(field: str, ok: bool, note: str | None = None) -> Metric:
    return Metric(name="declared", group={"field": field}, value=1.0 if ok else 0.0,
                  status=Status.PASS if ok else Status.FAIL, note=note)


class MetadataParams(CheckParams):
    """Declaration of ``governance.metadata``."""

    require: list[MetadataField] = Field(
        default_factory=lambda: ["owner", "approver", "purpose", "journey_stage", "automation"],
        min_length=1, description="`system:` fields the policy must declare.")


class Metadata(Check):
    """Accountability metadata: owner, approver, purpose, journey stage and automation level.

    An audit of a model nobody owns gates nothing. This check fails when the
    policy's ``system:`` block leaves out a field the pack requires. Fields
    with defaults (``automation``, ``model_type``) must be written out: a
    default is not a declaration. The values are shown in the report so a
    reader can hold the team to them.

    Failing example: a policy with ``system: {name: churn-v3}`` only — no owner,
    no approver, no purpose, no journey stage, automation level not stated.

    Example::

        system:
          name: churn-retention-offers
          owner: data-team@example.com
          approver: head-of-cx@example.com
          purpose: retention_offers
          journey_stage: retention
          automation: human_in_the_loop
        checks:
          - id: accountable-owner
            type: governance.metadata
            require: [owner, approver, purpose, journey_stage, automation]
    """

    type = "governance.metadata"
    params_model = MetadataParams
    rule = "EU AI Act Art. 13(3)(a), 17; NIST AI RMF GOVERN 2.1, MAP 1.1; ISO/IEC 42001 A.3.2"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: MetadataParams = self.params  # type: ignore[assignment]
        system = ctx.policy.system
        metrics, missing = [], []
        declared: dict[str, str] = {}
        for name in dict.fromkeys(params.require):
            ok = _declared(system, name)
            metrics.append(_finding(name, ok))
            if ok:
                value = getattr(system, name)
                declared[name] = str(getattr(value, "value", value))
            else:
                missing.append(name)
        if missing:
            return CheckOutcome(
                status=Status.FAIL, metrics=tuple(metrics), details={"declared": declared,
                                                                     "missing": missing},
                summary=f"The policy's system block does not declare {', '.join(missing)}; add "
                        f"{'it' if len(missing) == 1 else 'them'} under `system:`.")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics),
                            details={"declared": declared},
                            summary=f"{system.name} declares {', '.join(declared)}.")


class OversightParams(CheckParams):
    """Declaration of ``governance.oversight``."""

    require_for: list[Automation] = Field(
        default_factory=lambda: [Automation.autonomous],
        description="Automation levels that must declare an override mechanism and a reviewer.")
    significant_effect_needs_human: bool = Field(
        default=False, description="Fail a system that declares `significant_effect: true` "
        "and `automation: autonomous` without an override mechanism and reviewer, and ask "
        "every system to declare `significant_effect` (GDPR Art. 22).")


class Oversight(Check):
    """Human oversight: an autonomous system names who can override it and how.

    A model that acts without a person in the loop needs a way for a person to
    step in: an override or stop mechanism and a named reviewer. The check
    applies to the automation levels in ``require_for`` (default: autonomous;
    high-risk packs add ``human_in_the_loop``). With
    ``significant_effect_needs_human: true`` it also requires every system to
    say whether its decisions have legal or similarly significant effects
    (GDPR Art. 22(1)), and such a system deciding alone must declare the human
    intervention Art. 22(3) requires. It checks declarations, not practice.

    Failing example: ``automation: autonomous`` with no ``override_mechanism``.

    Example::

        system:
          automation: autonomous
          override_mechanism: agents can cancel an offer from the CRM case view
          reviewer: retention-team-lead
        checks:
          - id: human-can-override
            type: governance.oversight
            require_for: [autonomous]
    """

    type = "governance.oversight"
    params_model = OversightParams
    rule = "EU AI Act Art. 14(4)(d)-(e); GDPR Art. 22(3)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: OversightParams = self.params  # type: ignore[assignment]
        system = ctx.policy.system
        level = system.automation
        metrics: list[Metric] = []
        problems: list[str] = []
        applies = level in params.require_for
        if params.significant_effect_needs_human:
            ok = system.significant_effect is not None
            metrics.append(_finding("significant_effect", ok))
            if not ok:
                problems.append("it does not say whether decisions have legal or similarly "
                                "significant effects (`significant_effect: true|false`)")
            elif system.significant_effect and level is Automation.autonomous:
                applies = True
        if applies:
            for name in ("override_mechanism", "reviewer"):
                ok = _declared(system, name)
                metrics.append(_finding(name, ok))
                if not ok:
                    problems.append(f"it is {level.value} but declares no `{name}`")
        details = {"automation": level.value, "oversight_required": applies,
                   "override_mechanism": system.override_mechanism, "reviewer": system.reviewer}
        if problems:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics), details=details,
                                summary=f"Human oversight is not declared: {'; '.join(problems)}.")
        if not applies:
            return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                                summary=f"Automation level {level.value}: no override mechanism "
                                        "is required by this check.")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details=details,
                            summary=f"{level.value} system declares an override mechanism and a "
                                    f"reviewer ({system.reviewer}).")


class DocumentsParams(CheckParams):
    """Declaration of ``governance.documents``."""

    required: list[DocumentKind] = Field(
        default_factory=lambda: ["intended_use"], min_length=1,
        description="Documents `system.documents` must reference.")
    check_files: bool = Field(
        default=True, description="A reference that is not a URL must be an existing file "
        "(relative to the policy file).")


class Documents(Check):
    """Governance documents: the DPIA, impact assessment or intended-use statement exist.

    Profiling at scale needs a data protection impact assessment; high-risk AI
    needs an intended-use statement, technical documentation and, for some
    deployers, a fundamental-rights impact assessment. The policy references
    them under ``system.documents``; the check fails when a required one is not
    referenced, or when a reference that is a path (not a URL) does not exist
    next to the policy. It does not judge what the documents say.

    Failing example: ``required: [dpia]`` and no ``system.documents.dpia``, or
    ``dpia: docs/dpia.pdf`` when that file is missing.

    Example::

        system:
          documents:
            dpia: docs/dpia-churn-2026.pdf
            intended_use: https://wiki.example.com/models/churn/intended-use
        checks:
          - id: dpia-on-file
            type: governance.documents
            required: [dpia, intended_use]
    """

    type = "governance.documents"
    params_model = DocumentsParams
    rule = "GDPR Art. 35; EU AI Act Art. 11, 13(3)(b), 27"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: DocumentsParams = self.params  # type: ignore[assignment]
        docs = ctx.policy.system.documents
        base = Path(ctx.policy.source).parent
        metrics, problems = [], []
        found: dict[str, str] = {}
        for kind in dict.fromkeys(params.required):
            ref = getattr(docs, kind) if docs is not None else None
            name = _DOCUMENT_NAMES[kind]
            if not ref or not ref.strip():
                metrics.append(_finding(kind, False, "not referenced"))
                problems.append(f"no {name} (`system.documents.{kind}`)")
                continue
            if params.check_files and "://" not in ref and not (base / ref).is_file():
                metrics.append(_finding(kind, False, f"{ref} not found"))
                problems.append(f"the {name} {ref!r} does not exist next to the policy")
                continue
            metrics.append(_finding(kind, True, ref))
            found[kind] = ref
        if problems:
            return CheckOutcome(status=Status.FAIL, metrics=tuple(metrics),
                                details={"found": found},
                                summary=f"Missing governance documents: {'; '.join(problems)}.")
        return CheckOutcome(status=Status.PASS, metrics=tuple(metrics), details={"found": found},
                            summary="Referenced: " + ", ".join(
                                f"{_DOCUMENT_NAMES[k]} ({v})" for k, v in found.items()) + ".")


class ModelFeatures(Check):
    """Model inputs: the policy's ``data.features`` name the columns the model really reads.

    A fitted model names its inputs (scikit-learn's ``feature_names_in_``,
    LightGBM's feature names, an MLflow signature); the audit uses those, since
    they are what the model reads. When the policy also lists ``data.features``
    and the two lists are not the same columns, the policy misdescribes the
    model: the check fails and names both lists (what only the policy lists, what
    only the model reads). Without a model, or without ``data.features``, there
    is nothing to compare (``not_applicable``). cxaudit adds this check to every
    audit whose lists disagree (id ``features-match-model``, severity block),
    so a stale list never silently wins; declare it to set another severity.

    Failing example: ``features: [tenure, Contract]`` for a model trained on
    ``tenure``, ``Contract`` and ``email``.

    Example::

        checks:
          - id: features-match-model
            type: governance.model_features
            severity: block
    """

    type = "governance.model_features"
    params_model = CheckParams
    rule = "EU AI Act Art. 11 and Annex IV(2)(d) (documented inputs); GDPR Art. 5(2)"

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        from cxaudit.context import features_disagreement

        if ctx.model is None or not ctx.model.feature_names or not ctx.policy.data.features:
            return CheckOutcome(status=Status.NOT_APPLICABLE,
                                summary="Nothing to compare: the audit needs both a model that "
                                        "names its inputs and data.features in the policy.")
        found = features_disagreement(ctx.policy, ctx.model)
        declared = list(ctx.policy.data.features)
        named = list(ctx.model.feature_names)
        details = {"policy_features": declared, "model_features": named}
        if found is None:
            return CheckOutcome(status=Status.PASS, details=details,
                                summary=f"data.features names the model's {len(named)} inputs.")
        only_policy = [f for f in declared if f not in set(named)]
        only_model = [f for f in named if f not in set(declared)]
        details.update(only_in_policy=only_policy, only_in_model=only_model)
        metric = Metric(name="features_disagreeing", value=float(len(only_policy) + len(only_model)),
                        threshold={"max": 0.0}, status=Status.FAIL)
        return CheckOutcome(
            status=Status.FAIL, metrics=(metric,), details=details,
            summary=f"data.features does not match the model's inputs: the policy lists "
                    f"{_listed(declared)}; the model reads {_listed(named)}"
                    + (f" (only in the policy: {_listed(only_policy)})" if only_policy else "")
                    + (f" (only in the model: {_listed(only_model)})" if only_model else "")
                    + ". The audit used the model's list; correct data.features.")


def _listed(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return f"[{shown}{f', … ({len(names)} in all)' if len(names) > limit else ''}]"


def implicit_checks(ctx: AuditContext) -> list[CheckParams]:
    """Checks cxaudit adds to an audit the policy does not declare: the model-inputs
    check when ``data.features`` and the model's own names disagree."""
    from cxaudit.context import features_disagreement

    declared = {c.type for c in ctx.policy.checks}
    if ModelFeatures.type in declared or features_disagreement(ctx.policy, ctx.model) is None:
        return []
    taken = {c.id for c in ctx.policy.checks}
    check_id = "features-match-model" if "features-match-model" not in taken else \
        "cxaudit-features-match-model"
    return [CheckParams(id=check_id, type=ModelFeatures.type,
                        description="Added by cxaudit: the policy's data.features and the "
                                    "model's own feature names disagree.")]


# Event-log and document-contents checks (cxaudit.checks.rulelogs) register with this family.
from cxaudit.checks.rulelogs import CHECKS as _RULE_LOG_CHECKS  # noqa: E402

CHECKS = (Metadata, Oversight, Documents, ModelFeatures, *_RULE_LOG_CHECKS)
