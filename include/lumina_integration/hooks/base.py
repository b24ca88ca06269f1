"""The adapter protocol every source system implements.

Steps are generic over adapters: the extract step asks an adapter for Arrow record batches of
a window and never knows which system it talks to. A new system is a new hook module plus one
entry in :mod:`lumina_integration.hooks.registry` (ADR 0001, ``docs/adding-an-adapter.md``).

What the steps call, and nothing else:

- ``plan``: :meth:`SourceAdapter.server_now`; ``bind`` (:class:`~.capabilities.BindsRun`); ``fields``
  (:class:`~.capabilities.DescribesFields`, schema drift and refresh planning); ``estimate``
  (:class:`~.capabilities.EstimatesCost`, budgets before reading);
- ``extract``: ``bind``; :meth:`SourceAdapter.read` (incremental and resync runs, and reconcile runs of a
  resource-level source); ``reconcile`` (:class:`~.capabilities.Reconciles`, reconcile runs);
  ``read_columns`` (:class:`~.capabilities.ReadsColumns`, refresh runs); :meth:`SourceAdapter.versions_read`;
  ``usage`` (:class:`~.capabilities.ReportsUsage`, into the manifest and the audit row);
- ``ReverseSyncOperator``: ``write`` (:class:`~.capabilities.WritesBack`);
- Airflow's connection form: :meth:`SourceAdapter.test_connection`. :meth:`SourceAdapter.discover` lists
  what the connection can read (adapters allow-list object names from it).

The optional capabilities are typed protocols in :mod:`lumina_integration.hooks.capabilities`; a step
asks ``supports(adapter, Protocol)``, never ``hasattr``. Besides those the steps call, an adapter may
implement ``versions`` (:class:`~.capabilities.ListsVersions`), ``read_ids``
(:class:`~.capabilities.ReadsIds`) and ``calculated_fields`` (:class:`~.capabilities.HasCalculatedFields`),
which its own ``reconcile`` and tests use. The registry checks at parse time that every maintenance run a
registration declares is backed by the capability it needs (``MAINTENANCE_NEEDS``), and
``tests/unit/hooks/test_adapter_contract.py`` holds every registered adapter to these signatures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.window import Window

# Columns an adapter may add to every raw batch so later steps can trace a record to its origin.
SOURCE_KEY = "_lumina_source_key"  # the file / object / API resource the record came from
SOURCE_VERSION = "_lumina_source_version"  # its version (an S3 ETag, an API etag...)
SOURCE_MODIFIED = "_lumina_source_modified"  # when that resource last changed at the source


class StopRun(RuntimeError):
    """The source, or a budget, says stop: retrying the task would not help, only burn quota.

    The steps turn it into AirflowFailException (failed, not retried), with the message as is.
    """


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


@dataclass(frozen=True)
class SourceField:
    """One field as the source describes it; compared run to run to detect schema drift."""

    name: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    calculated: bool = False
    values: tuple[str, ...] = ()  # allowed values (picklists), when the source declares them

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "calculated": self.calculated,
            "values": list(self.values),
        }


class Checkpoint(Protocol):
    """Small JSON documents a task keeps across its own retries (a bulk job id, say)."""

    def get(self, name: str) -> dict[str, Any] | None: ...

    def put(self, name: str, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class RunContext:
    """What a step knows about its run that an adapter may need.

    Attributes:
        pipeline_id: the pipeline (budgets and breakers are reported against it).
        checkpoint: where the task keeps state for its retries.
        spent_api_calls_24h: API calls this pipeline's runs spent in the last 24 hours.
        spent_bulk_jobs_24h: bulk jobs this pipeline's runs created in the last 24 hours.
    """

    pipeline_id: str
    checkpoint: Checkpoint | None = None
    spent_api_calls_24h: int = 0
    spent_bulk_jobs_24h: int = 0


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


class HasSecrets(Protocol):
    """A connection's parsed settings that can name the secrets they hold (passwords, tokens, keys)."""

    def secrets(self) -> list[str]: ...


SettingsT = TypeVar("SettingsT", bound=HasSecrets)


def masked(settings: SettingsT) -> SettingsT:
    """``settings`` after registering each of its secrets with Airflow's log masker, so no task log prints them."""
    from airflow.sdk.log import mask_secret

    for secret in settings.secrets():
        mask_secret(secret)
    return settings
