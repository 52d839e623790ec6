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
from cxaudit.policy.bounds import check_problems, section_problems
from cxaudit.policy.model import ConsentSpec, DataSpec, Policy, PolicyEnvelope, System
from cxaudit.policy.yamlmarks import UnreadableFile, clip, cut, dotted, read_yaml, shown
from cxaudit.resources import builtin_packs

_SECTIONS = ("system", "data", "consent", "logs")


@dataclass
class _Layer:
    file: str
    data: dict[str, Any]
    locations: dict[tuple[Any, ...], tuple[int, int]]
    raw: bytes
    _by_check: dict[int, dict[tuple[Any, ...], tuple[int, int]]] | None = None

    def check_locations(self, index: int) -> dict[tuple[Any, ...], tuple[int, int]]:
        """Locations under ``checks[index]`` (indexed once: loading stays linear)."""
        if self._by_check is None:
            self._by_check = {}
            for path, where in self.locations.items():
                if len(path) >= 2 and path[0] == "checks" and isinstance(path[1], int):
                    self._by_check.setdefault(path[1], {})[path] = where
        return self._by_check.get(index, {})


#: Most files one policy may read through `extends` (itself included).
MAX_LAYERS = 32


@dataclass
class _Resolution:
    layers: list[_Layer] = field(default_factory=list)
    problems: list[PolicyProblem] = field(default_factory=list)
    #: Problems that do not stop validation (duplicate keys), reported with its own.
    later: list[PolicyProblem] = field(default_factory=list)
    reads: int = 0


def _problem(file: str, where: tuple[int, int] | None, path: tuple[Any, ...], message: str,
             hint: str | None = None) -> PolicyProblem:
    line, col = where if where else (None, None)
    return PolicyProblem(file=file, line=line, column=col, path=dotted(path), message=message,
                         hint=hint)


def _read_layer(path: Path, res: _Resolution, *, referenced_from: str | None = None) -> _Layer | None:
    shown_path = str(path)
    try:
        raw, data, locations, problems = read_yaml(path, what="policy file")
    except UnreadableFile as exc:
        where = f" (extended from {referenced_from})" if referenced_from else ""
        problem = exc.problem(shown_path, where)
        if exc.missing:
            problem.hint = "check the path, or run `cxaudit policy list` for the built-in packs"
        res.problems.append(problem)
        return None
    if data is None:
        res.problems.extend(problems)
        if problems:
            return None
    else:
        # Duplicate keys: the document is whole; report them with the validation's problems.
        res.later.extend(problems)
    if data is None:
        res.problems.append(PolicyProblem(file=shown_path, line=None, column=None, path="",
                                          message="the policy file is empty",
                                          hint="start from `cxaudit policy show` or the README"))
        return None
    if not isinstance(data, dict):
        res.problems.append(_problem(shown_path, locations.get(()), (),
                                     f"a policy is a YAML mapping, not a {type(data).__name__}",
                                     "start the file with `cxaudit: 1`"))
        return None
    return _Layer(file=shown_path, data=data, locations=locations, raw=raw)


def _resolve(path: Path, res: _Resolution, stack: tuple[Path, ...],
             referenced_from: str | None = None) -> None:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path.absolute()
    if resolved in stack:
        cycle = " -> ".join(str(p) for p in (*stack, resolved))
        res.problems.append(PolicyProblem(file=referenced_from or str(path), line=None,
                                          column=None, path="extends",
                                          message=f"`extends` forms a cycle: {cycle}",
                                          hint="remove one of the `extends` entries"))
        return
    res.reads += 1
    if res.reads > MAX_LAYERS:
        if res.reads == MAX_LAYERS + 1:
            res.problems.append(PolicyProblem(
                file=referenced_from or str(path), line=None, column=None, path="extends",
                message=f"`extends` reads more than {MAX_LAYERS} files",
                hint="extend a few packs or files; check for files extended many times"))
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
        if not ref.strip():
            res.problems.append(_problem(layer.file, where, ("extends", index),
                                         "an `extends` entry is empty",
                                         "name a built-in pack or a .yaml file"))
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
                                         f"unknown policy pack {shown(ref)}", hint))
            continue
        _resolve(target, res, (*stack, resolved),
                 referenced_from=_at(layer.file, where))
    res.layers.append(layer)


def _at(file: str, where: tuple[int, int] | None) -> str:
    return f"{file}:{where[0]}:{where[1]}" if where else file


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
            message = f"unknown key `{cut(loc[-1])}`"
        elif error["type"] == "missing":
            message = f"`{loc[-1]}` is required"
        problems.append(_problem(file or default_file, where, path, clip(message),
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
        pack = layer.data.get("pack")
        pack = pack if isinstance(pack, dict) else None
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
                before = checks.get(key)
                checks[key] = (layer, index, _with_law(check, pack,
                                                       before[2] if before else None))
        if "checks" in layer.locations and (layer is layers[-1] or "checks" not in locs):
            locs[("checks",)] = (layer.file, layer.locations[("checks",)])
    merged["extends"] = []
    # A pack's identity belongs to its own checks (their `law`), not to the policy.
    # (Validated per layer by _pack_problems.)
    merged.pop("pack", None)
    return merged, list(checks.values()), locs


def _with_law(check: Any, pack: dict[str, Any] | None, before: Any) -> Any:
    """The check with its ``law`` block: its own keys over its pack's defaults; a check
    that overrides another by id without a ``law`` of its own keeps the one it replaces
    (a new threshold does not change when or where the rule applies)."""
    if not isinstance(check, dict):
        return check
    own = check.get("law")
    if own is not None and not isinstance(own, dict):
        return check  # validation reports it
    if own is None and pack is None:
        if isinstance(before, dict) and isinstance(before.get("law"), dict):
            return {**check, "law": before["law"]}
        return check
    law: dict[str, Any] = {}
    if pack is not None:
        defaults = pack.get("law")
        places = pack.get("jurisdictions")
        if isinstance(places, list) and len(places) == 1:
            law["jurisdiction"] = places[0]
        if isinstance(defaults, dict):
            law.update(defaults)
    law.update(own or {})
    if pack is not None:
        law["pack"], law["pack_version"] = pack.get("name"), str(pack.get("version"))
    return {**check, "law": law}


def _pack_problems(layers: list[_Layer]) -> tuple[list[PolicyProblem], list[dict[str, Any]]]:
    """Each layer's ``pack:`` block validated; the packs drawn on (name, version, places)."""
    from cxaudit.lawdates import PackMeta

    problems: list[PolicyProblem] = []
    packs: list[dict[str, Any]] = []
    for layer in layers:
        if "pack" not in layer.data:
            continue
        try:
            meta = PackMeta.model_validate(layer.data["pack"])
        except ValidationError as exc:
            locs = {p: (layer.file, w) for p, w in layer.locations.items()}
            problems.extend(_validation_problems(exc, PackMeta, ("pack",), locs, layer.file))
            continue
        packs.append({"name": meta.name, "version": meta.version,
                      "jurisdictions": meta.jurisdictions})
    return problems, packs


def _validate_check(layer: _Layer, index: int, raw: Any, out_index: int,
                    problems: list[PolicyProblem]) -> Any:
    registry = load_registry()
    prefix = ("checks", index)
    own = layer.check_locations(index)
    where = own.get(prefix)
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
        close = registry.closest(check_type[:200])
        hint = (f"did you mean {', '.join(close)}?" if close
                else "run `cxaudit explain --list` for the check types")
        broken = [name for name in registry.broken if check_type.split(".")[0] in name]
        if broken:
            hint += f" (plugin(s) {', '.join(broken)} failed to load: see `cxaudit explain --list`)"
        problems.append(_problem(layer.file, own.get((*prefix, "type")), (*prefix, "type"),
                                 f"unknown check type {shown(check_type)}", hint))
        return None
    locs = {p: (layer.file, w) for p, w in own.items()}
    for p in ((), ("checks",)):
        if p in layer.locations:
            locs[p] = (layer.file, layer.locations[p])
    try:
        params = cls.params_model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, cls.params_model, prefix, locs, layer.file))
        return None
    bad = check_problems(params, raw)
    for found in bad:
        path = (*prefix, *found.path)
        file, at = _locate(locs, path)
        problems.append(_problem(file or layer.file, at, path, found.message, found.hint))
    return None if bad else params


def _duplicate_ids(layer: _Layer) -> list[PolicyProblem]:
    """Check ids repeated inside one file, with both lines."""
    problems = []
    first: dict[str, int] = {}
    checks = layer.data.get("checks")
    for index, check in enumerate(checks if isinstance(checks, list) else []):
        if not (isinstance(check, dict) and isinstance(check.get("id"), str)):
            continue
        key = check["id"]
        if key in first:
            where = layer.locations.get(("checks", index, "id"))
            before = layer.locations.get(("checks", first[key], "id"))
            also = f"checks[{first[key]}]" + (f" at line {before[0]}" if before else "")
            problems.append(_problem(layer.file, where, ("checks", index, "id"),
                                     f"duplicate check id {shown(key)} (also {also})",
                                     "give every check its own id"))
        else:
            first[key] = index
    return problems


#: Most problems reported for one policy (a generated file can hold thousands).
MAX_PROBLEMS = 200


def _capped(problems: list[PolicyProblem]) -> list[PolicyProblem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    last = problems[MAX_PROBLEMS]
    return [*problems[:MAX_PROBLEMS], PolicyProblem(
        file=last.file, line=last.line, column=last.column, path="",
        message=f"… and {rest:,} more problem{'s' if rest != 1 else ''} (the first "
                f"{MAX_PROBLEMS} are shown)", hint="fix these and validate again")]


def declared_engine(path: str | Path) -> str | None:
    """The ``engine:`` a policy file declares (its ``extends`` merged), read without
    validating anything; None when it declares none or cannot be read (then
    :func:`load_policy` says why)."""
    res = _Resolution()
    _resolve(Path(path), res, ())
    if not res.layers or res.problems:
        return None
    engine = _merge(res.layers)[0].get("engine")
    return engine if isinstance(engine, str) else None


def load_policy(path: str | Path) -> Policy:
    """Load, resolve and validate a policy file, or raise :class:`PolicyError`."""
    path = Path(path)
    res = _Resolution()
    _resolve(path, res, ())
    if not res.layers or res.problems:
        found = sorted(res.problems + res.later, key=lambda p: (p.file, p.line or 0, p.column or 0))
        raise PolicyError(_capped(found) or [PolicyProblem(file=str(path), line=None, column=None,
                                                           path="", message="nothing to load")])
    merged, checks, locs = _merge(res.layers)
    top = res.layers[-1]
    problems: list[PolicyProblem] = list(res.later)
    envelope = None
    try:
        envelope = PolicyEnvelope.model_validate({k: v for k, v in merged.items() if k != "checks"})
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, PolicyEnvelope, (), locs, top.file))

    for layer in res.layers:
        problems.extend(_duplicate_ids(layer))
    pack_problems, packs = _pack_problems(res.layers)
    problems.extend(pack_problems)
    if envelope is not None:
        for found in section_problems(envelope):
            file, at = _locate(locs, found.path)
            problems.append(_problem(file or top.file, at, found.path, found.message, found.hint))
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
            for p, (line, col) in layer.check_locations(index).items():
                check_locations[("checks", params.id, *p[2:])] = (layer.file, line, col)
    if problems or envelope is None:
        raise PolicyError(_capped(sorted(problems,
                                         key=lambda p: (p.file, p.line or 0, p.column or 0))))

    # The engine says how, never what: it stays out of the resolved policy and its hash.
    resolved = envelope.model_dump(mode="json", exclude={"checks", "extends", "engine"})
    resolved["checks"] = [c.model_dump(mode="json") for c in validated]
    resolved_bytes = json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()
    policy = Policy(
        system=envelope.system,
        data=envelope.data,
        consent=envelope.consent,
        engine=envelope.engine,
        checks=tuple(validated),
        approvals=envelope.approvals,
        waivers=tuple(envelope.waivers),
        as_of=envelope.as_of,
        logs=dict(envelope.logs),
        packs=tuple(packs),
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
