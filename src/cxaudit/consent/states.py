"""The consent state of every audited row at its event time, computed once per audit.

Each row is joined (:mod:`cxaudit.consent.asof`) to the ledger record in force
for its subject and the audited purpose at the row's event time (records with
purpose ``*`` apply to every purpose). The record then gives one state, checked
in this order (the first that applies wins):

``no_event_time``  the row has no event time (empty timestamp cell);
``no_record``      no record had started by the event time;
``objected``       the record is an Art. 21 objection in force;
``refused``        the subject refused;
``withdrawn``      consent was withdrawn at or before the event time;
``expired``        consent expired at or before the event time;
``basis_not_accepted``  the record's lawful basis is not one the policy accepts
                   for the purpose;
``valid``          otherwise.

Boundaries are inclusive for the record: granted exactly at the event time
covers the row; withdrawn or expired exactly at the event time does not.

Event time: ``data.timestamp`` when the policy names it; else ``consent.as_of``;
else the audit time (stated in every finding: "is this data usable *now*").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from cxaudit.background import in_background
from cxaudit.consent.asof import id_array
from cxaudit.consent.tcf import known_purpose
from cxaudit.consent.vocabulary import ALL_PURPOSES, SIGNALS, STATUSES, LawfulBasis
from cxaudit.errors import InputError
from cxaudit.loaders.consent import ATTRS_KEY, audited_purpose, validate_ledger
from cxaudit.loaders.timestamps import (
    MISSING,
    Times,
    parse_column,
    require_compatible,
    scalar_micros,
    to_micros,
)

STATES = ("valid", "no_record", "objected", "refused", "withdrawn", "expired",
          "basis_not_accepted", "no_event_time")
STATE = {name: code for code, name in enumerate(STATES)}
OPT_OUT_STATES = ("objected", "refused", "withdrawn")


@dataclass(frozen=True)
class PurposeRules:
    """What the policy accepts for one purpose."""

    purpose: str
    lawful_bases: tuple[str, ...]
    direct_marketing: bool
    tcf_purposes: tuple[int, ...]


@dataclass(frozen=True)
class EventTimes:
    """Event time of each row and where it came from (for findings)."""

    times: Times
    source: str


@dataclass(frozen=True)
class ConsentView:
    """Per-row consent state for one purpose."""

    rules: PurposeRules
    state: np.ndarray
    record: np.ndarray
    signal: np.ndarray
    event: EventTimes
    ledger: pd.DataFrame
    subjects_where: Callable[[np.ndarray, int], tuple[int, list[Any]]]
    """``(mask, limit)`` → distinct subjects on those rows and the first ``limit`` of them
    (computed by the engine: on Spark, ids never come to the driver wholesale)."""

    def mask(self, *states: str) -> np.ndarray:
        """Boolean mask of rows in any of ``states``."""
        return np.isin(self.state, [STATE[s] for s in states])

    def signal_mask(self, *names: str) -> np.ndarray:
        """Rows whose record in force carries one of the signals ``names``."""
        return np.isin(self.signal, [SIGNALS.index(n) for n in names])

    def counts(self) -> dict[str, int]:
        """Rows per state (every state listed, zeros included)."""
        found = np.bincount(self.state, minlength=len(STATES))
        return {name: int(found[code]) for code, name in enumerate(STATES)}

    def record_values(self, column: str) -> pd.Series:
        """A ledger column gathered for each row's record (missing where none)."""
        values = self.ledger[column]
        taken = values.take(np.maximum(self.record, 0)).reset_index(drop=True)
        return taken.mask(pd.Series(self.record < 0))


def purpose_rules(policy: Any, purpose: str | None = None) -> PurposeRules:
    """Accepted lawful bases, TCF purposes and direct-marketing flag of ``purpose``."""
    purpose = purpose or audited_purpose(policy)
    declared = policy.consent.purposes.get(purpose) if policy.consent else None
    builtin = known_purpose(purpose) or {}
    bases = tuple(b.value for b in declared.lawful_bases) if declared else (
        LawfulBasis.consent.value,)
    tcf = tuple(declared.tcf_purposes) if declared and declared.tcf_purposes is not None else (
        tuple(builtin.get("tcf", ())))
    marketing = declared.direct_marketing if declared and declared.direct_marketing is not None \
        else bool(builtin.get("direct_marketing", False))
    return PurposeRules(purpose=purpose, lawful_bases=bases, direct_marketing=marketing,
                        tcf_purposes=tcf)


def ledger_of(ctx: Any) -> pd.DataFrame:
    """The validated ledger of the audit (validated here if the runner did not)."""
    if ctx.consent is None:
        raise InputError("this check needs a consent ledger",
                         hint="pass --consent FILE or set consent.ledger in the policy")
    if ATTRS_KEY in ctx.consent.attrs:
        return ctx.consent
    cached = ctx.notes.get("consent.ledger")
    if cached is None:
        zone = ctx.policy.consent.timezone if ctx.policy.consent else None
        cached = validate_ledger(ctx.consent, timezone=zone)
        ctx.notes["consent.ledger"] = cached
    return cached


DATASETS = ("data", "reference")


def dataset_frame(ctx: Any, dataset: str) -> Any:
    """The audited data (``data``) or the reference/training data (``reference``)."""
    if dataset == "data":
        return ctx.frame
    if ctx.reference is None:
        raise InputError("this check is asked to cover the reference (training) data, but none "
                         "was given", hint="pass --reference FILE, or drop `reference` from "
                                           "the check's datasets")
    return ctx.reference


def _column_of(ctx: Any, frame: Any, column: str, dataset: str, what: str) -> pd.Series:
    if column not in ctx.engine.columns(frame):
        raise InputError(f"the {dataset} has no {what} column {column!r}",
                         hint=f"add it to the {dataset}, or drop the dataset from the check")
    return ctx.engine.to_pandas(frame, [column])[column].reset_index(drop=True)


def event_times(ctx: Any, dataset: str = "data") -> EventTimes:
    """Event time of every row of ``dataset`` (cached on the context)."""
    cached = ctx.notes.get(f"consent.event_times.{dataset}")
    if cached is not None:
        return cached
    policy = ctx.policy
    zone = policy.consent.timezone if policy.consent else None
    frame = dataset_frame(ctx, dataset)
    n = ctx.engine.num_rows(frame)
    column = policy.data.timestamp
    if column:
        values = _column_of(ctx, frame, column, dataset, "data.timestamp")
        times = parse_column(values, column=column, where=dataset, timezone=zone)
        source = f"each row's {column}"
    else:
        as_of = policy.consent.as_of if policy.consent else None
        if as_of is not None:
            one = scalar_micros(as_of, timezone=zone)
            source = f"consent.as_of ({as_of.isoformat()}) for every row (no data.timestamp)"
        else:
            now = datetime.now(timezone.utc).replace(microsecond=0)
            one = scalar_micros(now, timezone=None)
            source = (f"the audit time ({now.isoformat()}) for every row: the data has no "
                      "data.timestamp and the policy no consent.as_of")
        times = Times(micros=np.full(n, one.micros[0], dtype=np.int64), aware=one.aware,
                      missing=np.zeros(n, dtype=bool))
    result = EventTimes(times=times, source=source)
    ctx.notes[f"consent.event_times.{dataset}"] = result
    return result


def _ledger_arrays(ledger: pd.DataFrame, rows: np.ndarray, rules: PurposeRules
                   ) -> dict[str, np.ndarray]:
    """The ledger columns the classification needs, for the selected rows only."""
    def codes(column: str, vocabulary: tuple[str, ...]) -> np.ndarray:
        values = ledger[column].astype("category").cat.set_categories(list(vocabulary))
        return values.cat.codes.to_numpy()[rows].astype(np.int8)

    basis = ledger["lawful_basis"].astype("category")
    accepted = np.isin(np.asarray(basis.cat.categories, dtype=object), list(rules.lawful_bases))
    basis_codes = basis.cat.codes.to_numpy()[rows]
    return {"start": to_micros(ledger["granted_at"])[rows],
            "withdrawn": to_micros(ledger["withdrawn_at"])[rows],
            "expires": to_micros(ledger["expires_at"])[rows],
            "status": codes("status", STATUSES), "signal": codes("signal", SIGNALS),
            "basis_ok": (basis_codes >= 0) & np.r_[accepted, False][basis_codes]}


def consent_view(ctx: Any, purpose: str | None = None, dataset: str = "data") -> ConsentView:
    """Consent state of every row of ``dataset`` for ``purpose`` (default: the audited one)."""
    rules = purpose_rules(ctx.policy, purpose)
    key = f"consent.view.{dataset}.{rules.purpose}"
    if key in ctx.notes:
        found = ctx.notes[key]
        return found.result() if isinstance(found, Future) else found
    view = _view(ctx, rules, dataset)
    ctx.notes[key] = view
    return view


def prefetch_consent_view(ctx: Any) -> None:
    """Start computing the audited purpose's view of the data on a thread.

    The as-of join runs in DuckDB without the GIL while the checks before the consent
    checks run on the calling thread (which leaves the second core mostly idle): about
    2 s of a 10 M-row audit overlap. :func:`consent_view` then waits for it; its errors
    surface there, exactly as when the view is computed on demand. Only for frames held
    as pandas (the local engine), which the thread can read through its own shallow
    copies (same arrays, own pandas managers: pandas may consolidate a frame's blocks in
    place when it is read, which is not safe while another thread reads the same frame).
    """
    if not isinstance(ctx.frame, pd.DataFrame):
        return
    try:
        rules = purpose_rules(ctx.policy, None)
    except InputError:
        return  # left for the consent check to report
    key = f"consent.view.data.{rules.purpose}"
    if key not in ctx.notes:
        own = dataclasses.replace(ctx, frame=_shallow(ctx.frame), consent=_shallow(ctx.consent))
        ctx.notes[key] = in_background(_view, own, rules, "data", name="cxaudit-consent-view")


def _shallow(frame: Any) -> Any:
    return frame.copy(deep=False) if isinstance(frame, pd.DataFrame) else frame


def _view(ctx: Any, rules: PurposeRules, dataset: str) -> ConsentView:
    ledger = ledger_of(ctx)
    event = event_times(ctx, dataset)
    ledger_times = Times(micros=np.zeros(0, np.int64), aware=ledger.attrs[ATTRS_KEY]["aware"],
                         missing=np.zeros(0, bool))
    require_compatible(ledger_times, "the consent ledger's timestamps", event.times,
                       f"the rows' event time ({event.source})")
    id_column = ctx.policy.data.id
    if not id_column:
        raise InputError(f"{ctx.policy.locate('data')}: consent checks need the subject id column",
                         hint="set data.id to the column matching the ledger's subject_id")
    frame = dataset_frame(ctx, dataset)
    if id_column not in ctx.engine.columns(frame):
        raise InputError(f"the {dataset} has no data.id column {id_column!r}",
                         hint=f"add it to the {dataset}, or drop the dataset from the check")
    purposes = ledger["purpose"].astype("category")
    purpose_codes = purposes.cat.codes.to_numpy()
    selected_mask = np.zeros(len(ledger), dtype=bool)
    for code, name in enumerate(purposes.cat.categories):
        if name in (rules.purpose, ALL_PURPOSES):
            selected_mask |= purpose_codes == code
    selected = np.flatnonzero(selected_mask)
    arrays = _ledger_arrays(ledger, selected, rules)
    ledger_ids = _selected_ids(ledger["subject_id"], selected_mask)
    times = event.times.micros
    local = ctx.engine.asof_records(frame, id_column, times, ctx.policy.data.timestamp,
                                    ledger_ids, arrays["start"], arrays["status"].astype(np.int64))
    state = _classify(local, times, event.times.missing, arrays)
    record = np.where(local >= 0, selected[np.maximum(local, 0)], -1)
    signal = np.where(local >= 0, arrays["signal"][np.maximum(local, 0)], -1).astype(np.int8)
    return ConsentView(rules=rules, state=state, record=record, signal=signal, event=event,
                       ledger=ledger, subjects_where=lambda mask, limit:
                       ctx.engine.distinct_where(frame, id_column, mask, limit))


def _selected_ids(series: pd.Series, mask: np.ndarray) -> Any:
    """Arrow array of ``series`` where ``mask`` holds, chunk by chunk.

    A filter keeps the column's chunks (a take would first concatenate all 20 M
    ids of a large ledger, +0.5 GB), and no Python objects are made in between.
    """
    import pyarrow as pa

    return id_array(series).filter(pa.array(mask))


def _classify(record: np.ndarray, times: np.ndarray, no_time: np.ndarray,
              arrays: dict[str, np.ndarray]) -> np.ndarray:
    """State of each row from the (selected-ledger) record in force."""
    state = np.full(len(record), STATE["no_record"], dtype=np.int8)
    rows = np.flatnonzero(record >= 0)
    rec = record[rows]
    t = times[rows]
    withdrawn_at = arrays["withdrawn"][rec]
    withdrawn = (withdrawn_at != MISSING) & (withdrawn_at <= t)
    del withdrawn_at
    expires_at = arrays["expires"][rec]
    expired = (expires_at != MISSING) & (expires_at <= t)
    del expires_at, t
    refused = arrays["status"][rec] == STATUSES.index("refused")
    objection = (arrays["signal"][rec] == SIGNALS.index("objection")) & (refused | withdrawn)
    sub = np.full(len(rows), STATE["valid"], dtype=np.int8)
    # Assign from the weakest to the strongest reason so the strongest wins.
    sub[~arrays["basis_ok"][rec]] = STATE["basis_not_accepted"]
    sub[expired] = STATE["expired"]
    sub[withdrawn] = STATE["withdrawn"]
    sub[refused] = STATE["refused"]
    sub[objection] = STATE["objected"]
    state[rows] = sub
    state[no_time] = STATE["no_event_time"]
    return state
