"""Policy → context → checks → :class:`~cxaudit.result.AuditResult`.

Checks return outcomes; an exception inside a check becomes an ``error``
result (the gate fails closed) and never stops the other checks.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cxaudit.background import in_background
from cxaudit.checks.base import CheckOutcome, CheckParams
from cxaudit.checks.registry import load_registry
from cxaudit.context import AuditContext
from cxaudit.errors import EXIT_INPUT, CxauditError, InputError
from cxaudit.evidence.bounds import bounded_check, finite_details
from cxaudit.result import (
    AuditResult,
    CheckResult,
    InputRecord,
    Status,
)

LOGGER = logging.getLogger("cxaudit.runner")
Progress = Callable[[int, int, str], None]
KEY_PACKAGES = ("cxaudit", "numpy", "pandas", "scikit-learn", "scipy", "fairlearn", "pydantic",
                "skops", "shap", "great-expectations", "mlflow")
_NEEDS = {
    "label": ("has_label", "data.label (the observed outcome column)"),
    "decision": ("has_decision", "decisions: data.prediction, data.score or --model"),
    "score": ("has_score", "scores: data.score or a model with predict_proba"),
    "model": ("model", "a model (--model)"),
    "consent": ("consent", "a consent ledger: --consent FILE or consent.ledger in the policy"),
    "reference": ("reference", "reference (training) data: --reference FILE"),
}


def package_versions() -> dict[str, str]:
    """Versions of cxaudit and the libraries that shape its numbers."""
    found = {"python": platform.python_version()}
    for name in KEY_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def check_requirements(ctx: AuditContext) -> None:
    """Fail early (exit 2) when a declared check needs an input the audit lacks."""
    from cxaudit.lawdates import resolve_audit_date, standing

    registry = load_registry()
    for params in ctx.policy.checks:
        cls = registry.get(params.type)
        law = getattr(params, "law", None)
        if law is not None and standing(law, ctx.policy.system,
                                        resolve_audit_date(ctx)).status == "not_applicable":
            continue  # a rule that does not apply needs nothing
        for need in sorted(getattr(cls, "requires", ())):
            attribute, what = _NEEDS.get(need, (None, need))
            value = getattr(ctx, attribute) if attribute is not None else True
            if value is None or value is False:
                raise InputError(f"{ctx.policy.locate('checks', params.id, 'type')}: check "
                                 f"{params.id!r} ({params.type}) needs {what}",
                                 hint="provide it, or remove the check from the policy")


def run_check(params: CheckParams, ctx: AuditContext) -> CheckResult:
    """Run one check; any exception becomes an ``error`` result.

    A check whose rule (``law``) does not apply to the system, its jurisdictions or the
    audit date is not run: ``not_applicable`` with the reason; one whose standing depends
    on a date the audit does not know is ``inconclusive`` ("give --as-of")."""
    from cxaudit.lawdates import law_record, resolve_audit_date, standing

    registry = load_registry()
    cls = registry.get(params.type)
    law = getattr(params, "law", None)
    found = standing(law, ctx.policy.system, resolve_audit_date(ctx)) if law else None
    base = {"id": params.id, "type": params.type, "severity": params.severity,
            "description": params.description, "on_inconclusive": params.on_inconclusive,
            "law": law_record(law, found) if law else None}
    rule = params.rule or (cls.rule if cls else None)
    if found is not None and found.status is not None:
        word = ("does not apply" if found.status == "not_applicable"
                else "cannot be judged")
        return CheckResult(**base, status=Status(found.status), rule=rule,
                           summary=f"The rule {word}: {found.reason}.",
                           details={"standing": found.reason})
    result = _run_check(params, ctx, cls, base, rule)
    if found is not None and found.before_deadline and result.severity.value == "block":
        # In force, but existing uses need not comply yet: a failure warns until the deadline.
        result = result.model_copy(update={
            "severity": type(result.severity)("warn"),
            "summary": f"{result.summary} (Compliance is due by "
                       f"{law.compliance_deadline.isoformat()}: warns until then.)"})
    return result


def _run_check(params: CheckParams, ctx: AuditContext, cls: Any, base: dict[str, Any],
               rule: str | None) -> CheckResult:
    if cls is None:
        return CheckResult(**base, status=Status.ERROR, rule=rule,
                           summary=f"check type {params.type} is not installed",
                           error="not registered")
    try:
        outcome = cls(params).run(ctx)
        if not isinstance(outcome, CheckOutcome):
            raise TypeError(f"{cls.__name__}.run returned {type(outcome).__name__}, "
                            "not CheckOutcome")
    except CxauditError as exc:
        # An input the check reads itself (a shares file, a suite) is bad: the user's to fix,
        # so the audit exits 2 rather than 3 (see cli._output.exit_code), still never a pass.
        kind = {"input_error": True} if exc.exit_code == EXIT_INPUT else {}
        return CheckResult(**base, status=Status.ERROR, rule=rule, error=exc.format(),
                           summary=f"The check could not run: {exc.message}", details=kind)
    except Exception as exc:  # the gate fails closed: report, never pass
        message = f"{type(exc).__name__}: {str(exc)[:300]}"
        return CheckResult(**base, status=Status.ERROR, rule=rule, error=message,
                           summary="The check stopped with an internal error, so it cannot pass.")
    return CheckResult(**base, rule=rule, status=outcome.status, summary=outcome.summary,
                       metrics=outcome.metrics, details=outcome.details)


#: Keys of a check's details whose values depend on the run (wall times, hosts, clocks),
#: not on the audited inputs: moved into ``run`` (which the audit digest excludes), so two
#: runs of the same audit have the same digest and a sign-off of one counts for the other.
RUN_DEPENDENT_KEYS = frozenset({"seconds", "timings", "elapsed", "elapsed_s", "duration_s",
                                "wall_seconds", "host", "hostname", "pid", "started_at",
                                "finished_at"})


def split_run_details(details: Any) -> tuple[Any, dict[str, Any]]:
    """``(details without run-dependent keys, those keys by dotted path)``."""
    moved: dict[str, Any] = {}

    def walk(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        kept = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in RUN_DEPENDENT_KEYS:
                moved[where] = item
            else:
                kept[key] = walk(item, where)
        return kept

    return walk(details, ""), moved


def run_checks(ctx: AuditContext, progress: Progress | None = None) -> tuple[CheckResult, ...]:
    """Run every declared check in policy order, then any cxaudit adds
    (:func:`cxaudit.checks.governance.implicit_checks`); ``progress(done, total, check_id)``."""
    from cxaudit.checks.governance import implicit_checks
    from cxaudit.checks.plan import plan_counts

    plan_counts(ctx)  # the counts the checks declare, in one scan before the first check
    results = []
    declared = [*ctx.policy.checks, *implicit_checks(ctx)]
    total = len(declared)
    for index, params in enumerate(declared):
        started = time.perf_counter()
        result = finite_details(bounded_check(run_check(params, ctx)))
        details, run_dependent = split_run_details(result.details)
        if run_dependent:
            result = result.model_copy(update={"details": details})
            ctx.notes.setdefault("check_timings", {})[params.id] = run_dependent
        seconds = round(time.perf_counter() - started, 3)
        ctx.notes.setdefault("check_seconds", {})[params.id] = seconds
        LOGGER.info("check %s: %s in %.2f s", params.id, result.status.value, seconds,
                    extra={"check": params.id, "status": result.status.value, "seconds": seconds})
        results.append(result)
        if progress is not None:
            progress(index + 1, total, params.id)
    return tuple(results)


@dataclass(frozen=True)
class AuditInputs:
    """Paths and options of one audit, as given on the command line."""

    policy: str
    data: str
    model: str | None = None
    consent: str | None = None
    reference: str | None = None
    trust_model: bool = False
    model_sha256: str | None = None
    #: Types admitted in a skops model beyond cxaudit's reviewed list (``--trust-type``).
    trust_types: tuple[str, ...] = ()
    engine: str | None = None  # None: the policy's `engine:`, else local
    seed: int = 0
    waivers: str | None = None
    #: The date rules are judged at (``--as-of``): ISO date or time with offset.
    as_of: str | None = None


def _record(kind: str, path: str | None, rows: int | None = None,
            digests: Future[dict[str, str]] | None = None, **detail: Any) -> InputRecord:
    from cxaudit.loaders.data import sha256_file

    digest = digests.result().get(path) if digests is not None and path else None
    if digest is None:
        digest = sha256_file(path) if path and Path(path).is_file() else None
    return InputRecord(kind=kind, path=Path(path).name if path else None, sha256=digest, rows=rows,
                       detail={k: v for k, v in detail.items() if v is not None})


#: Largest id key file read (a key is a few dozen bytes; anything bigger is not a key).
ID_KEY_MAX_BYTES = 4096


def id_key_of(policy: Any) -> bytes | None:
    """The id key the policy names (``data.id_key_file``), read from a regular file.

    None when the policy names none (the environment's ``CXAUDIT_ID_SALT`` then applies).
    """
    name = getattr(policy.data, "id_key_file", None)
    if not name:
        return None
    where = policy.locate("data", "id_key_file")
    path = Path(name)
    if not path.is_absolute():
        path = Path(policy.source).parent / path
    if not path.is_file():
        raise InputError(f"{where}: the id key file {path.name} is not a regular file "
                         "(missing, a folder or a special file)",
                         hint="create it with e.g. `openssl rand -hex 32 > FILE`")
    if path.stat().st_size > ID_KEY_MAX_BYTES:
        raise InputError(f"{where}: the id key file {path.name} is larger than "
                         f"{ID_KEY_MAX_BYTES} bytes, so it is not a key",
                         hint="a key is a random secret of 16 to 64 bytes")
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise InputError(f"{where}: the id key in {path.name} is shorter than 16 bytes, "
                         "too short to keep hashed ids from being recovered",
                         hint="create it with e.g. `openssl rand -hex 32 > FILE`")
    return key


def audit(inputs: AuditInputs, progress: Progress | None = None) -> AuditResult:
    """Run a whole audit from files; raise :class:`InputError` for bad input."""
    from cxaudit.checks.gx_adapter import deferring_argument_checks
    from cxaudit.masking import using_id_key
    from cxaudit.policy.loader import load_policy

    if _input_bytes(inputs) >= BACKGROUND_GX_BYTES:
        with deferring_argument_checks() as deferred:
            policy = load_policy(inputs.policy)
    else:
        policy, deferred = load_policy(inputs.policy), []
    validated = _validated_later(inputs.policy, policy, deferred)
    with using_id_key(id_key_of(policy)):
        try:
            return _audit_files(inputs, policy, progress, validated)
        except InputError:
            validated()  # a policy error first, as when the policy was validated up front
            raise


#: Input files (data + ledger) from which GX is imported while they are read: below it,
#: reading is too short to hide the import, and two threads importing at once cost more
#: than they save (the demo's 1 MB audit: 6.0 s -> 6.6 s).
BACKGROUND_GX_BYTES = 64 << 20


def _input_bytes(inputs: AuditInputs) -> int:
    total = 0
    for path in (inputs.data, inputs.consent):
        with contextlib.suppress(OSError):  # reported by the reader
            total += Path(path).stat().st_size if path else 0
    return total


def _validated_later(path: str | Path, policy: Any, deferred: list[str]
                     ) -> Callable[[], Any]:
    """The policy validated in full, once needed.

    Loading it left out GX's checks of expectation arguments (``deferred``), the one step
    that needs GX imported (~2 s). A background thread imports GX and validates the
    policy again, in full, while the inputs are read; the returned function waits for it:
    the same errors, raised before any check runs (and before an input error, as before).
    """
    if not deferred:
        return lambda: policy
    return in_background(_validate_again, path, policy.resolved_sha256,
                         name="cxaudit-policy").result


def _validate_again(path: str | Path, resolved_sha256: str) -> Any:
    from cxaudit.policy.loader import load_policy

    policy = load_policy(path)
    if policy.resolved_sha256 != resolved_sha256:
        raise InputError(f"{Path(path).name} changed while the audit read its inputs",
                         hint="run the audit again")
    return policy


def _audit_files(inputs: AuditInputs, policy: Any, progress: Progress | None,
                 validated: Callable[[], Any]) -> AuditResult:
    from cxaudit.engines import get_engine
    from cxaudit.evidence.waivers import load_waivers
    from cxaudit.loaders.data import read_table
    from cxaudit.loaders.model import load_model

    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    digests = _digests_in_background(inputs)
    engine = get_engine(inputs.engine or policy.engine or "local")
    ids = [policy.data.id] if policy.data.id else []  # read as text: 00123 is not 123
    frame = engine.read_table(inputs.data, role="data", text_columns=ids)
    rows = engine.num_rows(frame)
    LOGGER.info("read %s: %d rows, %d columns", Path(inputs.data).name, rows,
                len(engine.columns(frame)), extra={"rows": rows})
    consent_path = inputs.consent
    if consent_path is None and policy.consent is not None and policy.consent.ledger:
        consent_path = str(Path(policy.source).parent / policy.consent.ledger)
    consent = _read_ledger(policy, consent_path) if consent_path else None
    reference = (read_table(inputs.reference, role="reference data", text_columns=ids)
                 if inputs.reference else None)
    model = (load_model(inputs.model, trust=inputs.trust_model, expected_sha256=inputs.model_sha256,
                        trusted_types=inputs.trust_types)
             if inputs.model else None)
    waivers = load_waivers(inputs.waivers) if inputs.waivers else ()
    return audit_loaded(
        validated(), frame, engine=engine, model=model, consent=consent, reference=reference,
        seed=inputs.seed, started=started, clock=clock, progress=progress, waivers=waivers,
        as_of=inputs.as_of, records={
            "data": _record("data", inputs.data, rows=rows, digests=digests),
            **({"consent": _record("consent", consent_path, rows=len(consent),
                                   digests=digests)}
               if consent is not None else {}),
            **({"reference": _record("reference", inputs.reference, rows=len(reference))}
               if reference is not None else {}),
            **({"waivers": _record("waivers", inputs.waivers)} if inputs.waivers else {}),
        },
    )


def _digests_in_background(inputs: AuditInputs) -> Future[dict[str, str]]:
    """SHA-256 of the data and ledger files, computed on a thread while they are read
    (hashlib releases the GIL: ~0.5 s of a 10 M-row audit off the main thread). The
    report records them as before (an error reading one surfaces where it is recorded);
    a path that is not a regular file is left to :func:`_record` and the reader."""
    from cxaudit.loaders.data import sha256_file

    paths = [p for p in (inputs.data, inputs.consent) if p and Path(p).is_file()]
    return in_background(lambda: {path: sha256_file(path) for path in paths},
                         name="cxaudit-sha256")


def _read_ledger(policy: Any, path: str) -> Any:
    """The consent ledger: validated while read (large Parquet ledgers a chunk at a time)
    when consent checks rely on it; as read otherwise (data-quality suites on a ledger
    report its problems as findings)."""
    if any(c.type.startswith("consent.") for c in policy.checks):
        from cxaudit.loaders.consent import load_ledger

        return load_ledger(path, timezone=policy.consent.timezone if policy.consent else None)
    from cxaudit.loaders.consent import ID_COLUMNS
    from cxaudit.loaders.data import read_table

    return read_table(path, role="consent ledger", text_columns=ID_COLUMNS)


def _pandas_view(engine: Any, frame: Any, policy: Any) -> Any:
    """What the ledger validation reads from the data, as pandas on any engine."""
    if engine.name == "local":
        return frame
    column = policy.data.timestamp
    if column and column in engine.columns(frame):
        return engine.to_pandas(frame, [column], limit=100_000)
    return engine.to_pandas(frame, engine.columns(frame)[:1], limit=1)


def audit_loaded(policy: Any, frame: Any, *, engine: Any, model: Any = None, consent: Any = None,
                 reference: Any = None, seed: int = 0, records: dict[str, InputRecord] | None = None,
                 started: datetime | None = None, clock: float | None = None,
                 progress: Progress | None = None, waivers: tuple[Any, ...] = (),
                 as_of: str | None = None) -> AuditResult:
    """Run an audit on already-loaded inputs (used by the CLI, the demo and MLflow)."""
    from cxaudit.masking import using_id_key

    if as_of is not None:
        from cxaudit.lawdates import to_moment

        try:
            to_moment(as_of, what="--as-of")
        except ValueError as exc:
            raise InputError(str(exc), hint="e.g. --as-of 2027-01-15") from None
    with using_id_key(id_key_of(policy)):
        return _audit_loaded(policy, frame, engine=engine, model=model, consent=consent,
                             reference=reference, seed=seed, records=records, started=started,
                             clock=clock, progress=progress, waivers=waivers, as_of=as_of)


def _audit_loaded(policy: Any, frame: Any, *, engine: Any, model: Any, consent: Any,
                  reference: Any, seed: int, records: dict[str, InputRecord] | None,
                  started: datetime | None, clock: float | None, progress: Progress | None,
                  waivers: tuple[Any, ...], as_of: str | None = None) -> AuditResult:
    from cxaudit.context import build_context
    from cxaudit.evidence.waivers import apply_waivers, verdict_with_waivers
    from cxaudit.masking import EXAMPLES_HINT, examples_enabled

    started = started or datetime.now(timezone.utc)
    clock = clock if clock is not None else time.perf_counter()
    # A ledger that consent checks rely on must be valid (bad input, exit 2); when only
    # data-quality checks read it, their findings describe its problems instead.
    consent_checks = consent is not None and any(
        c.type.startswith("consent.") for c in policy.checks)
    if consent_checks:
        from cxaudit.loaders.consent import prepare_consent

        record = (records or {}).get("consent")
        consent = prepare_consent(policy, _pandas_view(engine, frame, policy), consent,
                                  source=(record.path if record and record.path
                                          else "consent ledger"))
    # Approver keys are resolved first: a bad key file is exit 2 before any check runs.
    approval_settings = _approval_settings(policy, getattr(policy, "approvals", None))
    from cxaudit.ll144 import attach_summary, check_policy

    check_policy(policy)  # system.ll144's attributes and check: exit 2 before any check runs
    with _threads_for(engine, frame):
        ctx = build_context(policy, frame, engine, model=model, consent=consent,
                            reference=reference, seed=seed)
        if as_of is not None:
            ctx.notes["as_of_option"] = as_of
        check_requirements(ctx)
        if consent_checks:
            from cxaudit.consent.states import prefetch_consent_view

            prefetch_consent_view(ctx)
        results = run_checks(ctx, progress)
    if any(c.type.startswith("bias.") for c in policy.checks):
        # Benjamini–Hochberg across every comparison the audit makes, not per check.
        from cxaudit.checks.bias.fdr import adjust_audit_p_values

        results = adjust_audit_p_values(results)
    # The LL144 public summary's tables (EEO-1 categories): a race/ethnicity value without
    # a category is bad input (exit 2).
    results = attach_summary(policy, results)
    approvals = getattr(policy, "approvals", None)
    # Waivers expire by the audit's date (an input), so reruns stay byte-identical; the
    # wall clock decides only when the audit has no date, and the waiver status says so.
    from cxaudit.evidence.waivers import WALL_CLOCK
    from cxaudit.lawdates import resolve_audit_date

    when = resolve_audit_date(ctx)
    waiver_day, waiver_source = ((when.day, when.source) if when.day is not None
                                 else (started.date(), WALL_CLOCK))
    results, waiver_report = apply_waivers(
        results, (*getattr(policy, "waivers", ()), *waivers), waiver_day,
        approvers=approvals.waiver_approvers if approvals else None,
        today_source=waiver_source if (getattr(policy, "waivers", ()) or waivers) else None)
    verdict, reason = verdict_with_waivers(results, waiver_report)
    inputs = dict(records or {})
    inputs["policy"] = InputRecord(kind="policy", path=Path(policy.source).name,
                                   sha256=policy.sha256,
                                   detail={"resolved_sha256": policy.resolved_sha256})
    if model is not None:
        inputs["model"] = InputRecord(kind="model", path=Path(model.source).name
                                      if "://" not in model.source and ":/" not in model.source
                                      else model.source, sha256=model.sha256,
                                      detail={"format": model.kind, **(
                                          {"trusted_types": list(model.admitted_types)}
                                          if getattr(model, "admitted_types", ()) else {})})
    finished = datetime.now(timezone.utc)
    return AuditResult(
        verdict=verdict,
        verdict_reason=reason,
        policy={"name": Path(policy.source).stem, "sha256": policy.sha256,
                "resolved_sha256": policy.resolved_sha256, "extends": list(policy.extends),
                **_dates_and_packs(ctx, policy)},
        system=policy.system.model_dump(mode="json", exclude_none=True),
        checks=results,
        inputs=inputs,
        # Whether reports may list keyed hashes of ids (never the key, nor where it is).
        settings={"seed": seed, "id_examples": ("keyed hashes" if examples_enabled()
                                                else EXAMPLES_HINT), **approval_settings},
        versions=package_versions(),
        waivers=waiver_report,
        run={"started_at": started.isoformat(timespec="seconds"),
             "finished_at": finished.isoformat(timespec="seconds"),
             "duration_s": round(time.perf_counter() - clock, 3),
             "engine": engine.name,
             # Where the time went: wall seconds per check (the context's derived columns and
             # model predictions are computed once, before the first check, and not in these).
             "check_seconds": dict(ctx.notes.get("check_seconds", {})),
             # Run-dependent parts of checks' details (e.g. SHAP timings), kept out of
             # checks[] so the audit digest is the same for every run of the same audit.
             **({"check_timings": dict(ctx.notes["check_timings"])}
                if ctx.notes.get("check_timings") else {})},
    )


#: Up to this many rows, OpenMP code (model predictions of gradient boosting, tree SHAP)
#: runs on one thread: on small inputs its threads only add start-up and spin-waiting (a
#: 2,113-row gradient-boosting prediction takes 0.03 s on one thread, 0.05-0.8 s on two
#: depending on what else the machine runs), and its results do not depend on the thread
#: count. BLAS is left alone: its sums are split by thread, so matrix products (the SHAP
#: bootstrap) would change in the last bit.
SMALL_AUDIT_ROWS = 100_000


def _dates_and_packs(ctx: AuditContext, policy: Any) -> dict[str, Any]:
    """The audit date (and its source) and the packs with their versions, for audit.json."""
    from cxaudit.lawdates import resolve_audit_date

    when = resolve_audit_date(ctx)
    block: dict[str, Any] = {"as_of": {"date": when.moment.isoformat() if when.moment else None,
                                       "source": when.source}}
    if getattr(policy, "packs", ()):
        block["packs"] = [dict(p) for p in policy.packs]
    if policy.system.jurisdictions:
        block["jurisdictions"] = list(policy.system.jurisdictions)
    return block


def _threads_for(engine: Any, frame: Any) -> Any:
    """One OpenMP thread for a small local audit (loaded libraries), else no limit."""
    import contextlib

    if engine.name != "local" or engine.num_rows(frame) > SMALL_AUDIT_ROWS:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, nothing to limit
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="openmp")


def _approval_settings(policy: Any, approvals: Any) -> dict[str, Any]:
    """What sign-off needs from the policy, bound into audit.json (and so its digest)."""
    if approvals is None or not (approvals.required_roles or approvals.approver_keys):
        return {}
    block: dict[str, Any] = {}
    if approvals.required_roles:
        block["required_roles"] = approvals.required_roles
    if approvals.approver_keys:
        from cxaudit.evidence.approval_keys import resolve_keys

        block["approver_keys"] = resolve_keys(
            approvals.approver_keys, Path(policy.source).parent,
            lambda email: policy.locate("approvals", "approver_keys", email))
    return {"approvals": block}
