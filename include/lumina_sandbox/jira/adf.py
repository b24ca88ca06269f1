"""Atlassian Document Format (ADF): the JSON bodies of REST v3 (descriptions, comments, worklog comments).

``doc(...)`` builds one from paragraphs whose parts are text or ``mention(account_id, name)``; ``to_text`` flattens
one to the plain text the v2 API and Data Center show (wiki markup there; the sandbox gives plain text). The walk
is iterative and bounded, never recursive on input structure (a body comes from a control call).
"""

from __future__ import annotations

from typing import Any

MAX_NODES = 100_000  # a body with more nodes is cut: the control API takes bodies from tests
BLOCKS = frozenset({"paragraph", "heading", "codeBlock", "blockquote", "listItem", "rule", "panel"})

Part = str | dict[str, Any]


def mention(account_id: str, name: str) -> dict[str, Any]:
    """An ADF mention node (``@name``) of the user ``account_id``."""
    return {"type": "mention", "attrs": {"id": account_id, "text": f"@{name}", "accessLevel": ""}}


def paragraph(*parts: Part) -> dict[str, Any]:
    content = [{"type": "text", "text": p} if isinstance(p, str) else p for p in parts if p != ""]
    return {"type": "paragraph", "content": content}


def doc(*paragraphs: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(paragraphs)}


def text_doc(text: str) -> dict[str, Any]:
    """A body of plain ``text`` (one paragraph per line)."""
    return doc(*(paragraph(line) for line in text.split("\n")))


def to_text(node: Any) -> str | None:
    """The text of an ADF document: text nodes as they are, mentions as ``@name``, blocks on their own lines."""
    if node is None:
        return None
    if isinstance(node, str):
        return node
    out: list[str] = []
    stack: list[Any] = [node]
    seen = 0
    while stack and seen < MAX_NODES:
        item = stack.pop()
        seen += 1
        if item == "\n":
            out.append("\n")
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text":
            out.append(str(item.get("text", "")))
        elif kind == "mention":
            out.append(str((item.get("attrs") or {}).get("text", "")))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind in ("emoji",):
            out.append(str((item.get("attrs") or {}).get("text", "")))
        children = item.get("content")
        if isinstance(children, list):
            if kind in BLOCKS:
                stack.append("\n")
            stack.extend(reversed(children))
    return "".join(out).strip("\n")
