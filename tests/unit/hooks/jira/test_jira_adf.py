"""ADF to text: every node kind the issue names, unicode, and bounds without recursion."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lumina_integration.hooks.jira.adf import AdfError, adf_text, text_of, to_text

DOC = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Überblick ✓"}]},
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Ping "},
                {"type": "mention", "attrs": {"id": "5b10a2844c20165700ede21g", "text": "@Zoë Åström"}},
                {"type": "text", "text": " about "},
                {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}},
                {"type": "hardBreak"},
                {"type": "text", "text": "due ", "marks": [{"type": "strong"}]},
                {"type": "date", "attrs": {"timestamp": "1796601600000"}},
                {"type": "text", "text": " "},
                {"type": "status", "attrs": {"text": "IN REVIEW", "color": "blue"}},
            ],
        },
        {
            "type": "bulletList",
            "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "一"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]},
            ],
        },
        {"type": "codeBlock", "attrs": {"language": "sql"}, "content": [{"type": "text", "text": "SELECT 1"}]},
        {"type": "paragraph", "content": [{"type": "inlineCard", "attrs": {"url": "https://example.com/x"}}]},
    ],
}


def test_a_document_reads_as_text() -> None:
    assert to_text(DOC).split("\n") == [
        "Überblick ✓",
        "Ping @Zoë Åström about 🔥",
        "due 2026-12-07 IN REVIEW",
        "- 一",
        "- two",
        "SELECT 1",
        "https://example.com/x",
    ]


def test_tables_read_row_by_row() -> None:
    cell = lambda t: {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": t}]}]}  # noqa: E731
    doc = {
        "type": "doc",
        "content": [{"type": "table", "content": [{"type": "tableRow", "content": [cell("a"), cell("b")]}]}],
    }
    assert "a" in to_text(doc) and "b" in to_text(doc)


def test_depth_is_bounded_without_recursion() -> None:
    node: dict = {"type": "text", "text": "deep"}
    for _ in range(100_000):  # far past Python's recursion limit
        node = {"type": "paragraph", "content": [node]}
    with pytest.raises(AdfError, match="max_depth"):
        to_text({"type": "doc", "content": [node]})
    assert to_text({"type": "doc", "content": [node]}, max_depth=200_000, max_nodes=200_000) == "deep"


def test_node_count_is_bounded() -> None:
    doc = {"type": "doc", "content": [{"type": "text", "text": "x"}] * 50}
    with pytest.raises(AdfError, match="max_nodes"):
        to_text(doc, max_nodes=10)


def test_plain_text_passes_and_a_non_document_is_refused() -> None:
    assert text_of("h1. wiki markup from Data Center") == "h1. wiki markup from Data Center"
    assert text_of(None) is None
    with pytest.raises(AdfError):
        text_of(json.dumps({"type": "paragraph"}))
    with pytest.raises(AdfError, match="deeper"):
        text_of("{" + '"a":[' * 500 + "]" * 500 + "}")


def test_the_value_format_flags_bad_documents_instead_of_raising() -> None:
    values = pa.array([json.dumps(DOC), "plain", None, json.dumps({"type": "nope"})])
    result = adf_text(values, pa.string(), "UTC")
    assert result.values.to_pylist()[1:3] == ["plain", None]
    assert result.values[0].as_py().startswith("Überblick")
    assert result.invalid.to_pylist() == [False, False, False, True]
    assert result.hint and "Atlassian Document Format" in result.hint


def test_the_format_is_registered() -> None:
    from lumina_integration.transforms.formats import value_cast

    assert value_cast("jira_adf_text") is adf_text
