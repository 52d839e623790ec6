"""What would fix a failing fairness check: decision aids, never applied automatically.

:mod:`cxaudit.remedies.thresholds` computes, on the audited data, the group-blind
single threshold that passes a check (if one exists) and fairlearn's group-aware
per-group thresholds; ``cxaudit remedies`` prints them. They never change a verdict.
"""
