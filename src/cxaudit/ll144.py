"""NYC Local Law 144: the published summary of a bias audit and the one-year limit.

6 RCNY § 5-303(a)(1) [Q] lists what the public summary of a bias audit of an
automated employment decision tool holds: the date of the audit, the source and an
explanation of the data, the number of individuals the tool assessed that fall in
an unknown category, the number of applicants or candidates, the selection or
scoring rates and the impact ratios for every category (sex, race/ethnicity and
their intersection, § 5-301), and the tool's distribution date. A category under
2 % of the data may be left out of the impact ratios (§ 5-301(d)); the summary
then gives the justification, the category's count and its rate. The law sets no
pass line.

Race and ethnicity are reported in the EEO-1 categories: the policy declares how
the data's values map to them (``system.ll144.race_map``); a value without a
category is bad input (exit 2). The tables are computed from the counts of the
audit's selection-rate (or scoring-rate) check, summed over the values mapped to
each category, so they are exact whatever engine counted them.

Admin. Code § 20-871(a)(1) [Q] allows a tool's use only when its bias audit was
conducted no more than one year before the use: :func:`use_standing` says whether
an audit is recent enough on a date of use (``cxaudit verify --as-of``,
``cxaudit gate``).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The EEO-1 race/ethnicity categories, in the order the EEO-1 report lists them.
EEO1_RACE_ETHNICITY = (
    "Hispanic or Latino", "White", "Black or African American",
    "Native Hawaiian or Other Pacific Islander", "Asian",
    "American Indian or Alaska Native", "Two or More Races")
#: The unknown category (the group name cxaudit gives missing values: context.UNKNOWN_GROUP).
UNKNOWN = "unknown"
#: Check types whose details carry the impact-ratio tables the summary is built from.
TABLE_CHECK_TYPES = ("bias.selection_rate", "bias.scoring_rate")
#: The nyc-ll144 pack's impact-ratio check (the summary's default source).
PACK_CHECK_ID = "ll144-impact-ratios"
PACK_NAME = "nyc-ll144"
#: Where the one-year limit comes from.
ONE_YEAR_RULE = "NYC Admin. Code § 20-871(a)(1)"
#: Longest data value shown as written in a message (longer ones are masked).
SHOWN_VALUE = 32
MAX_MAP_ENTRIES = 1000


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


_EEO1_BY_NORM = {_norm(c): c for c in (*EEO1_RACE_ETHNICITY, UNKNOWN)}


def _key_text(key: Any) -> str:
    if isinstance(key, bool) or key is None or isinstance(key, (int, float, str)):
        text = str(key).strip() if key is not None else ""
    else:
        raise ValueError(f"a mapping key is a value of the data (text or number), got "
                         f"{type(key).__name__}")
    if not text or len(text) > 256:
        raise ValueError("a mapping key is a value of the data: not empty, at most 256 "
                         "characters")
    return text


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _keys_as_text(value: Any, what: str) -> Any:
    if not isinstance(value, dict):
        return value
    if not value:
        raise ValueError(f"{what} maps no value")
    if len(value) > MAX_MAP_ENTRIES:
        raise ValueError(f"{what} has {len(value):,} entries; at most {MAX_MAP_ENTRIES:,}")
    out: dict[str, Any] = {}
    numbers: dict[float, str] = {}
    for key, target in value.items():
        text = _key_text(key)
        if text in out:
            raise ValueError(f"{what} lists the value {text!r} twice")
        number = _number(text)
        if number is not None:
            if number in numbers and numbers[number] != text:
                raise ValueError(f"{what} lists {numbers[number]!r} and {text!r}: the same "
                                 "number twice")
            numbers[number] = text
        out[text] = target
    return out


class LL144Spec(BaseModel):
    """What the LL144 public summary needs beyond the data (``system.ll144``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_source: str = Field(min_length=1, max_length=2000, description="Where the audited "
                             "data comes from (6 RCNY § 5-303(a)(1)): e.g. the employer's own "
                             "historical applicant data, 2025-01-01 to 2025-12-31.")
    data_explanation: str = Field(min_length=1, max_length=4000, description="An explanation "
                                  "of the data: what a row is, how sex and race/ethnicity "
                                  "were collected, and, for test data, why historical data "
                                  "was not used.")
    distribution_date: date = Field(description="The date the tool was first distributed "
                                    "(or used), as the summary must state.")
    sex: str = Field(default="sex", min_length=1, max_length=256,
                     description="The protected attribute (data.protected) holding sex.")
    race_ethnicity: str = Field(default="race_ethnicity", min_length=1, max_length=256,
                                description="The protected attribute holding race/ethnicity.")
    race_map: dict[str, str] = Field(description="Each value of the race/ethnicity column → "
                                     "its EEO-1 category (or `unknown`). A value the data "
                                     "holds that is not listed is an error.")
    sex_map: dict[str, str] | None = Field(default=None, description="Each value of the sex "
                                           "column → the category shown (e.g. 1: Male, "
                                           "2: Female; or `unknown`); default: the values as "
                                           "written.")
    check: str | None = Field(default=None, max_length=200, description="Id of the "
                              "bias.selection_rate or bias.scoring_rate check the tables come "
                              f"from; default: {PACK_CHECK_ID} (the nyc-ll144 pack's).")
    exclusion_justification: str | None = Field(
        default=None, min_length=1, max_length=4000, description="Why categories under the "
        "check's `exclude_under` share are left out of the impact ratios (required when one "
        "is: 6 RCNY § 5-301(d)).")

    @field_validator("race_map", mode="before")
    @classmethod
    def _race_keys(cls, value: Any) -> Any:
        return _keys_as_text(value, "race_map")

    @field_validator("sex_map", mode="before")
    @classmethod
    def _sex_keys(cls, value: Any) -> Any:
        return _keys_as_text(value, "sex_map") if value is not None else None

    @field_validator("race_map")
    @classmethod
    def _eeo1(cls, value: dict[str, str]) -> dict[str, str]:
        out, bad = {}, []
        for key, target in value.items():
            found = _EEO1_BY_NORM.get(_norm(target))
            if found is None:
                bad.append(target)
            out[key] = found or target
        if bad:
            shown = ", ".join(repr(_shown(b)) for b in bad[:5])
            raise ValueError(f"{shown} {'is not an EEO-1 category' if len(bad) == 1 else 'are not EEO-1 categories'}"
                             f"; map each value to one of: {', '.join(EEO1_RACE_ETHNICITY)}, "
                             f"or {UNKNOWN}")
        return out

    @field_validator("sex_map")
    @classmethod
    def _sex_targets(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        out = {}
        for key, target in value.items():
            text = " ".join(str(target).split())
            if not text or len(text) > 64:
                raise ValueError(f"sex_map: the category for {key!r} must be 1 to 64 "
                                 "characters")
            out[key] = UNKNOWN if _norm(text) == UNKNOWN else text
        return out

    @model_validator(mode="after")
    def _two_attributes(self) -> LL144Spec:
        if self.sex == self.race_ethnicity:
            raise ValueError(f"sex and race_ethnicity name the same attribute {self.sex!r}")
        return self


def _shown(value: Any) -> str:
    """A value as written, or masked when long (free text, pasted records)."""
    text = str(value)
    if len(text) <= SHOWN_VALUE:
        return text
    return f"{text[0]}…({len(text)} characters, masked)"


class Mapping:
    """A declared ``value → category`` mapping, matched as text, else as a number
    (``1`` in the policy matches the data's ``1.0``)."""

    def __init__(self, declared: dict[str, str] | None) -> None:
        self.declared = dict(declared or {})
        self.numbers = {n: t for k, t in self.declared.items()
                        if (n := _number(k)) is not None}

    def __call__(self, raw: str) -> str | None:
        if not self.declared:
            return raw
        if raw in self.declared:
            return self.declared[raw]
        number = _number(raw)
        return self.numbers.get(number) if number is not None else None


# --- the policy, before the audit runs -------------------------------------------------------

def designated_check(policy: Any) -> Any:
    """The check the summary's tables come from (raises InputError when there is none)."""
    from cxaudit.errors import InputError

    spec: LL144Spec = policy.system.ll144
    checks = list(policy.checks)
    if spec.check is not None:
        found = [c for c in checks if c.id == spec.check]
        if not found:
            raise InputError(f"{policy.locate('system', 'll144', 'check')}: no check "
                             f"{_shown(spec.check)!r} in the policy",
                             hint=f"name a {' or '.join(TABLE_CHECK_TYPES)} check, or extend "
                                  "nyc-ll144")
        if found[0].type not in TABLE_CHECK_TYPES:
            raise InputError(f"{policy.locate('system', 'll144', 'check')}: check "
                             f"{spec.check!r} is {found[0].type}; the summary's rates come "
                             f"from {' or '.join(TABLE_CHECK_TYPES)}")
        return found[0]
    found = [c for c in checks if c.id == PACK_CHECK_ID and c.type in TABLE_CHECK_TYPES]
    if not found:
        found = [c for c in checks if c.type in TABLE_CHECK_TYPES]
    if len(found) != 1:
        raise InputError(f"{policy.locate('system', 'll144')}: "
                         + ("no bias.selection_rate or bias.scoring_rate check gives the "
                            "summary its rates" if not found else
                            f"{len(found)} checks could give the summary its rates "
                            f"({', '.join(c.id for c in found[:5])})"),
                         hint="extend nyc-ll144 (its ll144-impact-ratios check), or name the "
                              "check with system.ll144.check")
    return found[0]


def check_policy(policy: Any) -> None:
    """Before the audit: the attributes are protected, their intersection is audited and
    one check gives the rates (InputError, exit 2, located in the policy)."""
    from cxaudit.errors import InputError

    spec: LL144Spec | None = getattr(policy.system, "ll144", None)
    if spec is None:
        return
    protected = list(policy.data.protected)
    for key in ("sex", "race_ethnicity"):
        attribute = getattr(spec, key)
        if attribute not in protected:
            raise InputError(f"{policy.locate('system', 'll144', key)}: {key} names "
                             f"{_shown(attribute)!r}, which is not under data.protected "
                             f"({', '.join(protected) or 'none'})",
                             hint=f"list {attribute!r} under data.protected, or name the "
                                  f"attribute that holds {key.replace('_', '/')}")
    pair = {spec.sex, spec.race_ethnicity}
    if not any(set(combo) == pair for combo in policy.data.intersections):
        raise InputError(f"{policy.locate('data', 'intersections')}: the LL144 summary needs "
                         f"the intersection of {spec.sex} and {spec.race_ethnicity}",
                         hint=f"add data.intersections: [[{spec.sex}, {spec.race_ethnicity}]]")
    check = designated_check(policy)
    chosen = getattr(check, "attributes", None)
    if chosen is not None and not pair <= set(chosen):
        raise InputError(f"{policy.locate('checks', check.id, 'attributes')}: check "
                         f"{check.id!r} audits {', '.join(chosen)}; the LL144 summary needs "
                         f"{spec.sex} and {spec.race_ethnicity}",
                         hint="drop `attributes` (all protected attributes) or list both")


# --- the summary, after the checks ran -------------------------------------------------------

def _table_for(tables: list[dict[str, Any]], attributes: list[str]) -> dict[str, Any] | None:
    for table in tables:
        if sorted(table.get("attributes") or []) == sorted(attributes):
            return table
    return None


def _unmapped_error(policy: Any, key: str, column: str, values: dict[str, int]) -> Exception:
    from cxaudit.errors import InputError

    shown = ", ".join(f"{_shown(v)!r} ({n:,} row{'s' if n != 1 else ''})"
                      for v, n in list(values.items())[:10])
    more = f" and {len(values) - 10:,} more" if len(values) > 10 else ""
    target = ("EEO-1 category" if key == "race_map" else "category")
    return InputError(f"{policy.locate('system', 'll144', key)}: {len(values):,} value(s) of "
                      f"{column!r} have no {target} in system.ll144.{key}: {shown}{more}",
                      hint=f"map every value of {column!r} under system.ll144.{key} (to "
                           f"`unknown` when it says nothing about the category)")


def _aggregate(categories: list[dict[str, Any]], key_of: Any) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for row in categories:
        key = key_of(row["group"])
        cell = out.setdefault(key, [0, 0])
        cell[0] += int(row["rows"])
        cell[1] += int(row["selected"] or 0)
    return out


def _rows(cells: dict[Any, list[int]], order: list[Any], total: int, exclude_under: float | None,
          label: Any, is_unknown: Any) -> tuple[list[dict[str, Any]], int]:
    rows = []
    for key in order:
        n, selected = cells.get(key, [0, 0])
        rate = selected / n if n else None
        share = n / total if total else 0.0
        unknown = is_unknown(key)
        excluded = bool(not unknown and n and exclude_under and share < exclude_under)
        rows.append({"category": label(key), "applicants": n, "selected": selected,
                     "rate": rate, "share": share, "unknown": unknown, "excluded": excluded,
                     "impact_ratio": None})
    usable = [r for r in rows if not r["unknown"] and not r["excluded"] and r["applicants"]]
    top = max((r["rate"] for r in usable), default=None)
    for r in usable:
        r["impact_ratio"] = (r["rate"] / top) if top else None
    unknown_n = sum(r["applicants"] for r in rows if r["unknown"])
    return rows, unknown_n


def build_summary(policy: Any, result: Any) -> dict[str, Any]:
    """The LL144 tables of ``result`` (the designated check's result), in EEO-1 categories.

    Raises InputError (exit 2) for a race/ethnicity (or mapped sex) value without a
    category, and for categories left out under ``exclude_under`` without a declared
    justification.
    """
    from cxaudit.errors import InputError

    spec: LL144Spec = policy.system.ll144
    tables = (result.details or {}).get("impact_tables") or []
    sex_t = _table_for(tables, [spec.sex])
    race_t = _table_for(tables, [spec.race_ethnicity])
    both_t = _table_for(tables, [spec.sex, spec.race_ethnicity])
    if not (sex_t and race_t and both_t):
        return {"available": False, "check": result.id, "status": result.status.value,
                "reason": result.summary}
    race_map, sex_map = Mapping(spec.race_map), Mapping(spec.sex_map)
    for key, column, table, mapping in (("race_map", spec.race_ethnicity, race_t, race_map),
                                        ("sex_map", spec.sex, sex_t, sex_map)):
        if key == "sex_map" and spec.sex_map is None:
            continue
        missing: dict[str, int] = {}
        for row in table["categories"]:
            raw = row["group"][column]
            if raw != UNKNOWN and mapping(raw) is None:
                missing[raw] = missing.get(raw, 0) + int(row["rows"])
        if missing:
            raise _unmapped_error(policy, key, column, missing)

    def sex_of(group: dict[str, str]) -> str:
        raw = group[spec.sex]
        return UNKNOWN if raw == UNKNOWN else (sex_map(raw) or UNKNOWN)

    def race_of(group: dict[str, str]) -> str:
        raw = group[spec.race_ethnicity]
        return UNKNOWN if raw == UNKNOWN else (race_map(raw) or UNKNOWN)

    exclude_under = sex_t.get("exclude_under")
    total = sum(int(r["rows"]) for r in sex_t["categories"])
    sex_cells = _aggregate(sex_t["categories"], sex_of)
    sexes = ([s for s in dict.fromkeys(spec.sex_map.values()) if s != UNKNOWN]
             if spec.sex_map else sorted(k for k in sex_cells if k != UNKNOWN))
    race_cells = _aggregate(race_t["categories"], race_of)
    both_cells = _aggregate(both_t["categories"], lambda g: (sex_of(g), race_of(g)))
    races = list(EEO1_RACE_ETHNICITY)
    sex_rows, sex_unknown = _rows(sex_cells, [*sexes, UNKNOWN], total, exclude_under,
                                  str, lambda k: k == UNKNOWN)
    race_rows, race_unknown = _rows(race_cells, [*races, UNKNOWN], total, exclude_under,
                                    str, lambda k: k == UNKNOWN)
    pairs = [(s, r) for s in sexes for r in races]
    unknown_pairs = [k for k in both_cells if UNKNOWN in k]
    both_rows, both_unknown = _rows(both_cells, [*pairs, *sorted(unknown_pairs)], total,
                                    exclude_under, lambda k: f"{k[0]} × {k[1]}",
                                    lambda k: UNKNOWN in k)
    # One row for every intersection with an unknown part (their counts are what matter).
    known_both = [r for r in both_rows if not r["unknown"]]
    both_rows = [*known_both, {"category": UNKNOWN, "applicants": both_unknown,
                               "selected": sum(r["selected"] for r in both_rows if r["unknown"]),
                               "rate": None, "share": both_unknown / total if total else 0.0,
                               "unknown": True, "excluded": False, "impact_ratio": None}]
    unknown_row = both_rows[-1]
    unknown_row["rate"] = (unknown_row["selected"] / both_unknown) if both_unknown else None
    excluded = [{"table": name, "category": r["category"], "applicants": r["applicants"],
                 "rate": r["rate"], "share": r["share"]}
                for name, rows in (("sex", sex_rows), ("race_ethnicity", race_rows),
                                   ("intersection", both_rows))
                for r in rows if r["excluded"]]
    if excluded and not spec.exclusion_justification:
        names = ", ".join(e["category"] for e in excluded[:6])
        raise InputError(f"{policy.locate('system', 'll144')}: {len(excluded)} categor"
                         f"{'y is' if len(excluded) == 1 else 'ies are'} under "
                         f"{exclude_under:.0%} of the applicants and left out of the impact "
                         f"ratios ({names}{' …' if len(excluded) > 6 else ''}); the published "
                         "summary must say why (6 RCNY § 5-301(d))",
                         hint="state why in system.ll144.exclusion_justification, or set "
                              f"exclude_under: null on check {result.id!r} to keep every "
                              "category in the ratios")
    scoring = result.type == "bias.scoring_rate"
    return {
        "available": True, "check": result.id, "check_type": result.type,
        "variant": "scoring" if scoring else "selection",
        "median_score": (result.details or {}).get("median_score") if scoring else None,
        "applicants": total, "exclude_under": exclude_under,
        "unknown": {"sex": sex_unknown, "race_ethnicity": race_unknown,
                    "intersection": both_unknown},
        "tables": [
            {"name": "sex", "title": "Sex", "rows": sex_rows},
            {"name": "race_ethnicity", "title": "Race/ethnicity (EEO-1 categories)",
             "rows": race_rows},
            {"name": "intersection", "title": "Intersectional categories (sex × "
             "race/ethnicity)", "rows": both_rows},
        ],
        "excluded": excluded,
        "exclusion_justification": spec.exclusion_justification if excluded else None,
        "race_map": dict(spec.race_map), "sex_map": dict(spec.sex_map or {}),
    }


def attach_summary(policy: Any, results: tuple[Any, ...]) -> tuple[Any, ...]:
    """The results with the LL144 summary in the designated check's details
    (``details.ll144_summary``); unchanged when the policy has no ``system.ll144``."""
    if getattr(policy.system, "ll144", None) is None:
        return results
    target = designated_check(policy).id
    out = []
    for result in results:
        if result.id == target:
            summary = build_summary(policy, result)
            result = result.model_copy(update={"details": {**(result.details or {}),
                                                           "ll144_summary": summary}})
        out.append(result)
    return tuple(out)


# --- the summary in an audit result (for the renderers) --------------------------------------

def summary_of(result: Any) -> tuple[dict[str, Any], Any]:
    """``(summary, check)`` of an audit result (raises InputError when it has none)."""
    from cxaudit.errors import InputError

    if not (getattr(result, "system", None) or {}).get("ll144"):
        raise InputError("--format ll144 needs the policy's system.ll144 block (data source "
                         "and explanation, the tool's distribution date, the race/ethnicity "
                         "to EEO-1 mapping)",
                         hint="see docs/packs.md, section nyc-ll144: the public summary")
    for check in result.checks:
        summary = (check.details or {}).get("ll144_summary")
        if summary is None:
            continue
        if not summary.get("available"):
            raise InputError(f"no LL144 summary: check {check.id!r} produced no impact-ratio "
                             f"tables ({summary.get('status')}: {summary.get('reason')})",
                             hint="run the audit where the check applies (system.jurisdictions, "
                                  "system.domains, --as-of) and with decisions or scores")
        return summary, check
    raise InputError("no LL144 summary in this audit (it was run before system.ll144 was "
                     "declared)", hint="run the audit again")


def audit_day(audit: dict[str, Any]) -> date | None:
    """The audit's date (``policy.as_of.date``) of an audit.json, or None."""
    moment = ((audit.get("policy") or {}).get("as_of") or {}).get("date")
    if not moment:
        return None
    try:
        return datetime.fromisoformat(str(moment).replace("Z", "+00:00")).date()
    except ValueError:
        return None


# --- the one-year limit ----------------------------------------------------------------------

def is_ll144_audit(audit: dict[str, Any]) -> bool:
    """True when an audit.json is an LL144 bias audit: a nyc-ll144 rule applied to it, or its
    system declares ``ll144``."""
    if (audit.get("system") or {}).get("ll144"):
        return True
    for check in audit.get("checks") or []:
        law = (check or {}).get("law") or {}
        if law.get("pack") == PACK_NAME and check.get("status") != "not_applicable":
            return True
    return False


def valid_through(day: date) -> date:
    """The last day of use an audit of ``day`` allows: one year later (29 Feb → 28 Feb)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def use_standing(audit: dict[str, Any], use: date | None) -> tuple[bool | None, str]:
    """Whether an LL144 audit may back the tool's use on ``use``.

    ``(None, message)`` when the audit is not an LL144 audit or no date of use is given
    (a note), ``(True, message)`` when it is recent enough, ``(False, message)`` when it
    is more than a year old or has no date (use is refused: exit 1).
    """
    if not is_ll144_audit(audit):
        return None, ""
    day = audit_day(audit)
    if day is None and use is None:
        return None, (f"LL144: the bias audit has no date; {ONE_YEAR_RULE} allows use only "
                      "within a year of it, so a date of use (--as-of) will be refused")
    if day is None:
        return False, (f"LL144: the bias audit has no date, so its age cannot be checked "
                       f"against the date of use ({ONE_YEAR_RULE}: at most one year old); "
                       "run it with --as-of or the policy's as_of")
    until = valid_through(day)
    if use is None:
        return None, (f"LL144: bias audit dated {day.isoformat()}; usable through "
                      f"{until.isoformat()} ({ONE_YEAR_RULE}); give --as-of DATE to check a "
                      "date of use")
    if use > until:
        return False, (f"LL144: the bias audit is dated {day.isoformat()}, more than a year "
                       f"before the date of use {use.isoformat()}: {ONE_YEAR_RULE} allows use "
                       f"only through {until.isoformat()}; audit again")
    if use < day:
        return True, (f"LL144: the date of use {use.isoformat()} is before the bias audit "
                      f"({day.isoformat()}); the audit is usable through {until.isoformat()}")
    return True, (f"LL144: bias audit dated {day.isoformat()}, within a year of the date of "
                  f"use {use.isoformat()} (usable through {until.isoformat()}, "
                  f"{ONE_YEAR_RULE})")


def parse_use_date(value: str) -> date:
    """``--as-of`` of verify/gate: an ISO date or a time with its offset (its UTC date)."""
    from cxaudit.errors import InputError
    from cxaudit.lawdates import to_moment

    try:
        text = str(value).strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return to_moment(text, what="--as-of").date()
    except ValueError as exc:
        why = str(exc)
        message = why if why.startswith("--as-of") else (
            f"--as-of {_shown(value)!r} is not an ISO date (YYYY-MM-DD) or a time with its "
            "UTC offset")
        raise InputError(message, hint="e.g. --as-of 2027-01-15") from None
