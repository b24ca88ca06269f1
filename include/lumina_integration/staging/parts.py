"""Parquet parts and run manifests on S3.

A step writes its output as Parquet parts (zstd) plus one ``manifest.json`` listing every part
with its row count and SHA-256, the cursor range and anything else the next step needs. Only the
manifest's URI crosses XCom. Memory is bounded by one part: batches stream into an in-memory
Parquet writer that is uploaded and reset every ``part_rows`` rows.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lumina_integration import failpoints
from lumina_integration.staging.s3 import delete_prefix

MANIFEST_NAME = "manifest.json"
DEFAULT_PART_ROWS = 250_000
# Batches arrive small (a Bulk CSV block is ~2k records); row groups that small compress worse and
# read slower, so rows are gathered into row groups of about this size before they are written.
ROW_GROUP_ROWS = 64_000


@dataclass
class PartInfo:
    key: str
    rows: int
    bytes: int
    sha256: str


@dataclass
class Manifest:
    """What one step wrote for one run."""

    bucket: str
    prefix: str
    parts: list[PartInfo] = field(default_factory=list)
    rows: int = 0
    cursor_min: str | None = None
    cursor_max: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}{MANIFEST_NAME}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["parts"] = [PartInfo(**p) for p in data["parts"]]
        return cls(**data)


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class PartWriter:
    """Streams record batches into Parquet parts under one run prefix.

    Opening a writer deletes whatever an earlier attempt of the same run left under the prefix,
    so a retried task overwrites its own keys and never mixes old parts with new ones.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        *,
        cursor_column: str | None = None,
        part_rows: int = DEFAULT_PART_ROWS,
    ):
        self._client = client
        self._cursor_column = cursor_column
        self._part_rows = part_rows
        self._buffer: io.BytesIO | None = None
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._buffered_rows = 0
        self._pending: list[pa.Table] = []  # rows not yet in a row group
        self._pending_rows = 0
        self.manifest = Manifest(bucket=bucket, prefix=prefix)
        delete_prefix(client, bucket, prefix)

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is not None and batch.schema != self._schema:
            # Raw source batches may change columns between files; each part keeps one schema.
            self._flush()
        if self._writer is None:
            self._buffer = io.BytesIO()
            self._schema = batch.schema
            self._writer = pq.ParquetWriter(self._buffer, batch.schema, compression="zstd")
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self._buffered_rows += table.num_rows
        self._track_cursor(table)
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._write_row_group()
        if self._buffered_rows >= self._part_rows:
            self._flush()

    def _write_row_group(self) -> None:
        if self._writer is not None and self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._pending_rows = [], 0

    def write_all(self, batches: Iterable[pa.RecordBatch | pa.Table]) -> Manifest:
        for batch in batches:
            self.write(batch)
        return self.close()

    def _track_cursor(self, table: pa.Table) -> None:
        if self._cursor_column is None or self._cursor_column not in table.column_names:
            return
        bounds = pc.min_max(table.column(self._cursor_column))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None:
            return
        low_text, high_text = low.isoformat(), high.isoformat()
        m = self.manifest
        m.cursor_min = low_text if m.cursor_min is None else min(m.cursor_min, low_text)
        m.cursor_max = high_text if m.cursor_max is None else max(m.cursor_max, high_text)

    def _flush(self) -> None:
        if self._writer is None or self._buffer is None:
            return
        self._write_row_group()
        self._writer.close()
        payload = self._buffer.getvalue()
        key = f"{self.manifest.prefix}part-{len(self.manifest.parts):05d}.parquet"
        self._client.put_object(Bucket=self.manifest.bucket, Key=key, Body=payload)
        self.manifest.parts.append(PartInfo(key, self._buffered_rows, len(payload), _sha256(payload)))
        self.manifest.rows += self._buffered_rows
        self._writer, self._buffer, self._schema, self._buffered_rows = None, None, None, 0
        failpoints.hit("staging.part_uploaded")

    def close(self) -> Manifest:
        """Upload the last part and the manifest; returns the manifest."""
        self._flush()
        write_manifest(self._client, self.manifest)
        return self.manifest


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def write_manifest(client: Any, manifest: Manifest) -> None:
    body = manifest.to_json().encode()
    client.put_object(Bucket=manifest.bucket, Key=f"{manifest.prefix}{MANIFEST_NAME}", Body=body)


def read_manifest(client: Any, uri: str) -> Manifest:
    bucket, key = split_uri(uri)
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return Manifest.from_json(body.decode())


# Rows a reading step holds at once: a part is verified whole (compressed), then decoded in slices.
READ_BATCH_ROWS = 50_000


def _verified_payload(client: Any, bucket: str, part: PartInfo) -> bytes:
    """A part's bytes, refused when they are not what the manifest recorded."""
    payload: bytes = client.get_object(Bucket=bucket, Key=part.key)["Body"].read()
    if _sha256(payload) != part.sha256:
        raise ValueError(f"s3://{bucket}/{part.key}: checksum mismatch; the part changed after it was written")
    return payload


class ManifestTables:
    """A manifest's rows as ``iter_tables`` gives them, readable more than once: each pass reads the parts again.

    The load's first-load path (``warehouse/first_load.py``) COPYs the rows straight into an empty table
    and falls back to the staged merge over the same rows if a check fails, so it needs rows it can read
    twice; a generator would make every load take the slower staged path.
    """

    def __init__(
        self, client: Any, manifest: Manifest, max_rows: int = READ_BATCH_ROWS, columns: list[str] | None = None
    ) -> None:
        self.client, self.manifest, self.max_rows, self.columns = client, manifest, max_rows, columns

    def __iter__(self) -> Iterator[pa.Table]:
        return iter_tables(self.client, self.manifest, self.max_rows, self.columns)


def iter_tables(
    client: Any, manifest: Manifest, max_rows: int = READ_BATCH_ROWS, columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The manifest's rows (``columns`` of them, or all) as tables of at most ``max_rows`` rows, part after part.

    Memory is bounded by one part's compressed bytes plus ``max_rows`` decoded rows, not by a whole
    decoded part (a 250k-row part of a 40-column object decodes to a few hundred MB). Three choices
    keep the peak down further (a 250k-row Account part through the transform: 410 -> 335 MB,
    bench/README.md): Arrow reads the bytes in place (``BufferReader``; a Python file object hands
    it copies), columns are decoded on this thread (in parallel, every column's buffers are held at
    once; on 2 cores it measured no faster), and the memory pool gives back what a slice freed before
    the next one is decoded.
    """
    pool = pa.default_memory_pool()
    for part in manifest.parts:
        source = pq.ParquetFile(pa.BufferReader(_verified_payload(client, manifest.bucket, part)))
        for batch in source.iter_batches(batch_size=max_rows, columns=columns, use_threads=False):
            yield pa.Table.from_batches([batch])
            pool.release_unused()
