"""Start a policy from data: pick the pack, find protected attributes and proxies, write YAML.

``cxaudit init`` reads the customer table, recognises the id, label, decision,
score and time columns and the likely protected attributes (by name and by
values), measures which other columns stand in for them (Cramér's V), and
writes a commented policy with the checks of the model type's pack that the
given inputs can run. Everything it proposes is a starting point to review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: model type → built-in pack
PACK_FOR_MODEL_TYPE = {
    "credit_scoring": "eu-ai-act-high-risk",
    "chatbot": "chatbot-automation",
}
DEFAULT_PACK = "cx-personalization-baseline"
PUNITIVE_TYPES = {"fraud"}

_PROTECTED = [
    ("sex", r"(^|_)(gender|sex)($|_)"),
    ("age", r"(^|_)(age|age_?band|age_?group|senior|senior_?citizen|date_?of_?birth|dob|birth_?year)($|_)"),
    ("race/ethnicity", r"(^|_)(race|ethnic|ethnicity)"),
    ("religion", r"(^|_)(religion|faith)"),
    ("disability", r"(^|_)disab"),
    ("marital status", r"(^|_)(marital|married)"),
    ("national origin", r"(^|_)(nationality|citizenship|national_?origin|country_?of_?birth)"),
    ("pregnancy", r"(^|_)pregnan"),
    ("language (a national-origin proxy)", r"(^|_)(language|preferred_?language|locale)($|_)"),
]
_SEX_VALUES = {"m", "f", "male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary"}
_PII = (r"(^|_)(e_?mail(_?address)?|phone(_?number)?|mobile(_?number)?|telephone|first_?name|"
        r"last_?name|full_?name|surname|street(_?address)?|home_?address|ssn|iban|card_?number|"
        r"ip(_?address)?)$")
MAX_PROXY_CATEGORIES = 50
#: Cramér's V from which init lists a column as a likely proxy (a cxaudit default).
PROXY_V = 0.2
_ID = r"(^|_)(id|uuid|key|number|no)$"
_LABELS = ("churn", "churned", "label", "target", "outcome", "converted", "default", "defaulted",
           "repaid", "fraud", "responded", "clicked", "escalated", "y")
_DECISIONS = ("prediction", "predicted", "decision", "selected", "approved", "offered",
              "flagged", "treatment")
_SCORES = ("score", "probability", "proba", "propensity", "risk_score")
_TIMES = r"(date|time|_at$|timestamp|^ts$)"
MAX_GROUPS = 12


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@dataclass
class Findings:
    """What ``inspect_data`` found in the table."""

    rows: int
    id: str | None = None
    label: str | None = None
    positive: Any = None
    prediction: str | None = None
    score: str | None = None
    timestamp: str | None = None
    protected: dict[str, str] = field(default_factory=dict)       # column → kind
    skipped: dict[str, str] = field(default_factory=dict)         # column → why not used
    proxies: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    pii: list[str] = field(default_factory=list)
    smallest_group: tuple[str, str, int] | None = None


def cramers_v(a: pd.Series, b: pd.Series, *, bins: int = 10) -> float:
    """Bias-uncorrected Cramér's V between two columns (numeric ones binned by quantile).

    Parameters
    ----------
    a, b
        Columns of equal length; missing values form their own category.
    bins
        Quantile bins for numeric columns with many values.

    Returns
    -------
    float
        In [0, 1]; 0 when either column is constant.
    """
    from scipy.stats import chi2_contingency

    def categories(s: pd.Series) -> pd.Series:
        s = _as_numeric(s)
        if pd.api.types.is_numeric_dtype(s) and s.nunique() > bins:
            return pd.qcut(s.rank(method="first"), bins, labels=False).astype("string")
        return s.astype("string").fillna("<missing>")

    table = pd.crosstab(categories(a), categories(b))
    if min(table.shape) < 2:
        return 0.0
    chi2 = chi2_contingency(table.to_numpy(), correction=False)[0]
    return float(np.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1))))


def _as_numeric(series: pd.Series) -> pd.Series:
    """Text columns of numbers (``TotalCharges`` with a few blanks) as numbers."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    parsed = pd.to_numeric(series.astype("string").str.strip(), errors="coerce")
    return parsed if parsed.notna().mean() >= 0.95 else series


def _measurable(series: pd.Series) -> bool:
    """Numeric (binned) or with few enough categories for a meaningful Cramér's V."""
    series = _as_numeric(series)
    unique = series.nunique()
    return unique > 1 and (pd.api.types.is_numeric_dtype(series) or unique <= MAX_PROXY_CATEGORIES)


def _protected_kind(name: str, series: pd.Series) -> str | None:
    snake = _snake(name)
    for kind, pattern in _PROTECTED:
        if re.search(pattern, snake):
            return kind
    values = {str(v).strip().lower() for v in series.dropna().unique()[:20]}
    if values and len(values) <= 4 and values <= _SEX_VALUES:
        return "sex"
    return None


def inspect_data(frame: pd.DataFrame, *, sample: int = 20_000, seed: int = 0) -> Findings:
    """Recognise the roles of the table's columns and likely protected attributes and proxies.

    Parameters
    ----------
    frame
        The customer table.
    sample
        Rows used to measure proxies (a seeded sample of larger tables).
    seed
        Seed of that sample.

    Returns
    -------
    Findings
        Column roles, protected attributes (column → kind), columns skipped and
        why, proxies per protected attribute (column, Cramér's V ≥ PROXY_V), PII columns.
    """
    found = Findings(rows=len(frame))
    lowered = {c: _snake(c) for c in frame.columns}
    for column, snake in lowered.items():
        series = frame[column]
        if re.search(_PII, snake):
            found.pii.append(column)
            continue
        if found.id is None and re.search(_ID, snake) and series.is_unique:
            found.id = column
            continue
        kind = _protected_kind(column, series)
        if kind is not None:
            groups = series.nunique(dropna=True)
            if groups > MAX_GROUPS:
                found.skipped[column] = (f"{kind}, but {groups} distinct values: add a banded "
                                         "column (e.g. age_band) and list that instead")
            else:
                found.protected[column] = kind
            continue
        binary = series.dropna().nunique() == 2
        if found.label is None and snake in _LABELS and binary:
            found.label = column
            values = sorted(series.dropna().unique(), key=str)
            yes = [v for v in values if str(v).lower() in ("1", "yes", "true", "y")]
            found.positive = yes[0] if yes else None
        elif found.prediction is None and snake in _DECISIONS and binary:
            found.prediction = column
        elif (found.score is None and any(snake.endswith(s) for s in _SCORES)
              and pd.api.types.is_numeric_dtype(series) and series.between(0, 1).all()):
            found.score = column
        elif found.timestamp is None and re.search(_TIMES, snake) and not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_datetime(series.head(200), errors="coerce", utc=True, format="mixed")
            if parsed.notna().mean() > 0.95:
                found.timestamp = column
    roles = {found.id, found.label, found.prediction, found.score, found.timestamp, *found.pii,
             *found.protected, *found.skipped}
    candidates = [c for c in frame.columns if c not in roles]
    rows = frame.sample(sample, random_state=seed) if len(frame) > sample else frame
    for attribute in found.protected:
        scored = [(c, round(cramers_v(rows[attribute], rows[c]), 3)) for c in candidates
                  if _measurable(rows[c])]
        strong = sorted((s for s in scored if s[1] >= PROXY_V), key=lambda s: (-s[1], s[0]))
        if strong:
            found.proxies[attribute] = strong[:5]
        counts = frame[attribute].astype("string").fillna("unknown").value_counts()
        if found.smallest_group is None or counts.iloc[-1] < found.smallest_group[2]:
            found.smallest_group = (attribute, str(counts.index[-1]), int(counts.iloc[-1]))
    return found


def pack_for(model_type: str) -> str:
    """The built-in pack for a model type (``cxaudit policy list`` lists them all)."""
    return PACK_FOR_MODEL_TYPE.get(model_type, DEFAULT_PACK)


def _requirements(check_type: str) -> frozenset[str]:
    from cxaudit.checks.registry import load_registry

    cls = load_registry().get(check_type)
    return frozenset(getattr(cls, "requires", ())) if cls else frozenset()


_NEED_TEXT = {"label": "an observed outcome column (data.label)",
              "decision": "decisions: a prediction or score column, or --model",
              "score": "scores: a score column or --model",
              "model": "a model (--model)",
              "consent": "a consent ledger (--consent)",
              "reference": "reference (training) data (--reference)"}


def _dump(value: Any) -> str:
    """A YAML flow value (JSON is YAML; no document markers, no reformatting)."""
    import json

    return json.dumps(value.item() if hasattr(value, "item") else value, ensure_ascii=False)


def write_policy(findings: Findings, *, model_type: str, source: str, name: str,
                 available: set[str], purpose: str | None = None,
                 pack: str | None = None) -> str:
    """The commented policy text for ``cxaudit init``.

    Parameters
    ----------
    findings
        What :func:`inspect_data` found.
    model_type
        The ``system.model_type`` (picks the pack unless ``pack`` is given).
    source
        The data file's name, for the header.
    name
        ``system.name``.
    available
        Inputs the audit will have beyond the data: any of model, consent, reference.
    purpose
        The processing purpose (consent ledger ``purpose``), needed with a ledger.
    pack
        Use this pack instead of the model type's.

    Returns
    -------
    str
        YAML with comments; it validates and runs with the given inputs.
    """
    import yaml

    from cxaudit.resources import builtin_packs

    pack = pack or pack_for(model_type)
    raw = yaml.safe_load(builtin_packs()[pack].read_text(encoding="utf-8")) or {}
    have = set(available)
    if findings.label:
        have.add("label")
    if findings.prediction or findings.score or "model" in have:
        have.add("decision")
    if findings.score or "model" in have:
        have.add("score")
    runnable, left_out = [], []
    for check in raw.get("checks") or []:
        missing = sorted(_requirements(check["type"]) - have)
        (left_out if missing else runnable).append((check, missing))
    protected = list(findings.protected)
    lines = [f"# cxaudit policy written by `cxaudit init` from {source} ({findings.rows:,} rows).",
             f"# Pack: {pack} (for model type {model_type}).",
             f"# `cxaudit policy show {pack}` lists its checks and the rules they cite.",
             "# Everything below is a proposal: review it.",
             "# Validate: cxaudit policy validate THIS_FILE.  Not legal advice.",
             "cxaudit: 1"]
    inline = bool(left_out)
    if not inline:
        lines.append(f"extends: [{pack}]")
    intervention = "punitive" if model_type in PUNITIVE_TYPES else "assistive"
    lines += ["", "system:", f"  name: {_dump(name)}", f"  model_type: {model_type}",
              f"  intervention: {intervention}   # assistive: a positive decision helps the "
              "customer (an offer); punitive: it harms them (a flag, a hold)"]
    if purpose:
        lines.append(f"  purpose: {_dump(purpose)}")
    lines += ["  # Declare who answers for the model (governance.metadata checks these):",
              "  # owner: data-team@example.com",
              "  # approver: head-of-cx@example.com",
              *([] if purpose else ["  # purpose: retention_offers"]),
              "  # journey_stage: retention",
              "  # automation: human_in_the_loop   # advisory | human_in_the_loop | autonomous",
              "", "data:"]
    for key in ("id", "label", "prediction", "score", "timestamp"):
        if getattr(findings, key):
            lines.append(f"  {key}: {_dump(getattr(findings, key))}")
    if findings.label and findings.positive is not None:
        lines.append(f"  positive: {_dump(findings.positive)}")
    if protected:
        kinds = "; ".join(f"{c}: {k}" for c, k in findings.protected.items())
        lines.append(f"  protected: {_dump(protected)}   # found by name or values ({kinds})")
        if len(protected) >= 2:
            lines.append(f"  intersections: [{_dump(protected[:2])}]")
    else:
        lines += ["  # No protected attribute was recognised: list the columns that hold sex,",
                  "  # age band, ethnicity... under `protected:` so the bias checks can run.",
                  "  protected: []"]
    for column, why in findings.skipped.items():
        lines.append(f"  # Not listed: {column} ({why}).")
    if findings.pii:
        lines.append(f"  # Direct identifiers (keep them out of the model's features): "
                     f"{', '.join(findings.pii)}")
    if findings.proxies:
        lines.append(f"  # Likely proxies (Cramér's V >= {PROXY_V} with a protected attribute):")
        for attribute, pairs in findings.proxies.items():
            lines.append(f"  #   {attribute}: " + ", ".join(f"{c} {v:.2f}" for c, v in pairs))
    if findings.smallest_group and findings.smallest_group[2] < 30:
        attribute, group, n = findings.smallest_group
        lines.append(f"  # The smallest group ({attribute}={group}) has {n} rows: group checks "
                     "report it as insufficient_data (min_group_size 30), never as a pass.")
    if "consent" in have:
        lines += ["", "consent:", f"  purpose: {_dump(purpose)}",
                  "  # retention_days: 1095        # privacy.retention needs the period",
                  "  # feature_justifications: {}  # privacy.minimisation: why each feature"]
    extra = []
    if "model" in have and findings.proxies:
        proxies = {a: [c for c, _ in pairs] for a, pairs in findings.proxies.items()}
        extra.append({"id": "no-protected-drivers", "type": "explain.protected_driver",
                      "top_k": 5, "proxies": proxies, "severity": "warn",
                      "rule": "GDPR Art. 5(1)(a) fairness; EU AI Act Art. 10(2)(f)",
                      "description": "Neither a protected attribute nor a likely proxy found by "
                      "cxaudit init is among the five strongest drivers. top_k 5 and the proxy "
                      "list (Cramér's V >= 0.2) are cxaudit defaults."})
    lines += ["", "checks:"]
    if inline:
        lines.append(f"  # The checks of {pack} these inputs can run (copied, so that the "
                     "policy runs as is).")
        for check, _ in runnable:
            lines.append(_indent(check))
        lines.append("  # Left out: they need inputs this audit does not have yet. Add them")
        lines.append(f"  # (`cxaudit policy show {pack}`) once you have:")
        for check, missing in left_out:
            needs = "; ".join(_NEED_TEXT.get(m, m) for m in missing)
            lines.append(f"  #   {check['id']} ({check['type']}): {needs}")
    for check in extra:
        lines.append(_indent(check))
    if not inline and not extra:
        lines[-1] = "checks: []   # the pack's checks apply; repeat an id here to override one"
    return "\n".join(lines) + "\n"


def _indent(check: dict[str, Any]) -> str:
    import yaml

    text = yaml.safe_dump([check], sort_keys=False, width=100, allow_unicode=True)
    return "\n".join("  " + line for line in text.rstrip().splitlines())
