"""``cxaudit explain``: a check type's documentation (its docstring)."""

from __future__ import annotations

import click


@click.command()
@click.argument("check_type", required=False)
@click.option("--list", "list_all", is_flag=True, help="List every registered check type.")
def explain(check_type: str | None, list_all: bool) -> None:
    """Print what CHECK_TYPE measures, why, and a policy example."""
    from cxaudit.checks.registry import load_registry
    from cxaudit.errors import InputError

    registry = load_registry()
    if list_all or not check_type:
        for name in registry.types():
            click.echo(f"{name:<32} {registry.checks[name].title()}")
        for name, reason in registry.broken.items():
            click.echo(f"{name:<32} [failed to load] {reason}", err=True)
        return
    cls = registry.get(check_type)
    if cls is None:
        close = registry.closest(check_type)
        raise InputError(f"unknown check type {check_type!r}",
                         hint=f"did you mean {', '.join(close)}?" if close
                         else "run `cxaudit explain --list`")
    click.echo(f"{cls.type}\n")
    click.echo(cls.documentation())
    if cls.rule:
        click.echo(f"\nStands for: {cls.rule}")
    needs = sorted(getattr(cls, "requires", ()))
    if needs:
        click.echo(f"Needs: {', '.join(needs)}")
    rows = parameter_rows(cls.params_model)
    if rows:
        click.echo("\nParameters:")
        for name, default, text in rows:
            click.echo(f"  {name} ({default}): {text}" if text else f"  {name} ({default})")


#: Fields every check has; `cxaudit explain` lists only the type's own.
_COMMON = ("id", "type", "severity", "description", "rule")


def parameter_rows(model: type) -> list[tuple[str, str, str]]:
    """(name, default or ``required``, description) of a params model's own fields."""
    from pydantic_core import PydanticUndefined

    rows = []
    for name, field in model.model_fields.items():
        if name in _COMMON:
            continue
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = f"default {_plain(field.default_factory())!r}"
        elif field.default is PydanticUndefined or field.default is None:
            default = "optional"
        elif hasattr(field.default, "describe"):
            default = f"default {field.default.describe()}"
        else:
            default = f"default {_plain(field.default)!r}"
        if len(default) > 70:
            default = default[:66] + " ...]"
        rows.append((name, default, field.description or ""))
    return rows


def _plain(value: object) -> object:
    """Enums as their values, inside lists and dicts too, for readable defaults."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return getattr(value, "value", value)
