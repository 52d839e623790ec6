"""Great Expectations in policies: ``data.expectation`` and ``data.suite``.

Declarations are validated by GX when the policy loads (GX is imported then,
and only when such a check is declared). At audit time every GX expectation
the policy declares for one table (and one customer group) is validated in a
single GX pass; each check then reads its own results from that pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from cxaudit.checks.base import Check, CheckOutcome, CheckParams
from cxaudit.checks.data_quality._common import (
    TableMissing,
    attribute_column,
    group_key,
    located_error,
    table_frame,
)
from cxaudit.checks.data_quality._folding import Spec, fold_outcome
from cxaudit.checks.data_quality.suites import (
    Suite,
    SuiteError,
    find_suite,
    is_path,
    load_suite,
    rename_columns,
)
from cxaudit.context import AuditContext
from cxaudit.errors import InputError

Table = Literal["data", "consent", "reference"]
_NOTES_KEY = "data_quality.gx"


class ExpectationParams(CheckParams):
    """Declaration of ``data.expectation``: the GX expectation and its arguments, inline."""

    model_config = ConfigDict(extra="allow", frozen=True)

    expectation: str = Field(description="GX Core expectation, snake_case "
                             "(e.g. expect_column_values_to_not_be_null).")
    table: Table = Field(default="data", description="data (default), consent or reference.")
    groups: list[str] | None = Field(
        default=None, description="Also validate within each group of these attributes.")

    @model_validator(mode="after")
    def _gx_accepts(self) -> ExpectationParams:
        from cxaudit.checks.gx_adapter import (
            ExpectationSpecError,
            argument_check_deferred,
            build_expectation,
        )

        if self.groups and self.table != "data":
            raise located_error("data.expectation", [(("groups",),
                                "`groups` splits the audited data; it needs `table: data`")])
        if argument_check_deferred(self.expectation):
            return self
        try:
            build_expectation(self.expectation, self.gx_kwargs())
        except ExpectationSpecError as exc:
            raise located_error("data.expectation",
                                [((f,) if f else (), m) for f, m in exc.problems]) from None
        return self

    def gx_kwargs(self) -> dict[str, Any]:
        """The expectation's keyword arguments (every key cxaudit does not own)."""
        return dict(self.model_extra or {})


class SuiteParams(CheckParams):
    """Declaration of ``data.suite``."""

    suite: str = Field(description="A suite under checks/ by name, or a path to a suite YAML "
                       "file (relative to the policy).")
    table: Table | None = Field(default=None, description="Table to validate; default: the "
                                "suite's own `table` (data, consent or reference).")
    columns: dict[str, str] = Field(default_factory=dict, description="Logical column of the "
                                    "suite → column of your table, where the names differ.")
    groups: list[str] | None = Field(
        default=None, description="Also validate within each group of these attributes.")

    @model_validator(mode="after")
    def _suite_is_valid(self) -> SuiteParams:
        try:
            path = find_suite(self.suite)
        except SuiteError as exc:
            if is_path(self.suite):  # relative to the policy: checked when the audit runs
                return self
            raise located_error("data.suite", [(("suite",), str(exc))]) from None
        try:
            validate_suite(load_suite(path), self.columns)
        except SuiteError as exc:
            raise located_error("data.suite", [(("suite",), str(exc))]) from None
        except _MappingError as exc:
            raise located_error("data.suite", [(("columns", exc.key), str(exc))]) from None
        return self


class _MappingError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def validate_suite(suite: Suite, mapping: dict[str, str]) -> None:
    """Check the column mapping and have GX validate every expectation of ``suite``."""
    from cxaudit.checks.gx_adapter import (
        ExpectationSpecError,
        argument_check_deferred,
        build_expectation,
    )

    for key in mapping:
        if key not in suite.columns:
            raise _MappingError(key, f"suite {suite.name!r} has no column {key!r}; its columns: "
                                f"{', '.join(suite.columns)}")
    if argument_check_deferred(f"suite {suite.name}"):
        return
    for entry in suite.expectations:
        try:
            build_expectation(entry.expectation, rename_columns(entry.kwargs, mapping))
        except ExpectationSpecError as exc:
            raise SuiteError("; ".join(f"{entry.locations.get(f, entry.where)}: {m}"
                                       for f, m in exc.problems)) from None


def _group_values(ctx: AuditContext, attribute: str) -> list[str]:
    column = attribute_column(ctx, attribute)
    counts = ctx.engine.count_by(ctx.frame, [column])
    return sorted({group_key(v) for v in counts[column]})


class GxPlan:
    """Every GX expectation of the policy, validated once per table and group."""

    def __init__(self, ctx: AuditContext) -> None:
        self.ctx = ctx
        self._sessions: dict[str, Any] = {}
        self._done: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
        self._specs: dict[str, list[Spec]] = {}

    @classmethod
    def of(cls, ctx: AuditContext) -> GxPlan:
        """The plan shared by all GX checks of this audit."""
        if _NOTES_KEY not in ctx.notes:
            ctx.notes[_NOTES_KEY] = cls(ctx)
        return ctx.notes[_NOTES_KEY]

    def specs(self, check: _GxCheck) -> list[Spec]:
        """The check's expectations (computed once)."""
        if check.params.id not in self._specs:
            self._specs[check.params.id] = check.specs(self.ctx)
        return self._specs[check.params.id]

    def results(self, table: str, attribute: str | None = None, value: str | None = None
                ) -> dict[str, Any]:
        """Results of every expectation declared for ``table`` (within one group)."""
        scope = (table, attribute, value)
        if scope in self._done:
            return self._done[scope]
        from cxaudit.checks.gx_adapter import GxSession, build_expectation

        wanted: list[Spec] = []
        for params in self.ctx.policy.checks:
            check = _GX_TYPES.get(params.type)
            if check is None:
                continue
            instance = check(params)
            if instance.table(self.ctx) != table:
                continue
            if attribute is not None and attribute not in (getattr(params, "groups", None) or ()):
                continue
            try:
                specs = self.specs(instance)
            except (SuiteError, _MappingError):
                continue  # that check reports its own broken suite; the others still run
            wanted.extend(s for s in specs if s.skipped is None)
        frame, _ = table_frame(self.ctx, table)
        if attribute is not None:
            rows = self.ctx.engine.where_equal(self.ctx.frame, attribute_column(self.ctx, attribute),
                                               value)
            frame = self.ctx.engine.select(rows, list(self.ctx.data_columns))
        # GX data source per frame kind: pandas (side tables are pandas on every engine),
        # Spark, or — for streamed Arrow frames, which GX cannot read — pandas collected.
        import pandas as pd

        # (`hasattr(frame, "loc")` is no test: a Spark Connect frame answers any attribute.)
        source = "local" if isinstance(frame, pd.DataFrame) else self.ctx.engine.name
        if source not in ("local", "spark"):
            frame, source = self.ctx.engine.to_pandas(frame), "local"
        if source not in self._sessions:
            self._sessions[source] = GxSession(source)
        expectations = [(s.key, build_expectation(s.expectation, s.kwargs, key=s.key))
                        for s in wanted]
        self._done[scope] = self._sessions[source].validate(
            frame, expectations, id_columns={s.key: s.id_column for s in wanted})
        return self._done[scope]


class _GxCheck(Check):
    """Shared run logic: validate through the plan, fold into one outcome."""

    rule = "EU AI Act Art. 10(2)(f), 10(3): data examined for quality problems"

    def table(self, ctx: AuditContext) -> str:
        """Which table this check validates."""
        return getattr(self.params, "table", None) or "data"

    def specs(self, ctx: AuditContext) -> list[Spec]:  # pragma: no cover - abstract
        """The expectations to validate."""
        raise NotImplementedError

    def run(self, ctx: AuditContext) -> CheckOutcome:  # noqa: D102
        plan = GxPlan.of(ctx)
        table = self.table(ctx)
        try:
            specs = plan.specs(self)
            scopes: list[tuple[dict[str, str], dict[str, Any]]] = [({}, plan.results(table))]
            groups = getattr(self.params, "groups", None) or () if table == "data" else ()
            for attribute in groups:
                for value in _group_values(ctx, attribute):
                    scopes.append(({attribute: value}, plan.results(table, attribute, value)))
        except TableMissing as exc:
            raise InputError(f"{ctx.policy.locate('checks', self.params.id)}: check "
                             f"{self.params.id!r} could not run: {exc}") from None
        except (SuiteError, _MappingError) as exc:
            raise InputError(f"{ctx.policy.locate('checks', self.params.id, 'suite')}: the suite "
                             f"of check {self.params.id!r} is invalid: {exc}") from None
        return fold_outcome(specs, scopes, self.params.type)


class Expectation(_GxCheck):
    """Great Expectations expectation: any GX Core 1.x expectation, declared inline.

    Names the expectation in snake_case and gives its keyword arguments next to
    it; GX validates the declaration when the policy loads (an unknown name
    lists the closest valid ones; a wrong argument shows GX's own message at
    its line). Results keep GX's observed value, unexpected count and percent,
    and examples — masked (text and long numbers) or hashed (customer ids).
    ``groups`` repeats the expectation within each group of the listed
    attributes, so a column that is complete overall but empty for one group
    is caught. ``table: consent`` runs it on the consent ledger.

    Example::

        - id: total-charges-numeric
          type: data.expectation
          expectation: expect_column_values_to_match_regex
          column: TotalCharges
          regex: "^[0-9]+(\\\\.[0-9]+)?$"
          mostly: 0.999
          groups: [gender, SeniorCitizen]
    """

    type = "data.expectation"
    params_model = ExpectationParams

    def specs(self, ctx: AuditContext) -> list[Spec]:  # noqa: D102
        params: ExpectationParams = self.params  # type: ignore[assignment]
        id_column = ctx.policy.data.id if params.table == "data" else None
        return [Spec(key=f"{params.id}#0", expectation=params.expectation,
                     kwargs=params.gx_kwargs(), id_column=id_column)]


class ExpectationSuite(_GxCheck):
    """Expectation suite: a reusable YAML suite of GX expectations from ``checks/``.

    cxaudit ships ``customer-profile``, ``consent-ledger`` and ``scoring-log``;
    ``cxaudit`` finds them by name, or give a path to your own suite. A suite is
    written in logical column names; ``columns`` maps them to yours. Columns a
    suite marks optional may be absent (their expectations are skipped and
    listed). Failing ``critical`` expectations fail the check, ``warning`` ones
    make it warn. ``table`` defaults to the suite's own (the consent-ledger
    suite runs on ``--consent``).

    Example::

        - id: profile-quality
          type: data.suite
          suite: customer-profile
          columns: {customer_id: customerID, tenure_months: tenure,
                    monthly_charges: MonthlyCharges, total_charges: TotalCharges}
        - id: ledger-quality
          type: data.suite
          suite: consent-ledger
    """

    type = "data.suite"
    params_model = SuiteParams

    def _suite(self, ctx: AuditContext) -> Suite:
        params: SuiteParams = self.params  # type: ignore[assignment]
        base = Path(ctx.policy.source).parent
        suite = load_suite(find_suite(params.suite, base))
        validate_suite(suite, params.columns)
        return suite

    def table(self, ctx: AuditContext) -> str:  # noqa: D102
        params: SuiteParams = self.params  # type: ignore[assignment]
        if params.table:
            return params.table
        try:
            return self._suite(ctx).table
        except (SuiteError, _MappingError):
            return "data"

    def specs(self, ctx: AuditContext) -> list[Spec]:  # noqa: D102
        params: SuiteParams = self.params  # type: ignore[assignment]
        suite = self._suite(ctx)
        mapping = params.columns
        table = params.table or suite.table
        try:
            _, available = table_frame(ctx, table)
        except TableMissing:
            available = []
        id_column = (mapping.get(suite.id_column, suite.id_column) if suite.id_column
                     else (ctx.policy.data.id if table == "data" else None))
        specs = []
        for index, entry in enumerate(suite.expectations):
            kwargs = rename_columns(entry.kwargs, mapping)
            absent = [c for c in entry.columns()
                      if suite.optional(c) and mapping.get(c, c) not in available]
            skipped = (f"optional column {absent[0]!r} is absent" if absent else None)
            specs.append(Spec(key=f"{params.id}#{index}", expectation=entry.expectation,
                              kwargs=kwargs, id_column=id_column, skipped=skipped))
        return specs


_GX_TYPES: dict[str, type[_GxCheck]] = {"data.expectation": Expectation,
                                        "data.suite": ExpectationSuite}

__all__ = ["Expectation", "ExpectationParams", "ExpectationSuite", "GxPlan", "Spec",
           "SuiteParams", "fold_outcome", "validate_suite"]
