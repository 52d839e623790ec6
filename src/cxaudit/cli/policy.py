"""``cxaudit policy``: validate, list, show and print the schema of policies."""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Validate, list and describe policies."""


@policy.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> None:
    """Validate policy FILES (or built-in pack names); report every problem with its place."""
    from pathlib import Path

    from cxaudit.errors import InputError, PolicyError
    from cxaudit.policy.loader import load_policy
    from cxaudit.policy.packs import load_pack
    from cxaudit.resources import builtin_packs

    packs = builtin_packs()
    problems: list[str] = []
    for file in files:
        try:
            # A built-in pack's name validates the pack itself (a base layer).
            loaded = (load_pack(file) if file in packs and not Path(file).exists()
                      else load_policy(file))
        except PolicyError as exc:
            problems.extend(p.format() for p in exc.problems)
            continue
        if file in packs and not Path(file).exists():
            click.echo(f"{file}: valid built-in pack ({len(loaded.checks)} checks)")
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
@click.option("--yaml", "as_yaml", is_flag=True, help="Print the pack's YAML instead.")
def show(pack: str, as_yaml: bool) -> None:
    """Print a built-in pack's (or a policy file's) checks with the rules they cite.

    Each check shows its type, severity, the article or section it stands for,
    its threshold and whether the rule or cxaudit sets it. Policies that extend
    packs show the resolved checks.
    """
    from pathlib import Path

    from cxaudit.errors import InputError
    from cxaudit.policy.loader import load_policy
    from cxaudit.policy.packs import describe_checks, load_pack
    from cxaudit.render.rules import NOT_LEGAL_ADVICE
    from cxaudit.resources import builtin_packs

    packs = builtin_packs()
    looks_like_a_file = Path(pack).exists() or pack.endswith((".yaml", ".yml")) or "/" in pack
    path = packs.get(pack) or (Path(pack) if looks_like_a_file else None)
    if path is None:
        from cxaudit.policy.yamlmarks import shown

        raise InputError(f"unknown policy pack {shown(pack)}",
                         hint=f"built-in packs: {', '.join(packs)}")
    from cxaudit.errors import PolicyError
    from cxaudit.policy.yamlmarks import UnreadableFile, decode_yaml, read_regular_file, read_yaml

    if as_yaml:
        try:
            text = decode_yaml(read_regular_file(path))
        except UnreadableFile as exc:
            raise PolicyError([exc.problem(str(path))]) from None
        click.echo(text, nl=False)
        return
    loaded = load_pack(pack) if pack in packs else load_policy(path)
    try:
        _, raw, _, _ = read_yaml(path)
    except UnreadableFile as exc:  # replaced since it was loaded
        raise PolicyError([exc.problem(str(path))]) from None
    raw = raw if isinstance(raw, dict) else {}
    click.echo(f"{pack}: {str(raw.get('description') or '').strip()}")
    click.echo(f"  file: {path}")
    if loaded.extends and pack not in packs:
        click.echo(f"  extends: {', '.join(loaded.extends)}")
    for meta in loaded.packs:
        click.echo(f"  pack:    {meta['name']} version {meta['version']} "
                   f"({', '.join(meta['jurisdictions'])})")
    for row in describe_checks(loaded):
        click.echo("")
        click.echo(f"{row['id']}  ({row['type']}, severity {row['severity']})")
        click.echo(f"  rule:      {row['rule'] or '(none cited)'}")
        if row["threshold"]:
            source = {"rule": "set by the rule", "cxaudit default": "cxaudit default",
                      "rule and cxaudit default": "partly set by the rule, partly a cxaudit "
                      "default"}.get(row["threshold_source"] or "", "source not stated")
            click.echo(f"  threshold: {row['threshold']} ({source})")
        if row["parameters"]:
            click.echo("  params:    " + ", ".join(f"{k}={v}" for k, v in row["parameters"].items()))
        law = row.get("law")
        if law:
            click.echo(f"  applies:   {_law_line(law)}")
        if row["description"]:
            click.echo(f"  why:       {row['description']}")
    click.echo("")
    click.echo(NOT_LEGAL_ADVICE)


def _law_line(law: dict) -> str:
    """Where and when a check's rule applies, its mark, and the note for [S]."""
    if law.get("basis") == "good_practice":
        return "good practice (no rule sets it; applies everywhere)"
    parts = ["any jurisdiction" if law.get("jurisdiction") == "ANY" else law.get("jurisdiction")]
    for key, word in (("applies_from", "from"), ("compliance_deadline", "compliance due"),
                      ("applies_until", "until")):
        if law.get(key):
            parts.append(f"{word} {law[key]}")
    if law.get("domains"):
        parts.append("decisions: " + ", ".join(law["domains"]))
    text = "; ".join(str(p) for p in parts)
    if law.get("confidence"):
        text += f" [{law['confidence']}]"
    if law.get("note"):
        text += f" — {law['note']}"
    return text
