"""Project defaults for the CLI: ``cxaudit.toml`` or ``[tool.cxaudit]`` in ``pyproject.toml``.

The nearest file walking up from the working directory wins. Tables are named
after commands and keys after their long options::

    # pyproject.toml
    [tool.cxaudit.audit]
    policy = "audit/policy.yaml"
    format = "json,md,junit"
    strict = true

Relative paths are resolved against the file that declares them. Command-line
options override the file; ``CXAUDIT_<COMMAND>_<OPTION>`` environment
variables (e.g. ``CXAUDIT_AUDIT_POLICY``) override it too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import tomllib

from cxaudit.errors import InputError


@functools.lru_cache(maxsize=8)
def find_config(start: str) -> tuple[Path | None, dict[str, Any]]:
    """(file, {command: {option: value}}) of the nearest configuration, or (None, {})."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        dedicated = folder / "cxaudit.toml"
        if dedicated.is_file():
            return dedicated, _read(dedicated)
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _read(project).get("tool", {}).get("cxaudit")
            if table is not None:
                return project, table
    return None, {}


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}",
                         hint="fix the file, or remove its [tool.cxaudit] table") from None


def command_defaults(command: Any, name: str, start: str) -> dict[str, Any]:
    """Translate ``[<name>]`` option names into the command's parameter names."""
    import click

    file, table = find_config(start)
    section = table.get(name) if isinstance(table, dict) else None
    if not file or not isinstance(section, dict):
        return {}
    by_option: dict[str, click.Parameter] = {}
    for param in getattr(command, "params", []):
        for opt in getattr(param, "opts", []):
            by_option[opt.lstrip("-").replace("-", "_")] = param
    defaults: dict[str, Any] = {}
    for key, value in section.items():
        param = by_option.get(key.replace("-", "_"))
        if param is None or not isinstance(param, click.Option):
            known = ", ".join(sorted(by_option))
            raise InputError(f"{file}: [{'tool.cxaudit.' if file.name == 'pyproject.toml' else ''}"
                             f"{name}] has unknown option {key!r}", hint=f"options: {known}")
        if isinstance(param.type, click.Path) and isinstance(value, str) and "://" not in value \
                and ":/" not in value:
            value = str(file.parent / value) if not Path(value).is_absolute() else value
        defaults[param.name] = value  # type: ignore[index]
    return defaults
