"""``cxaudit policy``: validate, list, show and print the schema of policies."""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Validate, list and describe policies."""


@policy.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Validate policy FILES; report every problem with its line and column."""
    from cxaudit.errors import InputError, PolicyError
    from cxaudit.policy.loader import load_policy

    problems: list[str] = []
    for file in files:
        try:
            loaded = load_policy(file)
        except PolicyError as exc:
            problems.extend(p.format() for p in exc.problems)
            continue
        click.echo(f"{file}: valid ({len(loaded.checks)} checks"
                   + (f", extends {', '.join(loaded.extends)}" if loaded.extends else "") + ")")
    if problems:
        plural = "s" if len(problems) != 1 else ""
        raise InputError(f"{len(problems)} problem{plural} in the policy:\n" + "\n".join(problems))


@policy.command()
def schema() -> None:
    """Print the JSON Schema of the policy format (for editors and CI)."""
    import json

    from cxaudit.policy.schema import policy_json_schema

    click.echo(json.dumps(policy_json_schema(), indent=2, sort_keys=True))


@policy.command(name="list")
def list_packs() -> None:
    """List the built-in policy packs."""
    import yaml

    from cxaudit.resources import builtin_packs

    for name, path in builtin_packs().items():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        title = (data.get("description") or "").strip().splitlines()
        click.echo(f"{name:<32} {title[0] if title else ''}")


@policy.command()
@click.argument("pack")
def show(pack: str) -> None:
    """Print a built-in pack (or a policy file) as YAML."""
    from pathlib import Path

    from cxaudit.errors import InputError
    from cxaudit.resources import builtin_packs

    packs = builtin_packs()
    path = packs.get(pack) or (Path(pack) if Path(pack).is_file() else None)
    if path is None:
        raise InputError(f"unknown policy pack {pack!r}",
                         hint=f"built-in packs: {', '.join(packs)}")
    click.echo(path.read_text(encoding="utf-8"), nl=False)
