"""Atlassian Document Format (ADF) to plain text, without recursion on the document.

Jira Cloud's v3 API sends rich text (descriptions, comments, worklog comments, text custom fields) as
ADF: a JSON tree of nodes (``doc`` > ``paragraph`` > ``text``, ``mention``, ``emoji``...). Raw keeps the
JSON as it came; the canonical tables get text through the ``jira_adf_text`` value format
(:func:`adf_text`, registered in :mod:`lumina_integration.transforms.formats`).

The walk uses an explicit stack and stops at ``max_depth`` levels and ``max_nodes`` nodes; a document
past a bound is invalid (its row is quarantined with the reason), never a crash or a silent cut.
Text outside ADF (Data Center's wiki markup, a plain string) is kept as it is.

How nodes read as text: blocks (paragraphs, headings, list items, table rows, code blocks, quotes,
panels) end with a line break; ``hardBreak`` is a line break; a ``mention`` is its ``attrs.text``
(``@Name``), an ``emoji`` its ``attrs.text`` or ``shortName``, a ``date`` its day (``attrs.timestamp``
in ms), a ``status`` its text, an ``inlineCard`` its URL; list items start with ``- ``; table cells are
separated by `` | ``; media nodes read as ``[media]``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.transforms.casting import CastResult

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_NODES = 100_000
_BLOCKS = frozenset(
    {"paragraph", "heading", "codeBlock", "blockquote", "panel", "rule", "tableRow", "mediaSingle", "mediaGroup"}
    | {"expand", "nestedExpand", "decisionItem", "taskItem"}
)
_HINT = "an Atlassian Document Format document (JSON with type doc) or plain text"


class AdfError(ValueError):
    """A document that is not ADF, or breaks a bound."""


def _inline(node: dict[str, Any]) -> str | None:
    """The text of a leaf node, or None for a node with content to walk."""
    kind = node.get("type")
    found = node.get("attrs")
    attrs: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = attrs.get("text") or f"@{attrs.get('id', '')}"
        return str(text) if str(text).startswith("@") else f"@{text}"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "date":
        try:
            return datetime.fromtimestamp(int(attrs.get("timestamp") or "") / 1000, UTC).date().isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            return ""
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "rule":
        return "---\n"
    if kind in ("media", "mediaInline"):
        return "[media]"
    return None


def to_text(document: Any, *, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """The text of an ADF document (a parsed ``{"type": "doc", ...}``).

    Raises:
        AdfError: not a document, deeper than ``max_depth``, or more than ``max_nodes`` nodes.
    """
    if not isinstance(document, dict) or document.get("type") != "doc":
        raise AdfError("not an ADF document (a JSON object with type doc)")
    out: list[str] = []
    # Items: a node with its depth, or a text to emit once the node's children are done.
    stack: list[tuple[Any, int] | str] = [(document, 1)]
    nodes = 0
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, depth = item
        nodes += 1
        if nodes > max_nodes:
            raise AdfError(f"an ADF document of more than max_nodes={max_nodes} nodes")
        if depth > max_depth:
            raise AdfError(f"an ADF document nested deeper than max_depth={max_depth}")
        if not isinstance(node, dict):
            continue
        leaf = _inline(node)
        if leaf is not None:
            out.append(leaf)
            continue
        kind = node.get("type")
        content = node.get("content")
        children = content if isinstance(content, list) else []
        # What follows the children, pushed first so it pops after them.
        if kind in _BLOCKS:
            stack.append("\n")
        elif kind == "tableCell" or kind == "tableHeader":
            stack.append(" | ")
        if kind == "expand" or kind == "nestedExpand":
            title = node.get("attrs", {}).get("title") if isinstance(node.get("attrs"), dict) else None
            stack.extend((child, depth + 1) for child in reversed(children))
            if title:
                stack.append(f"{title}\n")
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
        if kind == "listItem":
            stack.append("- ")
    return _tidy("".join(out))


def _tidy(text: str) -> str:
    lines = [line.rstrip().removesuffix(" |").rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def text_of(value: str | None, *, max_depth: int = DEFAULT_MAX_DEPTH) -> str | None:
    """A raw column value as text: ADF JSON flattened, any other text as it is, None as None.

    Raises:
        AdfError: JSON that is not an ADF document or breaks a bound.
    """
    if value is None:
        return None
    stripped = value.lstrip()
    if not stripped.startswith("{"):
        return value  # wiki markup or plain text (Data Center, v2)
    from lumina_integration.hooks.file_formats._json_bounds import JsonBoundsScanner

    raw = stripped.encode()
    scanner = JsonBoundsScanner(0, max_depth, max(len(raw), 1))
    if scanner.feed(raw) is not None:
        raise AdfError(f"the ADF document is {scanner.violation}")
    try:
        document = json.loads(raw)
    except ValueError:
        return value  # text that happens to start with a brace
    return to_text(document, max_depth=max_depth)


def adf_text(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    """The ``jira_adf_text`` value format (:data:`~lumina_integration.transforms.formats.ValueCast`)."""
    import pyarrow as pa

    from lumina_integration.transforms.casting import CastResult

    texts: list[str | None] = []
    invalid: list[bool] = []
    source = values.cast(pa.string()) if not pa.types.is_string(values.type) else values
    for value in source.to_pylist():
        try:
            texts.append(text_of(value))
            invalid.append(False)
        except AdfError:
            texts.append(None)
            invalid.append(True)
    result = pa.array(texts, pa.string())
    return CastResult(result if target == pa.string() else result.cast(target), pa.array(invalid), hint=_HINT)
