"""Data-quality checks on the audited customer data (and the consent ledger).

- ``data.required_columns`` — the columns the audit and the model depend on;
- ``data.expectation`` / ``data.suite`` — Great Expectations, inline or as
  reusable YAML suites from ``checks/``;
- ``data.group_completeness``, ``data.representation``, ``data.label_balance``
  — customer groups in the data;
- ``data.duplicates``, ``data.freshness`` — the rows themselves;
- ``data.drift`` — the audited data against reference (training) data.

The entry point ``data = "cxaudit.checks.data_quality"`` reads ``CHECKS``.
"""

from __future__ import annotations

from cxaudit.checks.data_quality.drift import Drift, psi
from cxaudit.checks.data_quality.expectations import Expectation, ExpectationSuite
from cxaudit.checks.data_quality.groups import GroupCompleteness, LabelBalance, Representation
from cxaudit.checks.data_quality.records import Duplicates, Freshness
from cxaudit.checks.data_quality.schema import RequiredColumns, RequiredColumnsParams

CHECKS = (RequiredColumns, Expectation, ExpectationSuite, GroupCompleteness, Representation,
          Duplicates, LabelBalance, Freshness, Drift)

__all__ = ["CHECKS", "Drift", "Duplicates", "Expectation", "ExpectationSuite", "Freshness",
           "GroupCompleteness", "LabelBalance", "Representation", "RequiredColumns",
           "RequiredColumnsParams", "psi"]
