"""Optional adapter capabilities as typed protocols (ADR 0001).

:class:`~lumina_integration.hooks.base.SourceAdapter` is what every source implements. Beyond it an
adapter may offer any of the capabilities below; the steps ask :func:`supports` instead of probing
attribute names, and the registry checks at parse time that an adapter implements every maintenance
run its registration declares (``reconcile`` needs :class:`Reconciles` or a resource-level source,
``refresh`` needs :class:`ReadsColumns`, ``resync`` needs nothing beyond ``read``).

Each protocol holds one method so an adapter states exactly what it can do, and a type checker
holds the implementations to these signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from typing_extensions import TypeIs, get_protocol_members

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.hooks.base import RunContext, SourceField
    from lumina_integration.window import Window


@dataclass(frozen=True)
class ExtractUsage:
    """What one extract spent and how it read, recorded in the raw manifest and the audit row.

    Attributes:
        api_calls: requests this adapter sent to the source during the run (token calls excluded).
        bulk_jobs: bulk/async jobs it created (Salesforce Bulk 2.0), 0 for sources without them.
        transport: how it read when the adapter chooses (``rest``/``bulk``), else None.
        reconciled: a reconcile run's counts (``{"tombstones": n, "records": m}``), else None.
    """

    api_calls: int = 0
    bulk_jobs: int = 0
    transport: str | None = None
    reconciled: dict[str, int] | None = None


@runtime_checkable
class BindsRun(Protocol):
    """Receives the run's checkpoint store and past API spending before any call."""

    def bind(self, run: RunContext) -> None: ...


@runtime_checkable
class ReportsUsage(Protocol):
    """Reports what the last read spent (see :class:`ExtractUsage`)."""

    def usage(self) -> ExtractUsage: ...


@runtime_checkable
class DescribesFields(Protocol):
    """Typed field metadata of an object, compared run to run to detect schema drift."""

    def fields(self, obj: str) -> list[SourceField]: ...


@runtime_checkable
class EstimatesCost(Protocol):
    """The cost of reading a window (``{"records": n, "api_calls": m, ...}``), checked against budgets."""

    def estimate(self, obj: str, window: Window, options: Mapping[str, Any]) -> dict[str, Any]: ...


@runtime_checkable
class ListsVersions(Protocol):
    """``(id, stamp)`` of every live record, for reconciliation."""

    def versions(self, obj: str, stamp_field: str | None, options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class Reconciles(Protocol):
    """Tombstones for ``known`` ids the source lacks, and the records the warehouse lacks or holds older."""

    def reconcile(
        self,
        obj: str,
        known: pa.Table,
        as_of: datetime,
        options: Mapping[str, Any],
        *,
        stamp_field: str | None = None,
    ) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class ReadsIds(Protocol):
    """Records by id (repairs gaps)."""

    def read_ids(self, obj: str, ids: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class ReadsColumns(Protocol):
    """``fields`` of every live record, for formula refreshes and column-only backfills."""

    def read_columns(self, obj: str, fields: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class HasCalculatedFields(Protocol):
    """Fields whose values change without a cursor bump (formulas, roll-ups)."""

    def calculated_fields(self, obj: str) -> list[str]: ...


@runtime_checkable
class WritesBack(Protocol):
    """Writes rows to the source (reverse ETL); returns a job id, the successes and the failures."""

    def write(
        self, obj: str, operation: str, table: pa.Table, *, external_id_field: str | None = None
    ) -> tuple[str, pa.Table, pa.Table]: ...


CapabilityT = TypeVar("CapabilityT")


def supports(adapter: object, capability: type[CapabilityT]) -> TypeIs[CapabilityT]:
    """Whether ``adapter`` implements ``capability`` (one of the protocols above).

    A ``TypeIs``: inside ``if supports(adapter, Reconciles):`` a type checker knows ``adapter.reconcile``.
    """
    return isinstance(adapter, capability)


def implements(hook_class: type, capability: type) -> bool:
    """Whether ``hook_class`` defines every method of ``capability``, judged on the class (no instance,
    no connection): what the registry checks at parse time."""
    return issubclass(hook_class, capability)


# The capability each maintenance run needs beyond SourceAdapter.read; None: read alone does it.
MAINTENANCE_NEEDS: dict[str, type | None] = {
    "reconcile": Reconciles,
    "refresh": ReadsColumns,
    "resync": None,
}


def missing_maintenance(hook_class: type, runs: Iterable[str], *, resource_level: bool = False) -> dict[str, str]:
    """The runs of ``runs`` that ``hook_class`` cannot do, each with what it lacks (empty: it can do all).

    A resource-level source (file drops: the unit of change is a file version) reconciles by reading
    every version the ledger lacks, so ``reconcile`` needs no :class:`Reconciles` there.
    """
    missing: dict[str, str] = {}
    for run in runs:
        if run not in MAINTENANCE_NEEDS:
            missing[run] = f"unknown maintenance run (known: {sorted(MAINTENANCE_NEEDS)})"
            continue
        need = MAINTENANCE_NEEDS[run]
        if need is None or (run == "reconcile" and resource_level) or implements(hook_class, need):
            continue
        methods = ", ".join(sorted(get_protocol_members(need)))
        missing[run] = f"{hook_class.__qualname__} does not implement {need.__name__} ({methods})"
    return missing
