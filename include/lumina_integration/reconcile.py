"""What a reconcile run re-reads: the source's ``(key, stamp)`` of every live record against the warehouse's.

An incremental run only ever reads stamps inside its window. A record whose stamp lands below
``watermark - lookback`` (a commit later than the lookback, a stamp moved back, a source clock
stepped back) is never read by one again. Reconciliation compares versions, not just ids:

- ``gone``: live in the warehouse, absent from the source (hard deletes, archiving): tombstones;
- ``missing``: live in the source, absent from the warehouse (gaps): read and loaded;
- ``changed``: in both, the source's stamp newer than the warehouse's (missed updates): read and loaded;
- ``behind``: in both, the source's stamp older than the warehouse's. The cursor guard (older never
  overwrites newer) would refuse such a version, so reconcile only counts them; the pipeline's
  ``__resync`` run rewrites the object with the guard relaxed.

Both sides are Arrow tables (``id``: string, ``stamp``: UTC timestamp) joined by Acero's hash join:
for a million records that is two ~30 MB tables and the join's hash table, not a Python dict of a
million entries. Stamps are compared at the source's precision (Salesforce keeps milliseconds,
SAP seconds; the warehouse keeps microseconds), so a value that went through the warehouse
round trip compares equal to itself. Pure: no I/O, no Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

ID, STAMP = "id", "stamp"
STAMP_TYPE = pa.timestamp("us", tz="UTC")
VERSIONS_SCHEMA = pa.schema([pa.field(ID, pa.string()), pa.field(STAMP, STAMP_TYPE)])


def versions_table(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """One table of ``(id, stamp)`` from an adapter's or the warehouse's batches (stamp may be null)."""
    parts = [pa.Table.from_batches([b]).select([ID, STAMP]).cast(VERSIONS_SCHEMA) for b in batches if b.num_rows]
    return pa.concat_tables(parts).combine_chunks() if parts else VERSIONS_SCHEMA.empty_table()


@dataclass(frozen=True)
class Differences:
    """Ids by fate; see the module docstring."""

    source: int
    known: int
    gone: list[str]
    missing: list[str]
    changed: list[str]
    behind: list[str]

    @property
    def reread(self) -> list[str]:
        """Ids to read from the source: the gaps and the missed updates."""
        return [*self.missing, *self.changed]

    def counts(self) -> dict[str, int]:
        return {
            "source": self.source,
            "known": self.known,
            "gone": len(self.gone),
            "missing": len(self.missing),
            "changed": len(self.changed),
            "behind": len(self.behind),
        }


def compare(source: pa.Table, known: pa.Table, precision: str = "millisecond") -> Differences:
    """Classify every id of ``source`` (the source's live records) and ``known`` (the warehouse's).

    A null stamp on the source side means "no stamp to compare" (ids only); a null stamp on the
    warehouse side against a source stamp counts as changed (the row is read again).
    """

    def side(table: pa.Table, name: str) -> pa.Table:
        stamps = pc.floor_temporal(table.column(STAMP).cast(STAMP_TYPE), unit=precision)
        return pa.table(
            {ID: table.column(ID).cast(pa.string()), f"stamp_{name}": stamps, f"in_{name}": pa.repeat(True, len(table))}
        )

    joined = side(source, "source").join(side(known, "known"), keys=ID, join_type="full outer", coalesce_keys=True)
    in_source = pc.fill_null(joined.column("in_source"), False)
    in_known = pc.fill_null(joined.column("in_known"), False)
    src, wh = joined.column("stamp_source"), joined.column("stamp_known")
    both = pc.and_(in_source, in_known)
    newer = pc.fill_null(pc.or_kleene(pc.greater(src, wh), pc.and_kleene(pc.is_valid(src), pc.is_null(wh))), False)
    older = pc.fill_null(pc.less(src, wh), False)
    ids = joined.column(ID)

    def where(mask: pa.ChunkedArray) -> list[str]:
        return sorted(ids.filter(mask).to_pylist())

    return Differences(
        source=len(source),
        known=len(known),
        gone=where(pc.and_(in_known, pc.invert(in_source))),
        missing=where(pc.and_(in_source, pc.invert(in_known))),
        changed=where(pc.and_(both, newer)),
        behind=where(pc.and_(both, older)),
    )
