"""Reusable expectation suites: YAML files under the top-level ``checks/`` folder.

A suite is written once for a kind of table (customer profile, consent ledger,
scoring log) in *logical* column names; a policy includes it by name and maps
the logical names to its own columns::

    suite: consent-ledger                 # its name (the file stem)
    description: What every consent ledger must satisfy.
    table: consent                        # data | consent | reference (the default table)
    id_column: subject_id                 # values are hashed in examples
    columns:                              # logical names the expectations use
      subject_id: {description: The customer the record is about.}
      signal: {optional: true}            # optional: its expectations are skipped if absent
    expectations:
      - expectation: expect_column_values_to_not_be_null
        column: subject_id
        severity: critical                # GX severity: critical fails, warning warns, info reports
        description: Every record names its subject.

Column-bearing arguments (``column``, ``column_A``, ``column_B``,
``column_list``, ``column_set``) are renamed through the mapping; every
expectation is validated by Great Expectations when the policy is loaded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxaudit.policy.yamlmarks import load_with_marks
from cxaudit.resources import data_dir

TABLES = ("data", "consent", "reference")
COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list", "column_set")
_SUITE_KEYS = {"suite", "description", "table", "id_column", "columns", "expectations"}
_COLUMN_KEYS = {"description", "optional"}


class SuiteError(ValueError):
    """A suite that cannot be found or is invalid; the message says where."""


@dataclass(frozen=True)
class SuiteExpectation:
    """One expectation of a suite, in logical column names."""

    expectation: str
    kwargs: dict[str, Any]
    where: str
    locations: dict[str, str] = field(default_factory=dict)

    def columns(self) -> list[str]:
        """Logical columns this expectation reads."""
        used: list[str] = []
        for name in COLUMN_ARGUMENTS:
            value = self.kwargs.get(name)
            if isinstance(value, str):
                used.append(value)
            elif isinstance(value, (list, tuple)):
                used.extend(str(v) for v in value)
        return used


@dataclass(frozen=True)
class Suite:
    """A loaded suite."""

    name: str
    path: Path
    description: str = ""
    table: str = "data"
    id_column: str | None = None
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    expectations: tuple[SuiteExpectation, ...] = ()

    def optional(self, column: str) -> bool:
        """True when ``column`` may be absent from the table."""
        return bool(self.columns.get(column, {}).get("optional", False))


def builtin_suites() -> dict[str, Path]:
    """Suites shipped with cxaudit, by name."""
    try:
        folder = data_dir("checks")
    except FileNotFoundError:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def is_path(ref: str) -> bool:
    """True when a suite reference is a file path rather than a built-in name."""
    return ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref


def find_suite(ref: str, base: Path | None = None) -> Path:
    """The file of suite ``ref``: a built-in name, or a path (relative to ``base``)."""
    if is_path(ref):
        candidates = [Path(ref)] if Path(ref).is_absolute() else (
            [base / ref] if base is not None else []) + [Path(ref)]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise SuiteError(f"suite file {ref!r} not found"
                         + (f" (looked in {base})" if base is not None else ""))
    suites = builtin_suites()
    if ref in suites:
        return suites[ref]
    close = difflib.get_close_matches(ref, list(suites), n=3, cutoff=0.5)
    raise SuiteError(f"unknown suite {ref!r}; "
                     + (f"did you mean {', '.join(close)}?" if close
                        else f"built-in suites: {', '.join(suites) or 'none'}")
                     + " (or give a path ending in .yaml)")


def load_suite(path: Path) -> Suite:
    """Read and check a suite file (structure only; GX validates the expectations)."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read suite {shown}: {exc}") from None
    data, marks, problems = load_with_marks(text, shown)
    if problems:
        raise SuiteError("; ".join(p.format() for p in problems))

    def at(*keys: Any) -> str:
        probe = tuple(keys)
        while probe and probe not in marks:
            probe = probe[:-1]
        line, col = marks.get(probe, (1, 1))
        return f"{shown}:{line}:{col}"

    if not isinstance(data, dict):
        raise SuiteError(f"{at()}: a suite is a mapping with `suite`, `columns` and `expectations`")
    unknown = sorted(set(data) - _SUITE_KEYS)
    if unknown:
        raise SuiteError(f"{at(unknown[0])}: unknown key `{unknown[0]}` "
                         f"(a suite has: {', '.join(sorted(_SUITE_KEYS))})")
    table = data.get("table", "data")
    if table not in TABLES:
        raise SuiteError(f"{at('table')}: `table` is one of {', '.join(TABLES)}, not {table!r}")
    columns = data.get("columns") or {}
    if not isinstance(columns, dict):
        raise SuiteError(f"{at('columns')}: `columns` maps logical column names to "
                         "{description, optional}")
    for name, spec in columns.items():
        if spec is None:
            columns[name] = {}
        elif not isinstance(spec, dict) or set(spec) - _COLUMN_KEYS:
            raise SuiteError(f"{at('columns', name)}: column {name!r} takes only "
                             f"{', '.join(sorted(_COLUMN_KEYS))}")
    raw = data.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{at('expectations')}: `expectations` is a non-empty list")
    expectations = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("expectation"), str):
            raise SuiteError(f"{at('expectations', index)}: each entry needs "
                             "`expectation: expect_...` and its arguments")
        kwargs = {k: v for k, v in item.items() if k != "expectation"}
        entry = SuiteExpectation(item["expectation"], kwargs, at("expectations", index),
                                 {k: at("expectations", index, k) for k in item})
        undeclared = [c for c in entry.columns() if c not in columns]
        if undeclared:
            raise SuiteError(f"{entry.where}: column {undeclared[0]!r} is not declared under "
                             "`columns:` of the suite")
        expectations.append(entry)
    id_column = data.get("id_column")
    if id_column is not None and id_column not in columns:
        raise SuiteError(f"{at('id_column')}: id_column {id_column!r} is not under `columns:`")
    return Suite(name=str(data.get("suite") or path.stem), path=path,
                 description=str(data.get("description") or ""), table=table,
                 id_column=id_column, columns=columns, expectations=tuple(expectations))


def rename_columns(kwargs: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Expectation arguments with logical column names replaced by the mapped ones."""
    out = dict(kwargs)
    for name in COLUMN_ARGUMENTS:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = mapping.get(value, value)
        elif isinstance(value, (list, tuple)):
            out[name] = [mapping.get(str(v), str(v)) for v in value]
    return out


__all__ = ["COLUMN_ARGUMENTS", "TABLES", "Suite", "SuiteError", "SuiteExpectation",
           "builtin_suites", "find_suite", "is_path", "load_suite", "rename_columns"]
