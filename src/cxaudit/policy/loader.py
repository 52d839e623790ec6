"""Load a policy: YAML with locations, ``extends`` resolution, validation.

Every problem is collected (not just the first) and reported as
``FILE:LINE:COL: yaml.path: message`` with a hint saying what to write instead.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cxaudit.checks.registry import load_registry
from cxaudit.errors import PolicyError, PolicyProblem
from cxaudit.policy.model import ConsentSpec, DataSpec, Policy, PolicyEnvelope, System
from cxaudit.policy.yamlmarks import dotted, load_with_marks
from cxaudit.resources import builtin_packs

_SECTIONS = ("system", "data", "consent")


@dataclass
class _Layer:
    file: str
    data: dict[str, Any]
    locations: dict[tuple[Any, ...], tuple[int, int]]
    raw: bytes


@dataclass
class _Resolution:
    layers: list[_Layer] = field(default_factory=list)
    problems: list[PolicyProblem] = field(default_factory=list)


def _problem(file: str, where: tuple[int, int] | None, path: tuple[Any, ...], message: str,
             hint: str | None = None) -> PolicyProblem:
    line, col = where if where else (None, None)
    return PolicyProblem(file=file, line=line, column=col, path=dotted(path), message=message,
                         hint=hint)


def _read_layer(path: Path, res: _Resolution, *, referenced_from: str | None = None) -> _Layer | None:
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        where = f" (extended from {referenced_from})" if referenced_from else ""
        res.problems.append(PolicyProblem(file=shown, line=None, column=None, path="",
                                          message=f"policy file not found{where}",
                                          hint="check the path, or run `cxaudit policy list` "
                                               "for the built-in packs"))
        return None
    except OSError as exc:
        res.problems.append(PolicyProblem(file=shown, line=None, column=None, path="",
                                          message=f"cannot read the policy file: {exc.strerror}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        res.problems.append(PolicyProblem(file=shown, line=None, column=None, path="",
                                          message=f"not UTF-8 text (byte {exc.start})",
                                          hint="save the policy as UTF-8 YAML"))
        return None
    data, locations, problems = load_with_marks(text, shown)
    res.problems.extend(problems)
    if problems and data is None:
        return None
    if data is None:
        res.problems.append(PolicyProblem(file=shown, line=None, column=None, path="",
                                          message="the policy file is empty",
                                          hint="start from `cxaudit policy show` or the README"))
        return None
    if not isinstance(data, dict):
        res.problems.append(_problem(shown, locations.get(()), (),
                                     f"a policy is a YAML mapping, not a {type(data).__name__}",
                                     "start the file with `cxaudit: 1`"))
        return None
    return _Layer(file=shown, data=data, locations=locations, raw=raw)


def _resolve(path: Path, res: _Resolution, stack: tuple[Path, ...],
             referenced_from: str | None = None) -> None:
    resolved = path.resolve()
    if resolved in stack:
        cycle = " -> ".join(str(p) for p in (*stack, resolved))
        res.problems.append(PolicyProblem(file=str(path), line=None, column=None, path="extends",
                                          message=f"`extends` forms a cycle: {cycle}"))
        return
    layer = _read_layer(path, res, referenced_from=referenced_from)
    if layer is None:
        return
    extends = layer.data.get("extends", [])
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list):
        res.problems.append(_problem(layer.file, layer.locations.get(("extends",)), ("extends",),
                                     "`extends` is a list of pack names or relative paths"))
        extends = []
    packs = builtin_packs()
    for index, ref in enumerate(extends):
        where = layer.locations.get(("extends", index))
        if not isinstance(ref, str):
            res.problems.append(_problem(layer.file, where, ("extends", index),
                                         "each `extends` entry is a pack name or a path"))
            continue
        if ref in packs:
            target = packs[ref]
        elif ref.endswith((".yaml", ".yml")) or "/" in ref:
            target = path.parent / ref
        else:
            close = difflib.get_close_matches(ref, list(packs), n=3, cutoff=0.5)
            hint = (f"did you mean {', '.join(close)}?" if close
                    else f"built-in packs: {', '.join(packs) or 'none'}; or give a path ending in .yaml")
            res.problems.append(_problem(layer.file, where, ("extends", index),
                                         f"unknown policy pack {ref!r}", hint))
            continue
        _resolve(target, res, (*stack, resolved), referenced_from=layer.file)
    res.layers.append(layer)


def _locate(locs: dict[tuple[Any, ...], tuple[str, tuple[int, int]]], path: tuple[Any, ...]
            ) -> tuple[str | None, tuple[int, int] | None]:
    probe = tuple(path)
    while True:
        if probe in locs:
            return locs[probe]
        if not probe:
            return None, None
        probe = probe[:-1]


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` inside ``model`` (for 'did you mean')."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            break
        annotation = fields[part].annotation
        nested = [a for a in getattr(annotation, "__args__", (annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            break
        current = nested[0]
    return list(getattr(current, "model_fields", {}))


def _hint_for(error: dict[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    kind = error["type"]
    if kind == "extra_forbidden":
        valid = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        if close:
            return f"did you mean `{close[0]}`? (unknown keys are errors so a typo never disables a check)"
        return f"valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return f"add `{loc[-1]}:` here"
    if kind in ("enum", "literal_error"):
        expected = error.get("ctx", {}).get("expected")
        return f"write one of {expected}" if expected else None
    return None


def _validation_problems(exc: ValidationError, model: type[BaseModel], prefix: tuple[Any, ...],
                         locs: dict[tuple[Any, ...], tuple[str, tuple[int, int]]],
                         default_file: str) -> list[PolicyProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and
                                                          part.startswith("function-")))
        path = (*prefix, *loc)
        file, where = _locate(locs, path)
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if error["type"] == "extra_forbidden":
            message = f"unknown key `{loc[-1]}`"
        elif error["type"] == "missing":
            message = f"`{loc[-1]}` is required"
        problems.append(_problem(file or default_file, where, path, message,
                                 _hint_for(error, model, loc)))
    return problems


def _merge(layers: list[_Layer]) -> tuple[dict[str, Any], list[tuple[_Layer, int, dict[str, Any]]],
                                          dict[tuple[Any, ...], tuple[str, tuple[int, int]]]]:
    """Merge layers base-first: sections key by key, checks by id (later wins)."""
    merged: dict[str, Any] = {}
    locs: dict[tuple[Any, ...], tuple[str, tuple[int, int]]] = {}
    checks: dict[Any, tuple[_Layer, int, dict[str, Any]]] = {}
    for layer in layers:
        for key, value in layer.data.items():
            if key == "checks":
                continue
            if key in _SECTIONS and isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        for path, where in layer.locations.items():
            if path and path[0] != "checks":
                locs[path] = (layer.file, where)
        raw_checks = layer.data.get("checks") or []
        if isinstance(raw_checks, list):
            seen_here: set[str] = set()
            for index, check in enumerate(raw_checks):
                key = check.get("id") if isinstance(check, dict) else None
                # Ids merge across layers (later wins); a repeat inside one file is
                # an error reported by load_policy, so keep both to validate both.
                if not isinstance(key, str) or key in seen_here:
                    key = (layer.file, index)
                else:
                    seen_here.add(key)
                checks[key] = (layer, index, check)
        if "checks" in layer.locations and (layer is layers[-1] or "checks" not in locs):
            locs[("checks",)] = (layer.file, layer.locations[("checks",)])
    merged["extends"] = []
    return merged, list(checks.values()), locs


def _validate_check(layer: _Layer, index: int, raw: Any, out_index: int,
                    problems: list[PolicyProblem]) -> Any:
    registry = load_registry()
    prefix = ("checks", index)
    locs = {p: (layer.file, w) for p, w in layer.locations.items()}
    where = layer.locations.get(prefix)
    if not isinstance(raw, dict):
        problems.append(_problem(layer.file, where, prefix, "a check is a mapping with `id` and `type`"))
        return None
    check_type = raw.get("type")
    if not isinstance(check_type, str):
        problems.append(_problem(layer.file, where, prefix, "`type` is required",
                                 "e.g. `type: bias.selection_rate`; `cxaudit explain --list` lists types"))
        return None
    cls = registry.get(check_type)
    if cls is None:
        close = registry.closest(check_type)
        hint = (f"did you mean {', '.join(close)}?" if close
                else "run `cxaudit explain --list` for the check types")
        broken = [name for name in registry.broken if check_type.split(".")[0] in name]
        if broken:
            hint += f" (plugin(s) {', '.join(broken)} failed to load: see `cxaudit explain --list`)"
        problems.append(_problem(layer.file, layer.locations.get((*prefix, "type")), (*prefix, "type"),
                                 f"unknown check type {check_type!r}", hint))
        return None
    try:
        return cls.params_model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, cls.params_model, prefix, locs, layer.file))
        return None


def load_policy(path: str | Path) -> Policy:
    """Load, resolve and validate a policy file, or raise :class:`PolicyError`."""
    path = Path(path)
    res = _Resolution()
    _resolve(path, res, ())
    if not res.layers or res.problems:
        raise PolicyError(res.problems or [PolicyProblem(file=str(path), line=None, column=None,
                                                         path="", message="nothing to load")])
    merged, checks, locs = _merge(res.layers)
    top = res.layers[-1]
    problems: list[PolicyProblem] = []
    envelope = None
    try:
        envelope = PolicyEnvelope.model_validate({k: v for k, v in merged.items() if k != "checks"})
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, PolicyEnvelope, (), locs, top.file))

    ids_in_top: dict[str, int] = {}
    for index, check in enumerate(top.data.get("checks") or []):
        if isinstance(check, dict) and isinstance(check.get("id"), str):
            if check["id"] in ids_in_top:
                problems.append(_problem(top.file, top.locations.get(("checks", index, "id")),
                                         ("checks", index, "id"),
                                         f"duplicate check id {check['id']!r} "
                                         f"(also checks[{ids_in_top[check['id']]}])",
                                         "give every check its own id"))
            ids_in_top[check["id"]] = index
    if not isinstance(top.data.get("checks", []), list):
        problems.append(_problem(top.file, top.locations.get(("checks",)), ("checks",),
                                 "`checks` is a list of check declarations"))
        checks = []

    validated = []
    check_locations: dict[tuple[Any, ...], tuple[str, int, int]] = {}
    for out_index, (layer, index, raw) in enumerate(checks):
        params = _validate_check(layer, index, raw, out_index, problems)
        if params is not None:
            validated.append(params)
            for p, (line, col) in layer.locations.items():
                if p[:2] == ("checks", index):
                    check_locations[("checks", params.id, *p[2:])] = (layer.file, line, col)
    if problems or envelope is None:
        raise PolicyError(sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0)))

    resolved = envelope.model_dump(mode="json", exclude={"checks", "extends"})
    resolved["checks"] = [c.model_dump(mode="json") for c in validated]
    resolved_bytes = json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()
    policy = Policy(
        system=envelope.system,
        data=envelope.data,
        consent=envelope.consent,
        checks=tuple(validated),
        approvals=envelope.approvals,
        waivers=tuple(envelope.waivers),
        extends=tuple(top.data.get("extends") or ()) if isinstance(top.data.get("extends"), list)
        else (),
        source=str(path),
        sha256=hashlib.sha256(top.raw).hexdigest(),
        resolved_sha256=hashlib.sha256(resolved_bytes).hexdigest(),
        resolved=resolved,
    )
    for p, (file, where) in locs.items():
        policy._locations[p] = (file, *where)
    policy._locations.update(check_locations)
    return policy


__all__ = ["load_policy", "System", "DataSpec", "ConsentSpec"]
