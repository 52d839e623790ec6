"""YAML loading that remembers where every key and item came from.

PyYAML builds nodes with start marks; we construct the document as usual and
walk the node tree beside it to map each YAML path to ``(line, column)``
(1-based). Duplicate keys, which PyYAML silently collapses, are reported.
"""

from __future__ import annotations

from typing import Any

import yaml

from cxaudit.errors import PolicyProblem

Location = tuple[int, int]
Path_ = tuple[Any, ...]


def _mark(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_with_marks(
    text: str, file: str
) -> tuple[Any, dict[Path_, Location], list[PolicyProblem]]:
    """Parse YAML text; return (data, path → location, problems)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        problem = PolicyProblem(
            file=file,
            line=line,
            column=col,
            path="",
            message=f"malformed YAML: {message}",
            hint="check the indentation and quoting around this position",
        )
        return None, {}, [problem]
    finally:
        loader.dispose()

    locations: dict[Path_, Location] = {(): _mark(node)}
    problems: list[PolicyProblem] = []
    constructor = yaml.SafeLoader("")

    def walk(n: yaml.Node, path: Path_) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, Location] = {}
            for key_node, value_node in n.value:
                try:
                    key = constructor.construct_object(key_node, deep=True)
                except yaml.YAMLError:
                    continue
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    continue
                where = _mark(key_node)
                if key in seen:
                    problems.append(
                        PolicyProblem(
                            file=file,
                            line=where[0],
                            column=where[1],
                            path=dotted((*path, key)),
                            message=f"duplicate key {key!r} (first at line {seen[key][0]})",
                            hint="YAML keeps only the last one; remove or merge the duplicates",
                        )
                    )
                seen[key] = where
                locations[(*path, key)] = where
                walk(value_node, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                locations[(*path, index)] = _mark(item)
                walk(item, (*path, index))

    walk(node, ())
    constructor.dispose()
    return data, locations, problems


def dotted(path: Path_) -> str:
    """``('checks', 0, 'threshold')`` → ``checks[0].threshold``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
