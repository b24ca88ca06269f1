"""CSV text cut at record boundaries: oversized records are dropped on the fly, failures end the text cleanly.

pyarrow's CSV reader needs every record inside one block and fails the whole file otherwise, and a
read error mid-block loses the block's good rows. :class:`CsvRecordGuard` sits in front of it and
hands out only whole records: a record longer than ``max_record_bytes`` is skipped up to the next
record boundary without being kept and replaced by a placeholder line that pyarrow reports as a row
with the wrong field count, and a read that fails (invalid bytes, ``max_file_bytes``) ends the text
after the last whole record, with the failure kept for the reader's final error row.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lumina_integration.hooks.file_formats._base import MAX_RAW_CHARS, MalformedFileError
from lumina_integration.hooks.file_formats._streams import CHUNK_BYTES, FileTooLargeError, InvalidEncodingError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """An oversized record, as reported in its error row."""

    raw: str  # its first MAX_RAW_CHARS characters
    newlines: int  # line breaks inside it, for the line numbers after it


class CsvRecordGuard(io.RawIOBase):
    """Passes whole CSV records through, each at most ``max_record_bytes`` long.

    A record boundary is a line break outside quotes; with the standard quoting (a doubled quote
    char escapes it) the quote state is the parity of the quote chars since the record started.

    Args:
        text: the validated UTF-8 text after the header.
        quote_char, delimiter: the file's CSV dialect.
        field_count: the header's field count; a placeholder line has one field more.
        max_record_bytes: longest record passed on.
    """

    def __init__(
        self, text: io.BufferedReader[Any], quote_char: str, delimiter: str, field_count: int, max_record_bytes: int
    ) -> None:
        super().__init__()
        self._text = text
        self._quote = quote_char.encode()
        self.delimiter = delimiter
        self._field_count = field_count
        self._max = max_record_bytes
        # Unguessable, so no record of the file can pass for a placeholder.
        self.marker = f"\x00lumina-oversized-{secrets.token_hex(8)}-"
        self.skipped: list[SkippedRecord] = []
        self.failure: MalformedFileError | None = None
        self._held = bytearray()  # the record not yet ended
        self._in_quotes = False  # quote state at the end of what was read
        self._skipping = False
        self._skipped_head = b""
        self._skipped_newlines = 0
        self._out = memoryview(b"")
        self._eof = False
        self.handed_out = 0  # bytes passed on

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._out:
            if self._eof:
                return 0
            self._out = memoryview(self._next())
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._out))
        view[:count] = self._out[:count]
        self._out = self._out[count:]
        self.handed_out += count
        return count

    def _next(self) -> bytes:
        try:
            # read1: a read() that fails part-way would drop the buffered text before the failure.
            chunk = self._text.read1(CHUNK_BYTES)
        except (InvalidEncodingError, FileTooLargeError) as error:
            # The record in progress is incomplete: dropped, the failure is the final error row.
            # (Corrupt gzip data still fails the file: its rest cannot be told from garbage.)
            self.failure, self._eof = error, True
            return b""
        if chunk:
            return self._feed(chunk)
        self._eof = True
        if self._skipping:
            return self._placeholder()
        last, self._held = bytes(self._held), bytearray()
        return last

    def _feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        while chunk:
            if self._skipping:
                end = self._first_boundary(chunk)
                self._skipped_newlines += chunk.count(b"\n", 0, len(chunk) if end < 0 else end)
                if end < 0:
                    self._in_quotes ^= chunk.count(self._quote) % 2 == 1
                    break
                out.append(self._placeholder())
                chunk = chunk[end + 1 :]
            elif self._held:
                end = self._first_boundary(chunk)
                if end < 0:
                    self._in_quotes ^= chunk.count(self._quote) % 2 == 1
                    self._held += chunk
                    if len(self._held) > self._max:
                        self._start_skipping(self._held)
                    break
                if len(self._held) + end + 1 > self._max:
                    self._start_skipping(self._held)
                    self._skipped_newlines += chunk.count(b"\n", 0, end)
                    out.append(self._placeholder())
                else:
                    out.append(bytes(self._held) + chunk[: end + 1])
                    self._held = bytearray()
                self._in_quotes = False
                chunk = chunk[end + 1 :]
            else:
                # At a record start. A record within one chunk is short enough (max >= the chunk size).
                in_quotes = chunk.count(self._quote) % 2 == 1
                end = self._last_boundary(chunk, in_quotes)
                out.append(chunk[: end + 1])
                self._held += chunk[end + 1 :]
                self._in_quotes = in_quotes
                break
        return b"".join(out)

    def _start_skipping(self, head: bytearray) -> None:
        self._skipping = True
        self._skipped_head = bytes(head[: MAX_RAW_CHARS * 4])
        self._skipped_newlines = head.count(b"\n")
        self._held = bytearray()

    def _placeholder(self) -> bytes:
        raw = self._skipped_head.decode("utf-8", "ignore")[:MAX_RAW_CHARS]
        self.skipped.append(SkippedRecord(raw, self._skipped_newlines))
        self._skipping, self._in_quotes = False, False
        return (
            (self.marker + str(len(self.skipped) - 1)).encode() + (self.delimiter * self._field_count).encode() + b"\n"
        )

    def _first_boundary(self, chunk: bytes) -> int:
        """Offset of the first line break outside quotes, given the quote state before ``chunk``; -1 if none."""
        position, in_quotes = 0, self._in_quotes
        while True:
            if in_quotes:
                position = chunk.find(self._quote, position)
                if position < 0:
                    return -1
                position, in_quotes = position + 1, False
                continue
            newline = chunk.find(b"\n", position)
            quote = chunk.find(self._quote, position, newline if newline >= 0 else len(chunk))
            if quote < 0:
                return newline
            position, in_quotes = quote + 1, True

    def _last_boundary(self, chunk: bytes, in_quotes_at_end: bool) -> int:
        """Offset of the last line break outside quotes, given the quote state after ``chunk``; -1 if none."""
        end, in_quotes = len(chunk), in_quotes_at_end
        while True:
            if in_quotes:
                end = chunk.rfind(self._quote, 0, end)
                if end < 0:
                    return -1
                in_quotes = False
                continue
            newline = chunk.rfind(b"\n", 0, end)
            quote = chunk.rfind(self._quote, newline + 1, end)
            if quote < 0:
                return newline
            end, in_quotes = quote, True
