"""A realistic, deterministic consent ledger for the demo (and for tests and benchmarks).

Most subjects granted consent for the purpose and still had it at their event
time; some withdrew, let it expire, refused, sent a Global Privacy Control
signal, objected (Art. 21), granted only after the event, rest on a basis the
policy may not accept, or have no record at all. A few are minors without
verified age. Records of a second purpose (``analytics``) make the ledger
multi-purpose, as real ones are. Same customers + purpose + seed → same ledger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_AS_OF = pd.Timestamp("2026-10-01T00:00:00Z")
DAY = pd.Timedelta(days=1)

#: Share of subjects per scenario (for the audited purpose).
SCENARIOS = {
    "granted": 0.80,
    "granted_withdrawn_later": 0.04,  # valid at the event time; withdrew afterwards
    "regranted": 0.01,                # withdrew, then granted again before the event
    "withdrawn": 0.04,
    "expired": 0.025,
    "refused": 0.025,
    "gpc": 0.015,                     # browser-wide Global Privacy Control opt-out (purpose *)
    "objection": 0.01,
    "granted_after_event": 0.01,
    "legitimate_interests": 0.01,
    "no_record": 0.015,
}
_CHANNELS = np.array(["web", "app", "store", "call_center"])
_JURISDICTIONS = np.array(["EU-DE", "EU-FR", "EU-NL", "EU-ES", "US-CA"])


def _days(rng: np.random.Generator, low: float, high: float, n: int) -> pd.TimedeltaIndex:
    seconds = rng.uniform(low * 86400, high * 86400, n).round()
    return pd.to_timedelta(seconds, unit="s")


def generate_ledger(customers: pd.DataFrame, *, purpose: str, seed: int,
                    id_column: str = "customerID", timestamp_column: str | None = None,
                    as_of: pd.Timestamp | str = DEFAULT_AS_OF,
                    other_purpose: str = "analytics") -> pd.DataFrame:
    """Generate a consent ledger for the subjects of ``customers``.

    Parameters
    ----------
    customers
        The customer table (one or more rows per subject).
    purpose
        The purpose id the audited model processes data for.
    seed
        Random seed; the same inputs give the same ledger.
    id_column
        Subject id column of ``customers``.
    timestamp_column
        Event-time column of ``customers``; each subject's scenario is placed
        relative to its first event time. Default: ``as_of`` for everyone.
    as_of
        Event time used when there is no ``timestamp_column`` (tz-aware).
    other_purpose
        A second purpose recorded for about 60% of subjects.

    Returns
    -------
    pandas.DataFrame
        Ledger in the documented format (docs/consent-ledger.md), timestamps
        tz-aware UTC, sorted by subject and ``granted_at``.
    """
    rng = np.random.default_rng(seed)
    if timestamp_column:
        first = customers.groupby(id_column, sort=True)[timestamp_column].min()
        subjects = first.index.astype(str).to_numpy()
        event = pd.DatetimeIndex(pd.to_datetime(first.to_numpy(), utc=True))
    else:
        subjects = np.sort(customers[id_column].astype(str).unique())
        event = pd.DatetimeIndex([pd.Timestamp(as_of)] * len(subjects))
        if event.tz is None:
            raise ValueError("as_of must carry a time zone, e.g. 2026-10-01T00:00:00Z")
    n = len(subjects)
    names = list(SCENARIOS)
    weights = np.array([SCENARIOS[k] for k in names])
    scenario = rng.choice(len(names), size=n, p=weights / weights.sum())
    records: list[pd.DataFrame] = []

    def add(mask: np.ndarray, *, status: str, granted: pd.DatetimeIndex,
            withdrawn: pd.DatetimeIndex | None = None, expires: pd.DatetimeIndex | None = None,
            basis: str = "consent", signal: str | None = None, rec_purpose: str = purpose) -> None:
        k = int(mask.sum())
        if k == 0:
            return
        nat = pd.DatetimeIndex([pd.NaT] * k, tz="UTC")
        records.append(pd.DataFrame({
            "subject_id": subjects[mask],
            "purpose": rec_purpose,
            "lawful_basis": basis,
            "status": status,
            "granted_at": granted,
            "withdrawn_at": withdrawn if withdrawn is not None else nat,
            "expires_at": expires if expires is not None else nat,
            "signal": signal,
        }))

    def pick(name: str) -> np.ndarray:
        return scenario == names.index(name)

    two_years = 730 * DAY
    for name in ("granted", "granted_withdrawn_later", "legitimate_interests"):
        mask = pick(name)
        t, k = event[mask], int(mask.sum())
        granted = t - _days(rng, 20, 650, k)
        if name == "granted_withdrawn_later":
            add(mask, status="withdrawn", granted=granted, withdrawn=t + _days(rng, 1, 60, k),
                expires=granted + two_years)
        elif name == "legitimate_interests":
            add(mask, status="granted", granted=granted, basis="legitimate_interests")
        else:
            add(mask, status="granted", granted=granted, expires=granted + two_years)
    mask = pick("regranted")
    t, k = event[mask], int(mask.sum())
    first = t - _days(rng, 400, 650, k)
    add(mask, status="withdrawn", granted=first, withdrawn=first + _days(rng, 30, 200, k),
        expires=first + two_years)
    second = t - _days(rng, 5, 150, k)
    add(mask, status="granted", granted=second, expires=second + two_years)
    for name, signal in (("withdrawn", None), ("objection", "objection")):
        mask = pick(name)
        t, k = event[mask], int(mask.sum())
        granted = t - _days(rng, 200, 650, k)
        add(mask, status="withdrawn", granted=granted, withdrawn=t - _days(rng, 1, 190, k),
            expires=granted + two_years, signal=signal)
    mask = pick("expired")
    t, k = event[mask], int(mask.sum())
    granted = t - _days(rng, 760, 900, k)
    add(mask, status="expired", granted=granted, expires=granted + two_years)
    mask = pick("refused")
    add(mask, status="refused", granted=event[mask] - _days(rng, 10, 600, int(mask.sum())))
    mask = pick("gpc")
    t, k = event[mask], int(mask.sum())
    granted = t - _days(rng, 200, 650, k)
    add(mask, status="granted", granted=granted, expires=granted + two_years)
    add(mask, status="refused", granted=t - _days(rng, 1, 150, k), signal="gpc", rec_purpose="*")
    mask = pick("granted_after_event")
    add(mask, status="granted", granted=event[mask] + _days(rng, 1, 45, int(mask.sum())))
    other = rng.random(n) < 0.6
    t, k = event[other], int(other.sum())
    add(other, status="granted", granted=t - _days(rng, 1, 700, k), rec_purpose=other_purpose,
        basis="legitimate_interests")

    ledger = pd.concat(records, ignore_index=True)
    m = len(ledger)
    ledger["granted_at"] = pd.to_datetime(ledger["granted_at"], utc=True)
    minted = ledger["granted_at"] < pd.Timestamp("2025-06-01T00:00:00Z")
    ledger["notice_version"] = np.where(minted, "privacy-notice-v3", "privacy-notice-v4")
    ledger["channel"] = _CHANNELS[rng.integers(0, len(_CHANNELS), m)]
    subject_zone = pd.Series(_JURISDICTIONS[rng.integers(0, len(_JURISDICTIONS), n)],
                             index=subjects)
    ledger["jurisdiction"] = subject_zone.loc[ledger["subject_id"]].to_numpy()
    minor = pd.Series(rng.random(n) < 0.01, index=subjects)
    parental = pd.Series(rng.random(n) < 0.3, index=subjects)
    is_minor = minor.loc[ledger["subject_id"]].to_numpy()
    ledger["age_verified"] = ~is_minor
    ledger["parental_consent"] = is_minor & parental.loc[ledger["subject_id"]].to_numpy()
    columns = ["subject_id", "purpose", "lawful_basis", "status", "granted_at", "withdrawn_at",
               "expires_at", "notice_version", "channel", "jurisdiction", "signal",
               "age_verified", "parental_consent"]
    ledger = ledger[columns].sort_values(["subject_id", "granted_at", "purpose"], kind="stable")
    return ledger.reset_index(drop=True)
