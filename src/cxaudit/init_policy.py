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
    ("age", r"(^|_)(age|agep|age_?band|age_?group|age_?cat|senior|senior_?citizen|date_?of_?birth|"
            r"dob|birth_?year)($|_)"),
    ("race/ethnicity", r"(^|_)(race|rac1_?p|ethnic|ethnicity)"),
    ("religion", r"(^|_)(religion|faith)"),
    ("disability", r"(^|_)disab|^dis$"),
    ("marital status", r"(^|_)(marital|married)|^mar$"),
    ("national origin", r"(^|_)(nationality|citizenship|national_?origin|country_?of_?birth|"
                        r"nativity)|^cit$"),
    ("pregnancy", r"(^|_)pregnan"),
    ("language (a national-origin proxy)", r"(^|_)(language|preferred_?language|locale)($|_)"),
]
#: Values that name a sex in full; single letters (M/F) count only with a sex-like column
#: name, since F/M also codes felony/misdemeanour, full/part time …
_SEX_WORDS = {"male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary"}
_SEX_LETTERS = {"m", "f"}
_PII = (r"(^|_)(e_?mail(_?address)?|phone(_?number)?|mobile(_?number)?|telephone|first_?name|"
        r"last_?name|full_?name|surname|street(_?address)?|home_?address|ssn|iban|card_?number|"
        r"ip(_?address)?|name|first|last)$")
MAX_PROXY_CATEGORIES = 50
#: Cramér's V from which init lists a column as a likely proxy (a cxaudit default).
PROXY_V = 0.2
_ID = r"(^|_)(id|uuid|key|number|no)$"
#: Outcome names, most specific first (the first pattern a binary column matches wins).
_LABELS = (r"two_year_recid", r"(churn|churned)", r"(label|target|outcome|class)",
           r"(is_)?recid(ivism|ivated)?", r"(converted|default|defaulted|repaid|fraud|responded|"
           r"clicked|escalated|pubcov|y)")
_DECISIONS = (r"(prediction|predicted|pred|y_?pred|y_?hat|decision|selected|approved|offered|"
              r"flagged|treatment|treated)", r"pred_\w+|\w+_pred(icted|iction)?")
_SCORES = ("score", "probability", "proba", "propensity", "risk_score")
_TIMES = r"(date|time|_at$|timestamp|^ts$)"
#: Words in the outcome, decision or score column that make a positive decision a harm.
_PUNITIVE_WORDS = r"(risk|recid|fraud|flag|default|arrest|block|hold|deny|denied|reject|suspend)"
MAX_GROUPS = 12
FREE_TEXT_CHARS = 30


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@dataclass
class Choices:
    """What the user named (``cxaudit init --label …``); None: infer it."""

    id: str | None = None
    label: str | None = None
    positive: Any = None
    prediction: str | None = None
    score: str | None = None
    threshold: float | None = None
    protected: list[str] | None = None
    intervention: str | None = None
    features: list[str] | None = None


@dataclass
class Findings:
    """What ``inspect_data`` found in the table (or was told), and why."""

    rows: int
    id: str | None = None
    label: str | None = None
    positive: Any = None
    prediction: str | None = None
    score: str | None = None
    threshold: float | None = None
    timestamp: str | None = None
    intervention: str = "assistive"
    protected: dict[str, str] = field(default_factory=dict)       # column → kind
    skipped: dict[str, str] = field(default_factory=dict)         # column → why not used
    proxies: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    pii: list[str] = field(default_factory=list)
    personal: dict[str, str] = field(default_factory=dict)        # column → kind, how found
    features: list[str] = field(default_factory=list)
    smallest_group: tuple[str, str, int] | None = None
    #: key → why it was inferred (absent: the user gave it); shown as YAML comments.
    why: dict[str, str] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)


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


def _protected_kind(name: str, series: pd.Series) -> tuple[str, str] | None:
    """(kind, why) when the column looks like a protected attribute."""
    snake = _snake(name)
    for kind, pattern in _PROTECTED:
        if re.search(pattern, snake):
            return kind, f"its name {name!r}"
    values = {str(v).strip().lower() for v in series.dropna().unique()[:20]}
    if values and len(values) <= 4 and values <= _SEX_WORDS | _SEX_LETTERS \
            and values & _SEX_WORDS:
        return "sex", f"its values ({', '.join(sorted(map(str, series.dropna().unique()[:4])))})"
    return None


def _shown(series: pd.Series, limit: int = 4) -> str:
    values = sorted(series.dropna().unique()[:limit + 1], key=str)
    return ", ".join(map(str, values[:limit])) + (" …" if len(values) > limit else "")


def personal_kind(name: str, series: pd.Series) -> str | None:
    """How a column holds personal data (names, emails, phones, addresses, ids, free text),
    by the detectors of the PII check (name, then a sample's values), else None."""
    from cxaudit.checks.privacy.detectors import PII_NAME_RULES, match_name, value_kind

    distinct = series.dropna().nunique()
    if distinct <= 10:  # a yes/no or a few labels (PhoneService) identify nobody
        return None
    by_name = match_name(name, PII_NAME_RULES) or (
        "name" if re.search(_PII, _snake(name)) else None)
    if by_name:
        return f"{by_name} (by its name)"
    sample = series.dropna()
    sample = sample.sample(2000, random_state=0) if len(sample) > 2000 else sample
    kind, share = value_kind(sample, 0.5)
    if kind:
        return f"{kind} (by {share:.0%} of sampled values)"
    if not pd.api.types.is_numeric_dtype(series):
        text = sample.astype(str)
        if (len(text) and text.str.len().mean() >= FREE_TEXT_CHARS
                and text.str.contains(" ").mean() > 0.8 and distinct >= 0.5 * len(series.dropna())):
            return "free text (long, mostly unique values)"
    return None


def _label_rank(snake: str) -> int | None:
    for rank, pattern in enumerate(_LABELS):
        if re.fullmatch(rf"(\w+_)?{pattern}", snake) if rank < 2 else re.fullmatch(pattern, snake):
            return rank
    return None


def _typed(series: pd.Series, text: Any) -> Any:
    """A value typed on the command line, typed as the column holds it (1, not "1")."""
    if not isinstance(text, str) or pd.api.types.is_bool_dtype(series):
        return text
    if pd.api.types.is_numeric_dtype(series):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return text


def _require(frame: pd.DataFrame, column: str, option: str) -> None:
    from cxaudit.errors import InputError

    if column not in frame.columns:
        import difflib

        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
        raise InputError(f"{option} {column!r}: the data has no such column",
                         hint=(f"did you mean {', '.join(close)}?" if close else
                               f"columns: {', '.join(map(str, list(frame.columns)[:20]))}"))


def inspect_data(frame: pd.DataFrame, choices: Choices | None = None, *, model_type: str = "other",
                 model_features: list[str] | None = None, sample: int = 20_000,
                 seed: int = 0) -> Findings:
    """Recognise the roles of the table's columns, protected attributes, personal data and
    proxies; what ``choices`` names is taken as given.

    Parameters
    ----------
    frame
        The customer table.
    choices
        Columns and values the user named (each checked against the data).
    model_type
        ``system.model_type`` (a fraud model's decisions are punitive).
    model_features
        The model's own input names, when a model was given and names them.
    sample, seed
        Rows (a seeded sample of larger tables) used to measure proxies.

    Returns
    -------
    Findings
        Column roles, protected attributes (column → kind), columns skipped and why,
        personal data, the features, proxies per protected attribute (Cramér's V ≥
        PROXY_V among the features), and why each inferred choice was made.
    """
    choices = choices or Choices()
    found = Findings(rows=len(frame))
    for key, option in (("id", "--id"), ("label", "--label"), ("prediction", "--prediction"),
                        ("score", "--score")):
        column = getattr(choices, key)
        if column is not None:
            _require(frame, column, option)
            setattr(found, key, column)
            found.given.add(key)
    for column in choices.protected or []:
        _require(frame, column, "--protected")
    for column in choices.features or []:
        _require(frame, column, "--features")
    for column in model_features or []:
        _require(frame, column, "the model's feature")
    named = {found.id, found.label, found.prediction, found.score, *(choices.protected or [])}
    label_rank = 99
    for column in frame.columns:
        series = frame[column]
        snake = _snake(str(column))
        if column in named:
            continue
        kind = personal_kind(str(column), series)
        if kind is not None and column not in (choices.features or []):
            found.personal[column] = kind
            found.pii.append(column)
            continue
        if found.id is None and "id" not in found.given and re.search(_ID, snake) \
                and series.is_unique:
            found.id = column
            found.why["id"] = f"its name {column!r} reads as an id and every value is unique"
            continue
        if choices.protected is None:
            protected = _protected_kind(str(column), series)
            if protected is not None:
                kind, why = protected
                groups = series.nunique(dropna=True)
                if groups > MAX_GROUPS:
                    found.skipped[column] = (f"{kind}, but {groups} distinct values: add a banded "
                                             "column (e.g. age_band) and list that instead")
                else:
                    found.protected[column] = kind
                    found.why[f"protected:{column}"] = f"{kind}, by {why}"
                continue
        binary = series.dropna().nunique() == 2
        rank = _label_rank(snake)
        if "label" not in found.given and binary and rank is not None and rank < label_rank:
            found.label, label_rank = column, rank
            found.why["label"] = (f"{column!r} is a usual outcome name and has two values "
                                  f"({_shown(series)})")
        elif ("prediction" not in found.given and found.prediction is None and binary
              and any(re.fullmatch(p, snake) for p in _DECISIONS)):
            found.prediction = column
            found.why["prediction"] = (f"{column!r} is a usual decision name and has two values "
                                       f"({_shown(series)})")
        elif ("score" not in found.given and found.score is None
              and any(snake.endswith(s) for s in _SCORES)
              and pd.api.types.is_numeric_dtype(series) and series.between(0, 1).all()):
            found.score = column
            found.why["score"] = f"{column!r} is named like a score and holds numbers in [0, 1]"
        elif found.timestamp is None and re.search(_TIMES, snake) and not pd.api.types.is_numeric_dtype(series):
            parsed = pd.to_datetime(series.head(200), errors="coerce", utc=True, format="mixed")
            if parsed.notna().mean() > 0.95:
                found.timestamp = column
                found.why["timestamp"] = f"{column!r} is named like a time and holds dates"
    if choices.protected is not None:
        found.protected = dict.fromkeys(choices.protected, "given")
        found.given.add("protected")
    if found.label and found.label == found.prediction:
        found.prediction = None
    _positive(frame, found, choices)
    _intervention(found, choices, model_type)
    if found.score and not found.prediction:
        found.threshold = choices.threshold if choices.threshold is not None else 0.5
        if choices.threshold is None:
            found.why["threshold"] = ("0.5 is cxaudit's default cut-off for probabilities (score "
                                      ">= threshold is a positive decision)")
    elif choices.threshold is not None:
        found.threshold = choices.threshold
    _features(frame, found, choices, model_features)
    _measure_proxies(frame, found, sample=sample, seed=seed)
    return found


def _positive(frame: pd.DataFrame, found: Findings, choices: Choices) -> None:
    if choices.positive is not None:
        found.given.add("positive")
        column = found.label or found.prediction
        found.positive = _typed(frame[column], choices.positive) if column else choices.positive
        return
    if not found.label:
        return
    series = frame[found.label]
    values = sorted(series.dropna().unique(), key=str)
    yes = [v for v in values if str(v).lower() in ("1", "1.0", "yes", "true", "y")]
    if not yes:
        return
    found.positive = yes[0].item() if hasattr(yes[0], "item") else yes[0]
    found.why["positive"] = (f"{found.positive!r} is the value of {found.label!r} that reads as "
                             "yes/true/1")
    if found.prediction:
        pred = frame[found.prediction]
        pred_yes = [v for v in pred.dropna().unique() if str(v).lower() in
                    ("1", "1.0", "yes", "true", "y")]
        if pred_yes and str(pred_yes[0]) != str(found.positive):
            other = pred_yes[0].item() if hasattr(pred_yes[0], "item") else pred_yes[0]
            found.positive = [found.positive, other]
            found.why["positive"] += (f", and {other!r} the value of {found.prediction!r} that "
                                      "does (data.positive applies to both columns)")


def _intervention(found: Findings, choices: Choices, model_type: str) -> None:
    if choices.intervention:
        found.intervention = choices.intervention
        found.given.add("intervention")
        return
    if model_type in PUNITIVE_TYPES:
        found.intervention = "punitive"
        found.why["intervention"] = f"model type {model_type}: a positive decision flags a customer"
        return
    for column in (found.prediction, found.score, found.label):
        if column and re.search(_PUNITIVE_WORDS, _snake(str(column))):
            found.intervention = "punitive"
            found.why["intervention"] = (f"{column!r} names a risk or a flag: a positive decision "
                                         "harms the person (a flag, a hold, a denial)")
            return
    found.intervention = "assistive"
    found.why["intervention"] = (f"model type {model_type}: a positive decision helps the "
                                 "customer (an offer, an approval)")


def _features(frame: pd.DataFrame, found: Findings, choices: Choices,
              model_features: list[str] | None) -> None:
    if choices.features is not None:
        found.features = list(choices.features)
        found.given.add("features")
        return
    if model_features:
        found.features = list(model_features)
        found.why["features"] = "the names the model itself declares (its inputs)"
        return
    reserved = {found.id, found.label, found.prediction, found.score, found.timestamp,
                *found.protected, *found.skipped, *found.pii}
    found.features = [c for c in frame.columns if c not in reserved]
    left = [*found.protected, *found.skipped]
    found.why["features"] = (
        "every column except the id, label, decision, score and time"
        + (f", the protected attributes ({', '.join(map(str, left))})" if left else "")
        + (f" and the personal data ({', '.join(map(str, found.pii))})" if found.pii else ""))


def _measure_proxies(frame: pd.DataFrame, found: Findings, *, sample: int, seed: int) -> None:
    candidates = [c for c in found.features if c in frame.columns and c not in found.protected]
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


def pack_for(model_type: str) -> str:
    """The built-in pack for a model type (``cxaudit policy list`` lists them all)."""
    return PACK_FOR_MODEL_TYPE.get(model_type, DEFAULT_PACK)


def _requirements(check_type: str) -> frozenset[str]:
    from cxaudit.checks.registry import load_registry

    cls = load_registry().get(check_type)
    return frozenset(getattr(cls, "requires", ())) if cls else frozenset()


_NEED_TEXT = {"id": "an id column (--id COLUMN), or `columns:` naming the key",
              "retention": "a retention period (consent.retention_days) and a time column",
              "label": "an observed outcome column (data.label)",
              "decision": "decisions: a prediction or score column, or --model",
              "score": "scores: a score column or --model",
              "model": "a model (--model)",
              "consent": "a consent ledger (--consent)",
              "reference": "reference (training) data (--reference)"}


def _dump(value: Any) -> str:
    """A YAML flow value (JSON is YAML; no document markers, no reformatting)."""
    import json

    return json.dumps(value.item() if hasattr(value, "item") else value, ensure_ascii=False)


def _why(findings: Findings, key: str, option: str) -> str:
    """The comment for one choice: why it was inferred and how to change it, or 'given'."""
    if key in findings.given:
        return f"given ({option})"
    why = findings.why.get(key)
    how = f"{option}, or edit here" if option else "edit here"
    return f"inferred: {why}; to change: {how}" if why else ""


def write_policy(findings: Findings, *, model_type: str, source: str, name: str,
                 available: set[str], purpose: str | None = None,
                 pack: str | None = None) -> str:
    """The commented policy text for ``cxaudit init``.

    Parameters
    ----------
    findings
        What :func:`inspect_data` found (and was told).
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
        YAML with comments; every inferred choice has a comment saying why it was made
        and how to change it. It validates and runs with the given inputs.
    """
    import yaml

    from cxaudit.resources import builtin_packs

    chosen_pack = pack or pack_for(model_type)
    raw = yaml.safe_load(builtin_packs()[chosen_pack].read_text(encoding="utf-8")) or {}
    have = set(available)
    if findings.label:
        have.add("label")
    if findings.prediction or findings.score or "model" in have:
        have.add("decision")
    if findings.score or "model" in have:
        have.add("score")
    runnable, left_out = [], []
    if findings.id:
        have.add("id")
    for check in raw.get("checks") or []:
        needs = set(_requirements(check["type"]))
        if check["type"] == "data.duplicates" and "columns" not in check:
            needs.add("id")  # duplicates of what: without an id, every identical row
        if check["type"] == "privacy.retention" and "retention_days" not in check:
            needs.add("retention")  # the period is the policy's to declare, never guessed
        missing = sorted(needs - have)
        (left_out if missing else runnable).append((check, missing))
    protected = list(findings.protected)
    why_pack = ("given (--pack)" if pack else
                f"inferred: the pack for model type {model_type}; to change: --pack NAME")
    lines = [f"# cxaudit policy written by `cxaudit init` from {source} ({findings.rows:,} rows).",
             f"# Pack: {chosen_pack}   # {why_pack}",
             f"# `cxaudit policy show {chosen_pack}` lists its checks and the rules they cite.",
             "# Everything below is a proposal: review it. Comments say which choices were",
             "# inferred from the data, why, and how to change them (rerun `cxaudit init` with",
             "# the option, or edit the line).",
             "# Validate: cxaudit policy validate THIS_FILE.  Not legal advice.",
             "cxaudit: 1"]
    inline = bool(left_out) or not runnable
    if not inline:
        lines.append(f"extends: [{chosen_pack}]")
    lines += ["", "system:", f"  name: {_dump(name)}", f"  model_type: {model_type}",
              f"  # {_why(findings, 'intervention', '--intervention assistive|punitive')}",
              "  # (assistive: a positive decision helps the person, e.g. an offer; punitive: it",
              "  # harms them, e.g. a flag or a hold; fairness checks compare the favourable one)",
              f"  intervention: {findings.intervention}"]
    if purpose:
        lines.append(f"  purpose: {_dump(purpose)}")
    lines += ["  # Declare who answers for the model (governance.metadata checks these):",
              "  # owner: data-team@example.com",
              "  # approver: head-of-cx@example.com",
              *([] if purpose else ["  # purpose: retention_offers"]),
              "  # journey_stage: retention",
              "  # automation: human_in_the_loop   # advisory | human_in_the_loop | autonomous",
              "", "data:"]
    options = {"id": "--id COLUMN", "label": "--label COLUMN", "prediction": "--prediction COLUMN",
               "score": "--score COLUMN", "timestamp": ""}
    for key in ("id", "label", "prediction", "score", "timestamp"):
        value = getattr(findings, key)
        if value:
            note = _why(findings, key, options[key])
            if note:
                lines.append(f"  # {key}: {note}")
            lines.append(f"  {key}: {_dump(value)}")
    if not findings.label:
        lines.append("  # No outcome column recognised: name it with --label COLUMN "
                     "(the bias checks on errors need it).")
    if not (findings.prediction or findings.score) and "model" not in have:
        lines.append("  # No decision or score column recognised: name it with --prediction "
                     "COLUMN or --score COLUMN, or pass --model.")
    if findings.positive is not None:
        note = _why(findings, "positive", "--positive VALUE")
        if note:
            lines.append(f"  # positive: {note}")
        lines.append(f"  positive: {_dump(findings.positive)}")
    if findings.threshold is not None:
        note = _why(findings, "threshold", "--threshold NUMBER")
        if note:
            lines.append(f"  # decision_threshold: {note}")
        lines.append(f"  decision_threshold: {findings.threshold:g}")
    if protected:
        if "protected" in findings.given:
            lines.append("  # protected: given (--protected a,b)")
        else:
            lines.append("  # protected: inferred; to change: --protected a,b, or edit here:")
            for column in protected:
                lines.append(f"  #   {column}: {findings.why.get(f'protected:{column}', '')}")
        lines.append(f"  protected: {_dump(protected)}")
        if len(protected) >= 2:
            lines.append("  # intersections: inferred: the first two protected attributes "
                         "together; to change: edit here")
            lines.append(f"  intersections: [{_dump(protected[:2])}]")
    else:
        lines += ["  # No protected attribute was recognised: list the columns that hold sex,",
                  "  # age band, ethnicity... with --protected a,b (or here) so the bias checks run.",
                  "  protected: []"]
    for column, why in findings.skipped.items():
        lines.append(f"  # Not listed: {column} ({why}).")
    note = _why(findings, "features", "--features a,b")
    lines.append(f"  # features (the model's inputs): {note}")
    if findings.pii and "features" not in findings.given:
        lines.append("  # Personal data found and left out of the features (if the model reads "
                     "it, add it: the PII check then fails, as it should):")
        for column in findings.pii:
            lines.append(f"  #   {column}: {findings.personal.get(column, 'personal data')}")
    lines.append(f"  features: {_dump([str(f) for f in findings.features])}")
    if findings.proxies:
        lines.append(f"  # Likely proxies among the features (Cramér's V >= {PROXY_V} with a "
                     "protected attribute):")
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
    pack_types = {c["type"] for c, _ in runnable}
    if findings.pii and "privacy.pii_features" not in pack_types:
        extra.append({"id": "no-direct-identifiers", "type": "privacy.pii_features",
                      "severity": "block", "rule": "GDPR Art. 5(1)(c), 25",
                      "description": "Added by cxaudit init because the data holds personal "
                      f"data ({', '.join(map(str, findings.pii))}): the model must not read it. "
                      "Detection threshold (half of sampled values look like PII) is a cxaudit "
                      "default."})
    if "model" in have and findings.proxies:
        proxies = {a: [c for c, _ in pairs] for a, pairs in findings.proxies.items()}
        extra.append({"id": "no-protected-drivers", "type": "explain.protected_driver",
                      "top_k": 5, "proxies": proxies, "severity": "warn",
                      "rule": "GDPR Art. 5(1)(a) fairness; EU AI Act Art. 10(2)(f)",
                      "description": "Neither a protected attribute nor a likely proxy found by "
                      "cxaudit init is among the five strongest drivers. top_k 5 and the proxy "
                      "list (Cramér's V >= 0.2) are cxaudit defaults."})
    taken = {c["id"] for c, _ in runnable}
    extra = [c for c in extra if c["id"] not in taken]
    lines += ["", "checks:"]
    if inline:
        lines.append(f"  # The checks of {chosen_pack} these inputs can run (copied, so that the "
                     "policy runs as is).")
        for check, _ in runnable:
            lines.append(_indent(check))
        if left_out:
            lines.append("  # Left out: they need inputs this audit does not have yet. Add them")
            lines.append(f"  # (`cxaudit policy show {chosen_pack}`) once you have:")
            for check, missing in left_out:
                needs = "; ".join(_NEED_TEXT.get(m, m) for m in missing)
                lines.append(f"  #   {check['id']} ({check['type']}): {needs}")
    for check in extra:
        lines.append(_indent(check))
    if not any(line.startswith("  -") or line.startswith("  - ") for line in
               lines[lines.index("checks:"):]):
        lines[lines.index("checks:")] = ("checks: []   # the pack's checks apply; repeat an id "
                                         "here to override one" if not inline else
                                         "checks: []   # none of the pack's checks can run yet")
    return "\n".join(lines) + "\n"


def _indent(check: dict[str, Any]) -> str:
    import yaml

    text = yaml.safe_dump([check], sort_keys=False, width=100, allow_unicode=True)
    return "\n".join("  " + line for line in text.rstrip().splitlines())
