"""Recognise direct identifiers and special-category data by column name and by value.

Name rules look at the column name split into words (``customerEmail`` →
``customer email``); value rules look at a sample of the values and need a
share of them to match. Validators cut false positives: card numbers must pass
the Luhn check, IBANs the ISO 7064 mod-97 check, IPv4 octets must be ≤ 255.

Pure pattern matching (regular expressions, checksums, pandas), below the checks
(issue 17): :mod:`cxaudit.masking` asks it whether a message may show a column's
values, and the privacy checks (:mod:`cxaudit.checks.privacy.pii`) report what it finds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import pandas as pd

PII_NAME_RULES: dict[str, str] = {
    "name": r"^(?:(?:first|last|full|given|family|middle|customer|client|contact|holder|"
            r"account holder|card holder|maiden) )?name$|\b(?:surname|forename|firstname|"
            r"lastname|fullname)\b",
    "email": r"\be ?mail\b|\bemail address\b",
    "phone": r"\b(?:phone|telephone|mobile|msisdn|fax|cell) ?(?:number|no|nr)?$|^tel$",
    "address": r"\b(?:street|address|addr|postcode|post code|zip|zip code|postal code|"
               r"house number)\b",
    "national_id": r"\b(?:ssn|social security|national id|nino|passport|tax id|tin|"
                   r"personnummer|bsn|dni|nif|insee|aadhaar|id card|driver'?s? licen[cs]e)\b",
    "ip_address": r"^(?:client |remote |source |user )?ip(?: address|v4|v6)?$",
    "card_number": r"\b(?:card number|cc number|cc num|pan|credit card|iban|account number)\b",
}

SPECIAL_NAME_RULES: dict[str, str] = {
    "health": r"\b(?:health|medical|diagnos\w*|disabilit\w*|disabled|illness|pregnan\w*|"
              r"medication|treatment)\b",
    "religion": r"\b(?:religion|religious|faith|belief|church|denomination)\b",
    "ethnicity": r"\b(?:ethnic\w*|race|racial)\b",
    "sexual_orientation": r"\b(?:sexual\w*|orientation|lgbt\w*)\b",
    "biometrics": r"\b(?:biometric\w*|fingerprint|face ?(?:id|print|embedding)|iris|"
                  r"voice ?print)\b",
    "political_opinion": r"\b(?:political\w*|party affiliation|voting|vote)\b",
    "trade_union": r"\b(?:trade union|union member\w*)\b",
    "genetic": r"\b(?:genetic|dna|genome)\b",
}

SPECIAL_VALUES: dict[str, set[str]] = {
    "religion": {"christian", "catholic", "protestant", "orthodox", "muslim", "islam", "jewish",
                 "judaism", "hindu", "buddhist", "sikh", "atheist", "agnostic"},
    "sexual_orientation": {"heterosexual", "homosexual", "gay", "lesbian", "bisexual",
                           "asexual", "straight", "queer"},
    "health": {"diabetes", "hiv", "cancer", "asthma", "depression", "pregnant", "disabled",
               "epilepsy", "dementia"},
    "ethnicity": {"white", "black", "asian", "hispanic", "latino", "caucasian",
                  "african american", "mixed race", "roma"},
    "political_opinion": {"democrat", "republican", "conservative", "labour", "liberal",
                          "socialist", "green party"},
}


def words(column: str) -> str:
    """``customerEmail_Address`` → ``customer email address``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column)
    return re.sub(r"[^a-z0-9']+", " ", spaced.lower()).strip()


def match_name(column: str, rules: dict[str, str]) -> str | None:
    """The first kind whose name rule matches ``column``."""
    text = words(column)
    for kind, pattern in rules.items():
        if re.search(pattern, text):
            return kind
    return None


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """True when an IBAN passes the ISO 7064 mod-97 check."""
    moved = text[4:] + text[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _card(value: str) -> bool:
    digits = re.sub(r"[\s-]", "", value)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)


def _ip(value: str) -> bool:
    if not re.fullmatch(r"[0-9.]{7,15}|[0-9A-Fa-f:]{2,39}", value) or value.count(":") == 1:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


#: Calendar dates (2013-01-05, 05/01/2013, 2013.01.05): digits and separators like a phone
#: number, but not one.
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _phone(value: str) -> bool:
    if not re.fullmatch(r"\+?[\d\s().\-/]{7,22}", value) or _DATE.fullmatch(value.strip()):
        return False
    digits = sum(c.isdigit() for c in value)
    return 8 <= digits <= 15 and not re.fullmatch(r"\d+\.\d+", value)


def _national_id(value: str) -> bool:
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", value):  # US SSN
        return True
    if re.fullmatch(r"[A-CEGHJ-PR-TW-Z]{2}\d{6}[A-D]", value.replace(" ", "")):  # UK NINO
        return True
    compact = value.replace(" ", "").upper()
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact)) and iban_valid(compact)


VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "email": lambda v: bool(re.fullmatch(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+", v)),
    "card_number": _card,
    "national_id": _national_id,
    "ip_address": _ip,
    "phone": _phone,
    "address": lambda v: bool(re.search(
        r"^\d+[a-z]?,?\s+\S.*\b(street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|"
        r"way|court|ct|place|pl)\b\.?|\b(strasse|straße|weg|rue|calle|via|laan|gasse)\b\s*\d+",
        v, re.IGNORECASE)),
    "name": lambda v: bool(re.fullmatch(r"[A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+){1,2}", v)),
}


def value_kind(sample: pd.Series, min_share: float) -> tuple[str | None, float]:
    """The identifier kind most of ``sample``'s values match, and that share."""
    values = sample.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return None, 0.0
    # Each distinct value is tested once and counted as often as it occurs: a share is
    # (matching rows) / (rows), the same float as the mean of a per-row test.
    counts = values.value_counts(sort=False)
    pairs = list(zip(counts.index.tolist(), counts.tolist(), strict=True))
    best: tuple[str | None, float] = (None, 0.0)
    for kind, rule in VALUE_RULES.items():
        if kind == "name" and len(pairs) < 0.5 * len(values):
            continue  # category labels ("Fiber Optic") repeat; names barely do
        share = sum(count for value, count in pairs if rule(str(value))) / len(values)
        if share >= min_share and share > best[1]:
            best = (kind, share)
    return best


def special_value_kind(sample: pd.Series, min_share: float) -> tuple[str | None, float]:
    """Special category whose vocabulary covers at least ``min_share`` of the values."""
    values = sample.dropna().astype(str).str.strip().str.lower()
    if values.empty:
        return None, 0.0
    for kind, vocabulary in SPECIAL_VALUES.items():
        hits = values.isin(vocabulary)
        if values[hits].nunique() >= 2 and float(hits.mean()) >= min_share:
            return kind, float(hits.mean())
    return None, 0.0
