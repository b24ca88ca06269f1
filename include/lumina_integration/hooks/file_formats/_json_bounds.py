"""Nesting and record-size bounds on JSON text, checked on the bytes before any parser sees them.

Parsers that build values (the json module, ijson's ``items``) use the C stack or build a prefix
per level, so a document nested 200k levels deep crashes or exhausts memory before a parser-level
check could run. :class:`JsonBoundsScanner` follows the bracket depth outside strings with bytes
operations that run in C for ordinary text, and walks byte by byte only through a chunk that may
cross a bound, to find the exact offset.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from lumina_integration.hooks.file_formats._streams import ByteSource

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# Keep only brackets, with both kinds mapped to [ and ]: the depth does not care which.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")


class JsonBoundsScanner:
    """Tracks nesting depth and the size of the record being read across the chunks of a document.

    Args:
        record_depth: depth of the containers holding the records (1 for a top-level array, 0 when
            the text is one record, as a JSON line is).
        max_depth: deepest nesting allowed inside one record (the record is level 1).
        max_record_bytes: largest record allowed, in bytes.
    """

    def __init__(self, record_depth: int, max_depth: int, max_record_bytes: int) -> None:
        self._record_depth = record_depth
        self._limit = record_depth + max_depth
        self._max_depth = max_depth
        self._max_record_bytes = max_record_bytes
        self._depth = 0
        self._in_string = False
        self._escaped = False  # the previous chunk ended in a backslash inside a string
        # Bytes of the open record so far; counted from the chunk it opened in, so it may be short
        # by less than one chunk, never long.
        self._record_bytes = 0
        self.violation: str | None = None

    def feed(self, chunk: bytes) -> int | None:
        """Scan the next chunk; returns the offset in it of the first byte that breaks a bound, or None."""
        if self._fits(chunk):
            return None
        return self._walk(chunk)

    def _fits(self, chunk: bytes) -> bool:
        """Update the state for a chunk that surely stays within the bounds; False when it might not."""
        text = chunk[1:] if self._escaped else chunk
        text = _ESCAPE.sub(b"", text)
        escaped = text.endswith(b"\\")
        parts = text.split(b'"')
        outside = parts[1::2] if self._in_string else parts[0::2]
        brackets = b"".join(outside).translate(_BRACKETS, _NOT_BRACKETS)
        # Removing matched pairs leaves ]...][...[; each pass removes one level of nesting.
        passes = 0
        while b"[]" in brackets and passes <= self._limit:
            brackets = brackets.replace(b"[]", b"")
            passes += 1
        opens = brackets.count(b"[")
        closes = len(brackets) - opens
        lowest = self._depth - closes
        highest = max(self._depth, lowest + opens) + passes
        # A record open at the chunk's end that opened inside it starts the count afresh.
        record_bytes = self._record_bytes + len(chunk) if lowest > self._record_depth else 0
        if highest > self._limit or record_bytes > self._max_record_bytes:
            return False
        self._depth = lowest + opens
        self._in_string ^= len(parts) % 2 == 0
        self._escaped = escaped
        self._record_bytes = record_bytes
        return True

    def _walk(self, chunk: bytes) -> int | None:
        """Byte by byte through a chunk that may break a bound: the exact offset, or None after all."""
        depth, in_string, escaped, record_bytes = self._depth, self._in_string, self._escaped, self._record_bytes
        for offset, byte in enumerate(chunk):
            if escaped:
                escaped = False
            elif in_string:
                escaped = byte == _BACKSLASH
                in_string = byte != _QUOTE
            elif byte == _QUOTE:
                in_string = True
            elif byte in _OPENERS:
                depth += 1
                if depth == self._record_depth + 1:
                    record_bytes = 0
                if depth > self._limit:
                    self.violation = f"nested deeper than max_depth={self._max_depth}"
                    return offset
            elif byte in _CLOSERS:
                depth -= 1
            if depth > self._record_depth:
                record_bytes += 1
                if record_bytes > self._max_record_bytes:
                    self.violation = f"larger than max_record_bytes={self._max_record_bytes}"
                    return offset
        self._depth, self._in_string, self._escaped, self._record_bytes = depth, in_string, escaped, record_bytes
        return None


class JsonBoundsStream(io.RawIOBase):
    """Hands a JSON document through up to the first byte that breaks a bound, then ends it there.

    The parser then sees a document that breaks off: it gives the records before that point and
    fails, and the reader reports :attr:`violation` instead of the parser's message.
    """

    def __init__(self, source: ByteSource, scanner: JsonBoundsScanner) -> None:
        super().__init__()
        self._source = source
        self._scanner = scanner
        self._ended = False

    @property
    def violation(self) -> str | None:
        return self._scanner.violation

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._ended:
            return 0
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        cut = self._scanner.feed(data)
        if cut is not None:
            data = data[:cut]
            self._ended = True
        view[: len(data)] = data
        return len(data)
