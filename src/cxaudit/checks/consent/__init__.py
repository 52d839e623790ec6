"""Consent checks: every row lawfully usable for the model's purpose at its event time.

Registered through the ``cxaudit.checks`` entry point ``consent``.
"""

from cxaudit.checks.consent.lifecycle import Coverage, Expired, Refused, Withdrawn
from cxaudit.checks.consent.signals import Minors, Objection, OptOutHonoured

CHECKS = (Coverage, Withdrawn, Expired, Refused, Objection, OptOutHonoured, Minors)

__all__ = ["CHECKS", "Coverage", "Expired", "Minors", "Objection", "OptOutHonoured", "Refused",
           "Withdrawn"]
