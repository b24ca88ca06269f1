"""XML records streamed with defusedxml's iterparse and flattened to dotted field names."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.parsers.expat import ErrorString

import pyarrow as pa
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from lumina_integration.hooks.file_formats._base import FileFormatOptions, RowBatcher
from lumina_integration.hooks.file_formats._streams import FileTooLargeError, is_utf8

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


def _local(name: str) -> str:
    """``{namespace}Tag`` or ``prefix:Tag`` -> ``Tag``."""
    return name.rpartition("}")[2].rpartition(":")[2]


def read_xml(source: io.BufferedReader[Any], options: FileFormatOptions, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the record elements of an XML document as raw-zone batches.

    A document that is not well-formed (or declares entities) part-way, or that breaks a bound
    (``max_depth``, ``max_record_bytes``, ``max_file_bytes``), gives the records read so far, then
    one error row for the unreadable rest.
    """
    # The XML declaration names the encoding; only a non-UTF-8 option overrides it.
    parser = DefusedXMLParser(target=TreeBuilder(), encoding=None if is_utf8(options.encoding) else options.encoding)
    is_record = _record_test(options.record_path)
    nulls = frozenset(options.null_values)
    batcher = RowBatcher(batch_rows)
    counted = _RecordSizeGuard(source, options.max_record_bytes)
    open_elements: list[Element] = []
    record_depth: int | None = None  # depth of the record element being read, if any
    problem: str | None = None
    try:
        for event, element in iterparse(counted, events=("start", "end"), parser=parser):
            if event == "start":
                if record_depth is None and is_record(element, len(open_elements)):
                    record_depth = len(open_elements)
                    counted.record_started()
                # Inside a record the record element is level 1; outside, the root is.
                if len(open_elements) - (record_depth or 0) >= options.max_depth:
                    problem = _rest_unread(
                        batcher, f"elements nested deeper than max_depth={options.max_depth}", parser
                    )
                    break
                open_elements.append(element)
                continue
            open_elements.pop()
            depth = len(open_elements)
            if record_depth is not None and depth > record_depth:
                continue  # inside a record: kept until the record ends
            if depth == record_depth:
                record_depth = None
                counted.record_ended()
                if (batch := batcher.add(_record_fields(element, nulls))) is not None:
                    yield batch
            # Drop finished elements from the tree so memory stays bounded by one record.
            element.clear()
            if open_elements:
                open_elements[-1].remove(element)
    except ParseError as error:
        if counted.violation is not None:
            problem = _rest_unread(batcher, counted.violation, parser)
        else:
            line, column = error.position  # expat counts columns from 0
            problem = (
                f"line {line}, column {column + 1}: XML is not well-formed ({ErrorString(error.code)}); "
                "the rest of the file could not be read"
            )
    except DefusedXmlException as error:
        line = parser.parser.CurrentLineNumber
        problem = f"line {line}: forbidden XML construct ({error!r}); the rest of the file could not be read"
    except FileTooLargeError as error:
        problem = f"after record {batcher.next_record_no - 1}: {error}"
    if problem is not None and (batch := batcher.add_error(problem, None)) is not None:
        yield batch
    if (batch := batcher.flush()) is not None:
        yield batch


def _rest_unread(batcher: RowBatcher, bound: str, parser: DefusedXMLParser) -> str:
    line = parser.parser.CurrentLineNumber
    return f"record {batcher.next_record_no} (by line {line}): {bound}; it and the rest of the file were not read"


class _RecordSizeGuard(io.RawIOBase):
    """Feeds the parser and ends the document once the open record has grown past ``max_record_bytes``.

    The parser reads ahead in 16 KiB pieces, so a record's size is counted from the piece in which
    it was seen to start: short by at most one piece, never long. A giant text node is stopped
    while it is still being read, before it is whole in memory.
    """

    def __init__(self, source: io.BufferedReader[Any], max_record_bytes: int) -> None:
        super().__init__()
        self._source = source
        self._max_record_bytes = max_record_bytes
        self._position = 0
        self._record_start: int | None = None
        self.violation: str | None = None

    def record_started(self) -> None:
        self._record_start = self._position

    def record_ended(self) -> None:
        self._record_start = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self.violation is not None:
            return 0
        if self._record_start is not None and self._position - self._record_start > self._max_record_bytes:
            self.violation = f"record larger than max_record_bytes={self._max_record_bytes}"
            return 0
        count = self._source.readinto1(buffer)  # readinto would drop its bytes if a later raw read fails
        self._position += count
        return count


def _record_test(record_path: str | None) -> Callable[[Element, int], bool]:
    """Whether an element, at a given depth (root = 0), is a record."""
    if record_path is None:
        return lambda element, depth: depth == 1
    tag = _local(record_path)
    return lambda element, depth: _local(element.tag) == tag


def _record_fields(record: Element, nulls: frozenset[str]) -> dict[str, str | None]:
    """Flatten a record: ``@attr``, ``Child``, ``Child.@attr``, ``Child.Grandchild``...

    A field found more than once (repeated tags) becomes a JSON array of its values. Text directly
    inside the record element (a record without children, say) goes to ``#text``.
    """
    values: dict[str, list[str]] = {}
    for name, value in record.attrib.items():
        values.setdefault(f"@{_local(name)}", []).append(value)
    if text := (record.text or "").strip():
        values.setdefault("#text", []).append(text)
    # Depth first with an explicit stack, children in document order: the nesting comes from the file.
    pending = [(child, _local(child.tag)) for child in reversed(record)]
    while pending:
        element, key = pending.pop()
        for name, value in element.attrib.items():
            values.setdefault(f"{key}.@{_local(name)}", []).append(value)
        text = (element.text or "").strip()
        if len(element) == 0 or text:
            values.setdefault(key, []).append(text)
        pending += [(child, f"{key}.{_local(child.tag)}") for child in reversed(element)]
    return {key: _render(items, nulls) for key, items in values.items()}


def _render(items: list[str], nulls: frozenset[str]) -> str | None:
    if len(items) == 1:
        return None if items[0] in nulls else items[0]
    return json.dumps([None if item in nulls else item for item in items], ensure_ascii=False, separators=(",", ":"))
