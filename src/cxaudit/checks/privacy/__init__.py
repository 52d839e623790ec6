"""Privacy checks: no personal data where it does not belong.

Registered through the ``cxaudit.checks`` entry point ``privacy``.
"""

from cxaudit.checks.privacy.governance import Minimisation, Retention
from cxaudit.checks.privacy.pii import PiiFeatures, SpecialCategory
from cxaudit.checks.privacy.proxy import Proxy

CHECKS = (PiiFeatures, SpecialCategory, Proxy, Minimisation, Retention)

__all__ = ["CHECKS", "Minimisation", "PiiFeatures", "Proxy", "Retention", "SpecialCategory"]
