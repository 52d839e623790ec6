"""Make text from data and policies inert in Markdown reports.

Group names, column names, check descriptions and summaries reach ``audit.md`` and the
model card. A Markdown renderer turns ``<img src=x onerror=…>`` into live HTML and
``[x](javascript:…)`` into a link, and a ``|`` or a newline breaks a table. Every value
a template prints goes through :func:`md_escape` (the Jinja environment's ``finalize``),
so a template cannot forget it:

- ``<`` and ``>`` become HTML entities (no raw HTML, no autolinks), and so does an ``&``
  that would start an entity of its own;
- the characters that make links, images, emphasis, code and tables (``\\ ` * _ [ ] |``
  and ``~``) are backslash-escaped, except ``_`` inside a word (never emphasis in
  CommonMark, and common in ids such as ``offer_rate``);
- a ``#``, ``+``, ``-`` or ``=`` that would start a line is escaped;
- newlines and other control characters become spaces / U+FFFD, lone surrogates U+FFFD;
- strings longer than :data:`MAX_CHARS` are cut, saying how long they were.

Text the template writes itself (headings, table rules) is not touched.
"""

from __future__ import annotations

import re
from typing import Any

#: Longest value printed whole; longer ones are cut with their length.
MAX_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPECIAL = re.compile(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: An ``&`` that would start a character reference (``&lt;``, ``&#60;``); a lone ``&`` is text.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(\s*)([#+\-=>])")


class Escaped(str):
    """Text already made safe for Markdown (not escaped twice)."""


def cut(text: str, limit: int = MAX_CHARS) -> str:
    """``text`` whole, or its first ``limit`` characters and how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text):,} characters, cut)"


def md_escape(value: Any) -> str:
    """``value`` as inert Markdown text (see the module docstring)."""
    if isinstance(value, Escaped):
        return value
    if value is None:
        return Escaped("")
    text = cut(str(value))
    text = _SURROGATE.sub("\ufffd", text)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    text = _CONTROL.sub("\ufffd", text)
    text = _ENTITY.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return Escaped(text)


def md_finalize(value: Any) -> Any:
    """Jinja ``finalize`` for Markdown templates: every printed value escaped once."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return md_escape(value)
