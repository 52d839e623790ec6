"""Consent lifecycle checks: coverage, withdrawal, expiry and refusal at event time."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cxaudit.checks.base import Check, CheckOutcome
from cxaudit.checks.consent._common import (
    LifecycleParams,
    breakdown_of,
    finding,
    over_datasets,
)
from cxaudit.consent.states import STATES, consent_view
from cxaudit.context import AuditContext

NOT_VALID = tuple(state for state in STATES if state != "valid")


class Coverage(Check):
    """Consent coverage: every row's subject could lawfully be processed at the row's event time.

    For each training or scoring row, the consent ledger record in force for
    its subject and the audited purpose *at the row's event time* is found
    with an as-of join (not "a record exists somewhere"). The row is covered
    when that record is a grant (or another lawful basis the policy accepts for
    the purpose, ``consent.purposes.<id>.lawful_bases``) that had not been
    withdrawn, refused, objected to or expired by then. Granted exactly at the
    event time counts as covered; withdrawn or expired exactly then does not.

    The finding counts uncovered rows by reason, their share, how the lowest
    selection-rate ratio between customer groups changes without them, and
    salted hashes of example subjects. Event time is ``data.timestamp``; without
    one, ``consent.as_of`` or the audit time (said in the finding).

    Example::

        consent:
          purpose: retention_offers
          purposes:
            retention_offers: {lawful_bases: [consent], tcf_purposes: [5, 6]}
        checks:
          - id: lawful-basis-for-every-row
            type: consent.coverage
            threshold: {max: 0}       # share of rows without valid consent
            datasets: [data, reference]   # scored rows and training rows (--reference)
            severity: block
    """

    type = "consent.coverage"
    params_model = LifecycleParams
    rule = "GDPR Art. 6(1) lawful basis and Art. 7(1) demonstrable consent, per purpose"
    requires: ClassVar[frozenset[str]] = frozenset({"consent"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: LifecycleParams = self.params  # type: ignore[assignment]

        def outcome(dataset: str) -> CheckOutcome:
            view = consent_view(ctx, dataset=dataset)
            affected = ~view.mask("valid")
            return finding(ctx, view, affected, params, states=NOT_VALID,
                           problem="had no valid lawful basis for the purpose at their event "
                                   "time",
                           clean=f"All {len(affected):,} rows had valid consent or an accepted "
                                 "lawful basis at their event time",
                           breakdown=breakdown_of(view, affected), with_bias=dataset == "data",
                           extra_details={"accepted_lawful_bases": list(view.rules.lawful_bases),
                                          "rows_by_state": view.counts()})

        return over_datasets(ctx, params, outcome)


class _StateCheck(Check):
    """A check that counts rows in one consent state."""

    state: ClassVar[str]
    problem: ClassVar[str]
    params_model = LifecycleParams
    requires: ClassVar[frozenset[str]] = frozenset({"consent"})

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        params: LifecycleParams = self.params  # type: ignore[assignment]

        def outcome(dataset: str) -> CheckOutcome:
            view = consent_view(ctx, dataset=dataset)
            affected: np.ndarray = view.mask(self.state)
            return finding(ctx, view, affected, params, problem=self.problem, states=(self.state,),
                           clean=f"No row was used {self.problem.split(' ', 2)[-1]}",
                           with_bias=dataset == "data")

        return over_datasets(ctx, params, outcome)


class Withdrawn(_StateCheck):
    """Withdrawn consent: no row is used at or after its subject withdrew consent.

    A withdrawal recorded at or before the row's event time (``withdrawn_at``)
    makes the row unusable for the purpose; a later grant (a new ledger record)
    restores it. Only rows whose event time follows the withdrawal count, so a
    training row from before the withdrawal is not reported here (retrain or
    delete is a retention question: see ``privacy.retention``).

    Example::

        - id: no-use-after-withdrawal
          type: consent.withdrawn
          severity: block
    """

    type = "consent.withdrawn"
    rule = "GDPR Art. 7(3): withdrawal stops further processing based on consent"
    state = "withdrawn"
    problem = "were used after the subject withdrew consent"


class Expired(_StateCheck):
    """Expired consent: no row is used at or after its subject's consent expired.

    Consent records may carry ``expires_at`` (a renewal period set by the
    controller or a regulator). Rows whose event time is at or after it are
    reported; a renewed grant is a new record and covers later rows.

    Example::

        - id: no-use-after-expiry
          type: consent.expired
          severity: block
    """

    type = "consent.expired"
    rule = "GDPR Art. 5(1)(a) lawfulness; Art. 7(1) demonstrable, current consent"
    state = "expired"
    problem = "were used after the subject's consent expired"


class Refused(_StateCheck):
    """Refused consent: no row is used for a subject who refused the purpose.

    A refusal is a ledger record with ``status: refused`` (its ``granted_at`` is
    when the refusal was recorded). Rows of the subject at or after it are
    reported until a later grant.

    Example::

        - id: no-use-despite-refusal
          type: consent.refused
          severity: block
    """

    type = "consent.refused"
    rule = "GDPR Art. 6(1)(a) and Art. 4(11): no consent without an affirmative act"
    state = "refused"
    problem = "were used although the subject refused consent"


CHECKS = (Coverage, Withdrawn, Expired, Refused)
