"""Byte-stream plumbing: gzip sniffing and streaming transcoding to validated UTF-8."""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from typing import TYPE_CHECKING, Any, Protocol

from lumina_integration.hooks.file_formats._base import MalformedFileError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class InvalidEncodingError(MalformedFileError):
    """Bytes that are not valid in the file's encoding."""


class FileTooLargeError(MalformedFileError):
    """The file, decompressed, is larger than max_file_bytes."""


class ByteSource(Protocol):
    """Anything with ``read(size)`` returning bytes: files, io.BytesIO, boto3's StreamingBody."""

    def read(self, size: int = ..., /) -> bytes: ...


def is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8 (with or without signature)."""
    return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}


class PrefixedStream(io.RawIOBase):
    """Replays bytes already taken from a stream, then reads on from the stream itself.

    The caller's stream is never closed: its owner (e.g. the S3 hook) closes it.
    """

    def __init__(self, prefix: bytes, rest: ByteSource) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            count = min(len(view), len(self._prefix))
            view[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def open_binary(stream: ByteSource, max_file_bytes: int | None = None) -> io.BufferedReader[Any] | None:
    """Wrap ``stream`` for buffered reading, gunzipping it when it starts with the gzip magic.

    Args:
        stream: the file's bytes, read once.
        max_file_bytes: bound on the (decompressed) bytes handed out; None for no bound.

    Returns:
        The (decompressed) byte stream, or None when it holds no bytes at all. Past
        ``max_file_bytes`` its reads raise :class:`FileTooLargeError`.
    """
    head = b""
    while len(head) < len(_GZIP_MAGIC) and (more := stream.read(len(_GZIP_MAGIC) - len(head))):
        head += more
    reader: io.BufferedReader[Any] = io.BufferedReader(PrefixedStream(head, stream), CHUNK_BYTES)
    if head == _GZIP_MAGIC:
        reader = io.BufferedReader(_Gunzip(reader), CHUNK_BYTES)
    if max_file_bytes is not None:
        reader = io.BufferedReader(_SizeLimit(reader, max_file_bytes), CHUNK_BYTES)
    return reader if reader.peek(1) else None


class _SizeLimit(io.RawIOBase):
    """Hands out at most ``limit`` bytes, then raises: a gzip bomb stops here, not in memory or on disk."""

    def __init__(self, source: io.BufferedReader[Any], limit: int) -> None:
        super().__init__()
        self._source = source
        self._left = limit
        self._limit = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if not self._left:
            if self._source.peek(1):
                raise FileTooLargeError(
                    f"the file is larger than max_file_bytes={self._limit} (decompressed); the rest was not read"
                )
            return 0
        count = self._source.readinto(view[: self._left])
        self._left -= count
        return count


class _Gunzip(io.RawIOBase):
    """Decompresses a gzip stream on the fly; corrupt or truncated data raises MalformedFileError."""

    def __init__(self, compressed: io.BufferedReader[Any]) -> None:
        super().__init__()
        self._file = gzip.GzipFile(fileobj=compressed, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        try:
            return self._file.readinto(buffer)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise MalformedFileError(f"the gzip data is corrupt or truncated: {error}") from error


class Utf8Transcoder(io.RawIOBase):
    """Decodes a byte stream chunk by chunk and hands out UTF-8 without a byte order mark.

    UTF-8 input is only validated and passed through; other encodings are re-encoded. Bytes that
    are invalid in the source encoding raise :class:`MalformedFileError` naming their offset, once
    the text before them has been handed out.
    """

    def __init__(self, source: ByteSource, encoding: str) -> None:
        super().__init__()
        self._source = source
        self._read = getattr(source, "read1", source.read)
        self._encoding = encoding
        self._passthrough = is_utf8(encoding)
        codec = "utf-8" if self._passthrough else codecs.lookup(encoding).name
        self._decoder = codecs.getincrementaldecoder(codec)("strict")
        self._out = memoryview(b"")
        self._consumed = 0
        self._started = False
        self._eof = False
        self._failure: InvalidEncodingError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._out:
            if self._failure is not None:
                raise self._failure
            if self._eof:
                return 0
            self._out = memoryview(self._next_chunk())
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._out))
        view[:count] = self._out[:count]
        self._out = self._out[count:]
        return count

    def _next_chunk(self) -> bytes:
        # read1 where there is one: a read() that fails part-way (max_file_bytes) drops what it had.
        chunk = self._read(CHUNK_BYTES)
        self._eof = not chunk
        if not self._started:
            self._started = True
            if self._passthrough and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
                self._consumed += len(codecs.BOM_UTF8)
        # The decoder keeps an incomplete trailing sequence; error positions count from its start.
        held_back = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final=self._eof)
        except UnicodeDecodeError as error:
            offset = self._consumed - held_back + error.start
            bad = bytes(error.object[error.start : error.end]).hex(" ")
            self._failure = InvalidEncodingError(
                f"bytes {bad} at byte offset {offset} are not valid {self._encoding} ({error.reason}); "
                "check the encoding option"
            )
            # Hand out the valid text before the bad bytes first, so readers keep those records.
            chunk = chunk[: max(error.start - held_back, 0)]
            text = self._decoder.decode(chunk)
        self._consumed += len(chunk)
        return chunk if self._passthrough else text.encode("utf-8")
