"""Checks: one module per family, each check a declaration plus its docs.

Built-in families register through the ``cxaudit.checks`` entry-point group,
the same one third-party plugins use (see :mod:`cxaudit.checks.registry`).
"""

from cxaudit.checks.base import Check, CheckOutcome, CheckParams, Threshold

__all__ = ["Check", "CheckOutcome", "CheckParams", "Threshold"]
