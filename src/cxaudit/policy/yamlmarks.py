"""YAML loading that remembers where every key and item came from, and refuses hostile files.

PyYAML builds nodes with start marks; we construct the document as usual and
walk the node tree beside it to map each YAML path to ``(line, column)``
(1-based). Duplicate keys, which PyYAML silently collapses, are reported with
both lines.

A policy, an ``extends`` file or a waivers file is read only when it is a regular
file of at most :data:`MAX_BYTES` (a FIFO would block, ``/dev/zero`` never ends),
as UTF-8 (a UTF-8 byte-order mark is accepted). Before any node is built, the
YAML events are scanned: aliases (``*name``) are refused, because a few hundred
bytes of nested anchors expand to billions of nodes (the "billion laughs"), and
nesting deeper than :data:`MAX_DEPTH` or more than :data:`MAX_NODES` nodes are
refused, so no input exhausts memory, the stack or the CI budget.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from cxaudit.errors import PolicyProblem

Location = tuple[int, int]
Path_ = tuple[Any, ...]

#: Largest policy, ``extends`` or waivers file read (bytes).
MAX_BYTES = 5 * 1024 * 1024
#: Deepest nesting of mappings and lists (policies use fewer than ten levels).
MAX_DEPTH = 64
#: Most YAML nodes in one file (8,000 three-key checks take about 70,000).
MAX_NODES = 300_000
#: Values and keys longer than this are cut in messages (with their length).
MAX_SHOWN = 60

_FAST = getattr(yaml, "CSafeLoader", None)
_Loader: type = _FAST or yaml.SafeLoader


class UnreadableFile(Exception):
    """A YAML file that is not read: not found, not a regular file, too large, not UTF-8."""

    def __init__(self, message: str, hint: str | None = None,
                 where: Location | None = None, *, missing: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where
        self.missing = missing

    def problem(self, file: str, suffix: str = "") -> PolicyProblem:
        line, col = self.where or (None, None)
        return PolicyProblem(file=file, line=line, column=col, path="",
                             message=self.message + suffix, hint=self.hint)


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr`` of a value from a file, cut to ``limit`` characters with its length."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text):,} characters)"
    return text


def cut(text: Any, limit: int = MAX_SHOWN) -> str:
    """``str`` of a key or name from a file, cut to ``limit`` characters with its length."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def clip(message: str, limit: int = 1000) -> str:
    """A message cut to ``limit`` characters (a safety net; values are cut where quoted)."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}… (message cut: {len(message):,} characters)"


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: str | Path, *, what: str = "policy file",
                      limit: int = MAX_BYTES) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes.

    Never blocks (a FIFO is refused before it is opened, and opened without waiting
    for a writer) and never reads more than ``limit + 1`` bytes.

    Raises
    ------
    UnreadableFile
        Saying why, with ``missing=True`` when the file does not exist.
    """
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise UnreadableFile(f"{what} not found", missing=True) from None
    except PermissionError:
        raise UnreadableFile(f"cannot read the {what}: permission denied",
                             "check the file's permissions") from None
    except (OSError, ValueError) as exc:
        raise UnreadableFile(f"cannot read the {what}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(f"the {what} is {_kind(info.st_mode)}, not a regular file",
                             "give the path of a YAML file")
    if info.st_size > limit:
        raise UnreadableFile(f"the {what} is too large ({info.st_size:,} bytes; at most "
                             f"{limit:,} are read)", "a policy is a few kilobytes of YAML")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise UnreadableFile(f"cannot read the {what}: permission denied",
                             "check the file's permissions") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read the {what}: {exc.strerror or exc}") from None
    try:
        opened = os.fstat(fd)  # the file opened is the file checked (no swap in between)
        if not stat.S_ISREG(opened.st_mode):
            raise UnreadableFile(f"the {what} is {_kind(opened.st_mode)}, not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"the {what} is too large (more than {limit:,} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _byte_location(raw: bytes, offset: int) -> Location:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def decode_yaml(raw: bytes, *, what: str = "policy") -> str:
    """UTF-8 text of a YAML file (a UTF-8 byte-order mark is dropped).

    Raises
    ------
    UnreadableFile
        For UTF-16/32 text, bytes that are not UTF-8 and binary data, with the line
        and column of the first offending byte.
    """
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if raw.startswith(bom):
            raise UnreadableFile(f"{name} text (byte-order mark); a {what} is UTF-8",
                                 f"save the {what} as UTF-8 YAML", (1, 1))
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    offset = 3 if body is not raw else 0
    nul = body.find(b"\x00")
    if nul >= 0:
        raise UnreadableFile(f"binary data, not YAML text (a NUL byte at byte {nul + offset})",
                             f"give the {what}'s YAML file",
                             _byte_location(raw, nul + offset))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text (byte {exc.start + offset} is {body[exc.start]:#04x})",
                             f"save the {what} as UTF-8 YAML",
                             _byte_location(raw, exc.start + offset)) from None


def _marked(file: str, mark: Any, message: str, hint: str | None, path: str = "") -> PolicyProblem:
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    return PolicyProblem(file=file, line=line, column=col, path=path, message=clip(message),
                         hint=hint)


def _text_location(text: str, position: int) -> Location:
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> PolicyProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return _marked(file, mark, f"malformed YAML: {message}",
                       "check the indentation and quoting around this position")
    if isinstance(exc, yaml.reader.ReaderError):
        # The C reader counts bytes of the UTF-8 text, the Python reader characters.
        position = exc.position
        if _FAST is not None:
            position = len(text.encode("utf-8")[:position].decode("utf-8", errors="ignore"))
        line, col = _text_location(text, min(position, len(text)))
        char = exc.character
        code = f"#x{char:04x}" if isinstance(char, int) else f"#x{ord(char):04x}" \
            if isinstance(char, str) and len(char) == 1 else "a control character"
        return PolicyProblem(file=file, line=line, column=col, path="",
                             message=f"character {code} is not allowed in YAML",
                             hint="remove control characters; a policy is plain text")
    return PolicyProblem(file=file, line=None, column=None, path="",
                         message=clip(f"malformed YAML: {exc}"),
                         hint="check the file is YAML")


def _scan(text: str, file: str) -> PolicyProblem | None:
    """Refuse aliases, deep nesting and too many nodes before any node is built."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            return _marked(file, event.start_mark,
                           f"YAML aliases (*{shown(event.anchor, 30)[1:-1]}) are not accepted",
                           "write the value out where it is needed (aliases can expand a "
                           "small file into billions of values)")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return _marked(file, event.start_mark,
                               f"nesting deeper than {MAX_DEPTH} levels",
                               "a policy nests a few levels; check the brackets and indentation")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                return _marked(file, event.start_mark,
                               f"more than {MAX_NODES:,} YAML values", "split the policy")
    return None


def load_with_marks(
    text: str, file: str
) -> tuple[Any, dict[Path_, Location], list[PolicyProblem]]:
    """Parse YAML text; return (data, path → location, problems).

    ``data`` is None when the text is not YAML, uses aliases, nests too deep or
    holds too many values (the problems say where), or is empty (no problem).
    """
    try:
        refused = _scan(text, file)
        if refused is not None:
            return None, {}, [refused]
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}, []
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return None, {}, [_yaml_problem(exc, text, file)]

    locations: dict[Path_, Location] = {(): _mark(node)}
    problems: list[PolicyProblem] = []
    constructor = yaml.SafeLoader("")
    scalar_keys = (str, int, float, bool)

    def key_of(key_node: yaml.Node) -> Any:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str":
            return key_node.value
        return constructor.construct_object(key_node, deep=True)

    def walk(n: yaml.Node, path: Path_) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, Location] = {}
            for key_node, value_node in n.value:
                try:
                    key = key_of(key_node)
                except yaml.YAMLError:
                    continue
                if not isinstance(key, scalar_keys) and key is not None:
                    continue
                where = _mark(key_node)
                if key in seen:
                    problems.append(
                        PolicyProblem(
                            file=file,
                            line=where[0],
                            column=where[1],
                            path=dotted((*path, key)),
                            message=f"duplicate key {shown(key)} (first at line {seen[key][0]}, "
                                    f"again at line {where[0]})",
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


def _mark(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_yaml(path: str | Path, *, what: str = "policy file"
              ) -> tuple[bytes, Any, dict[Path_, Location], list[PolicyProblem]]:
    """Read a YAML file safely (:func:`read_regular_file`, :func:`decode_yaml`) and parse it.

    Raises
    ------
    UnreadableFile
        When the file is not read at all.
    """
    raw = read_regular_file(path, what=what)
    text = decode_yaml(raw, what=what.removesuffix(" file"))
    data, locations, problems = load_with_marks(text, str(path))
    return raw, data, locations, problems


def dotted(path: Path_) -> str:
    """``('checks', 0, 'threshold')`` → ``checks[0].threshold`` (long keys cut)."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            part = cut(part)
            out += f".{part}" if out else part
    return out
