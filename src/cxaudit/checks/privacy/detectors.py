"""The PII detectors, for the privacy checks: they live in :mod:`cxaudit.detect`, below
the checks, so that :mod:`cxaudit.masking` can use them without importing a check."""

from cxaudit.detect import (
    PII_NAME_RULES,
    SPECIAL_NAME_RULES,
    SPECIAL_VALUES,
    VALUE_RULES,
    iban_valid,
    luhn_valid,
    match_name,
    special_value_kind,
    value_kind,
    words,
)

__all__ = ["PII_NAME_RULES", "SPECIAL_NAME_RULES", "SPECIAL_VALUES", "VALUE_RULES", "iban_valid",
           "luhn_valid", "match_name", "special_value_kind", "value_kind", "words"]
