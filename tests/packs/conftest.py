"""Fixtures for the pack tests: the demo's files, generated data with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cxaudit.render import render
from cxaudit.render.rules import split_citations
from cxaudit.runner import AuditInputs, audit


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's model, scored customers, training data, ledger and policy (built once)."""
    from cxaudit.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"))


def wrap(pack: str, folder: Path, *, base: dict | None = None, system: dict | None = None,
         data: dict | None = None, checks: list | None = None, name: str | None = None) -> Path:
    """Write a policy that extends ``pack`` (sections from ``base``, then overrides)."""
    doc = {"cxaudit": 1, "extends": [pack]}
    for key in ("system", "data", "consent"):
        if base and key in base:
            doc[key] = dict(base[key])
    if system:
        doc["system"] = {**doc.get("system", {}), **system}
    if data:
        doc["data"] = {**doc.get("data", {}), **data}
    if checks:
        doc["checks"] = checks
    path = folder / f"{name or pack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def run(policy: Path, data: Path, **inputs):
    """Audit from files; the result and its Markdown report."""
    result = audit(AuditInputs(policy=str(policy), data=str(data), **inputs))
    return result, render(result, "md")


def by_id(result) -> dict:
    return {c.id: c for c in result.checks}


def assert_rules_listed(result, markdown: str) -> None:
    """Rules covered names every citation of every check: in the table with the check when
    the rule applies to this system, otherwise among the rules left out, with the reason.
    Whether it applies is the audit's own data: the check's status (not_applicable with the
    standing of its ``law``), never the citation's words."""
    from cxaudit.render.html.sections import applies
    from cxaudit.render.rules import rules_covered

    rows = {row["rule"]: row["checks"] for row in rules_covered(result)}
    assert "### Rules covered" in markdown
    section = markdown[markdown.index("### Rules covered"):].replace("\\|", "|")
    assert "Not legal advice" in section
    for check in result.checks:
        assert check.rule, f"{check.id} cites no rule"
        for citation in split_citations(check.rule):
            why = applies(citation, rows[citation])
            if why is None and check.status.value != "not_applicable":
                assert f"| {citation} |" in section, citation
                line = next(li for li in section.splitlines()
                            if li.startswith(f"| {citation} |"))
                assert f"`{check.id}`" in line
            else:
                assert f"| {citation} |" not in section, f"{citation} listed but {why}"
                assert f"{citation} (" in section, f"{citation} neither listed nor left out"


def applicants(seed: int, rates: dict[tuple[str, str], float], n: int) -> pd.DataFrame:
    """``n`` applicants per (sex, race) cell; ``selected`` drawn with the cell's exact rate."""
    rng = np.random.default_rng(seed)
    frames = []
    start = 0
    for (sex, race), rate in rates.items():
        k = round(rate * n)
        selected = np.array([1] * k + [0] * (n - k))
        rng.shuffle(selected)
        frames.append(pd.DataFrame({
            "applicant_id": [f"A{start + i:06d}" for i in range(n)],
            "sex": sex, "race": race,
            "years_experience": rng.integers(0, 30, n),
            "selected": selected,
            "performed_well": (rng.random(n) < 0.3 + 0.4 * selected).astype(int),
        }))
        start += n
    return pd.concat(frames, ignore_index=True)
