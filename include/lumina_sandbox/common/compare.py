"""The record-for-record verdict every sandbox's ``compare`` module gives (``make demo``, integration tests):
``Comparison`` (live counts, duplicates, missing, not deleted, differing) and the comparable form of a value;
``exact`` (the fault tests' verdict: a hash per key, below a watermark, leaving out what no run could see yet)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

TextDatetime = Callable[[str], datetime | None]


def header(source_label: str) -> str:
    """The column titles over ``Comparison.describe()`` lines (``source_label``: "org live", "snow live", ...)."""
    return f"{'pipeline':<28}{source_label:>11}{'wh live':>11}{'missing':>9}{'not deleted':>13}{'differing':>11}"


@dataclass
class Comparison:
    pipeline: str
    source_live: int
    warehouse_live: int
    duplicates: int
    missing: list[str] = field(default_factory=list)  # live at the source, not live in the warehouse
    not_deleted: list[str] = field(default_factory=list)  # live in the warehouse, gone from the source
    differing: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.duplicates or self.missing or self.not_deleted or self.differing)

    def describe(self) -> str:
        verdict = "equal" if self.equal else "DIFFERENT"
        return (
            f"{self.pipeline:<28}{self.source_live:>11}{self.warehouse_live:>11}{len(self.missing):>9}"
            f"{len(self.not_deleted):>13}{len(self.differing):>11}   {verdict}"
        )


def normal(value: Any, text_datetime: TextDatetime | None = None) -> Any:
    """One comparable form for a warehouse value and a source value: aware UTC datetimes (``text_datetime``
    reads the source's datetime text, None when a string is not one), numbers rounded to 6 places."""
    if isinstance(value, str) and text_datetime is not None:
        moment = text_datetime(value)
        if moment is not None:
            value = moment
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


# -- exact comparison by hashes (the fault tests) -----------------------------------------------------------------

Normalize = Callable[[Any], Any]


def record_hash(values: dict[str, Any], normalize: Normalize) -> str:
    """SHA-256 of one record's compared columns, each in its ``normalize``d form."""
    import hashlib
    import json

    def text_of(value: Any) -> Any:
        value = normalize(value)
        return value.isoformat() if isinstance(value, datetime) else value

    body = json.dumps({k: text_of(v) for k, v in sorted(values.items())}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Digest:
    """Live rows, duplicate keys and a hash per key of one side of a comparison."""

    rows: int
    duplicates: int
    hashes: dict[str, str]

    @property
    def checksum(self) -> str:
        """One hash over every (key, record hash): equal checksums mean equal tables."""
        import hashlib

        lines = "\n".join(f"{k} {h}" for k, h in sorted(self.hashes.items()))
        return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class ExactComparison:
    pipeline: str
    warehouse: Digest
    source: Digest

    @property
    def differing(self) -> list[str]:
        """Keys whose hash differs, or that only one side has."""
        keys = set(self.warehouse.hashes) | set(self.source.hashes)
        return sorted(k for k in keys if self.warehouse.hashes.get(k) != self.source.hashes.get(k))

    @property
    def equal(self) -> bool:
        w, s = self.warehouse, self.source
        return w.duplicates == 0 and w.rows == s.rows and w.checksum == s.checksum

    def describe(self) -> str:
        w, s = self.warehouse, self.source
        return (
            f"{self.pipeline}: warehouse {w.rows} live rows ({w.duplicates} duplicate keys), source {s.rows}; "
            f"{len(self.differing)} keys differ, e.g. {self.differing[:3]}"
        )


@dataclass(frozen=True)
class Known:
    """A source record as the exact comparison sees it: its cursor value (its last change, or its deletion's
    stamp when ``deleted``) and, live, the value each compared column must hold."""

    stamp: Any
    deleted: bool
    values: dict[str, Any]


def exact(
    pipeline: str,
    known: dict[str, Known],
    rows: list[tuple[Any, ...]],
    columns: list[str],
    normalize: Normalize,
    *,
    below: datetime | None = None,
    ignore_gone: bool = False,
    skip_ids: frozenset[str] = frozenset(),
    entity: str | None = None,
) -> ExactComparison:
    """Row count, no duplicate keys and a hash per key of ``columns``, warehouse ``rows`` (``source_id``,
    ``_is_deleted``, then ``columns``) against the ``known`` source records.

    Args:
        below: compare only what a run that committed this watermark must have: the known records (live or
            deleted) whose stamp is below it. Records changed since are in flight.
        ignore_gone: leave out warehouse rows whose id the source no longer knows at all (deletes no
            reconcile run has seen yet).
        skip_ids: ids left out on both sides.
        entity: the canonical table's entity: both sides compare through its PII policy
            (:class:`lumina_sandbox.common.protected.Protection`).
    """
    if entity is not None:
        from lumina_sandbox.common.protected import Protection

        view = Protection(entity)
        known = {i: Known(k.stamp, k.deleted, view.expected_values(k.values)) for i, k in known.items()}
        rows = [(*r[:2], *(view.stored(c, v) for c, v in zip(columns, r[2:], strict=True))) for r in rows]

    def is_before(stamp: Any, bound: datetime) -> bool:
        value = normalize(stamp)
        return isinstance(value, datetime) and value < bound

    in_scope = {i for i, k in known.items() if below is None or is_before(k.stamp, below)} - skip_ids
    source_hashes = {i: record_hash(k.values, normalize) for i, k in known.items() if i in in_scope and not k.deleted}
    ids = [r[0] for r in rows]

    def wanted(record_id: str) -> bool:
        if record_id in known:
            return record_id in in_scope
        return not ignore_gone and record_id not in skip_ids

    warehouse_hashes = {
        r[0]: record_hash(dict(zip(columns, r[2:], strict=True)), normalize) for r in rows if not r[1] and wanted(r[0])
    }
    return ExactComparison(
        pipeline=pipeline,
        warehouse=Digest(len(warehouse_hashes), len(ids) - len(set(ids)), warehouse_hashes),
        source=Digest(len(source_hashes), 0, source_hashes),
    )
