"""Shared test data for the evidence tests (a module name no other test folder uses)."""

from __future__ import annotations

from pathlib import Path

POLICY = """\
cxaudit: 1
system:
  name: churn-retention-offers
  owner: data-team@example.com
  approver: head-of-cx@example.com
  model_type: churn
data:
  id: customerID
  label: Churn
  positive: "Yes"
  prediction: Churn
  protected: [gender, SeniorCitizen]
checks:
  - id: schema
    type: data.required_columns
    columns: [customerID, tenure, Contract, MonthlyCharges]
    severity: block
  - id: offer-rate-parity
    type: bias.selection_rate
    attributes: [gender, SeniorCitizen]
    min_group_size: 50
    severity: block
"""

#: Waives the one failing group of offer-rate-parity (seniors churn more, so the
#: non-senior group's selection-rate ratio is far below 0.8).
WAIVER = """\
waivers:
  - check: offer-rate-parity
    group: {SeniorCitizen: 0}
    justification: Non-seniors get the general retention programme; reviewed quarterly.
    approver: head-of-cx@example.com
    expires: 2999-12-31
"""


#: The default report formats of `cxaudit audit` (PDF needs WeasyPrint and is slow).
REPORT_FORMATS = ["json", "md", "html", "junit"]


def write_reports(out: Path, result) -> None:
    """Write the default report formats with cxaudit's own writers."""
    from cxaudit.render import write_reports as render_reports

    render_reports(result, out, REPORT_FORMATS)


class TenureModel:
    """A tiny stand-in model (pickled with trust): churn risk falls with tenure.

    Avoids importing scikit-learn just to have a model artifact to hash.
    """

    feature_names_in_ = ("tenure",)
    classes_ = ("No", "Yes")

    def predict_proba(self, features):
        import numpy as np

        risk = 1.0 / (1.0 + np.asarray(features["tenure"], dtype=float) / 12.0)
        return np.column_stack([1.0 - risk, risk])
