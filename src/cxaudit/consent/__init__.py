"""Consent: the ledger vocabulary, purposes (IAB TCF v2.2) and the as-of join.

Importing this package is cheap (no pandas); :mod:`cxaudit.consent.asof` and
:mod:`cxaudit.consent.states` load NumPy/pandas when an audit needs them.
"""
