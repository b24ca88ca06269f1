"""The adapter protocol every source system implements.

Steps are generic over adapters: the extract step asks an adapter for Arrow record batches of
a window and never knows which system it talks to. A new system is a new hook module plus one
entry in :mod:`lumina_integration.hooks.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.window import Window

# Columns an adapter may add to every raw batch so later steps can trace a record to its origin.
SOURCE_KEY = "_lumina_source_key"  # the file / object / API resource the record came from
SOURCE_VERSION = "_lumina_source_version"  # its version (an S3 ETag, an API etag...)
SOURCE_MODIFIED = "_lumina_source_modified"  # when that resource last changed at the source


@dataclass(frozen=True)
class SourceObject:
    """Something an adapter can read: a file-drop prefix, an sObject, a table."""

    name: str
    fields: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True)
class SourceVersion:
    """One resource version read by a run; recorded in the load transaction so it is read once."""

    key: str
    version: str
    modified: datetime
    rows: int = 0


@runtime_checkable
class SourceAdapter(Protocol):
    """What the generic steps need from a source system."""

    def discover(self) -> list[SourceObject]:
        """The objects this connection can read."""
        ...

    def server_now(self) -> datetime:
        """The source's own clock (windows are capped by it, never by the worker's clock)."""
        ...

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Stream the records of ``obj`` changed within ``window`` as Arrow batches.

        ``already_loaded`` lists (key, version) pairs a previous run committed, so adapters whose
        unit of change is a whole resource (a file) can skip it.
        """
        ...

    def versions_read(self) -> list[SourceVersion]:
        """The resource versions the last :meth:`read` consumed (empty for record-level sources)."""
        ...

    def test_connection(self) -> tuple[bool, str]: ...
