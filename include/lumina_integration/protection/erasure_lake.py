"""Erasure in the lake: rewrite every Parquet part that holds a data subject, through the run manifests.

Every ``manifest.json`` under a pipeline's raw, canonical and quarantine prefixes is read; each part it lists
is scanned in slices (verified against the manifest's SHA-256 first) and, only when a row matches, written
again without those rows under the same key. The manifest then gets the part's new row count, size and
checksum and its new total, so every later reader's checksum check still holds. The cursor bounds are left
as they were: still true bounds of what remains, only perhaps no longer tight.

A row matches when any string column equals the subject's clear value (trimmed, case-insensitive), or
equals one of its tokens; the quarantine ``record`` column (JSON) matches when it contains either, or one
of the subject's warehouse rows' keys (all values of one key, JSON-quoted).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lumina_integration.quarantine import RECORD
from lumina_integration.staging.parts import MANIFEST_NAME, Manifest, read_manifest, write_manifest

SCAN_ROWS = 50_000  # rows decoded at once, as the pipeline steps read parts


@dataclass(frozen=True)
class SubjectMatch:
    """What identifies the subject in a part."""

    clear: frozenset[str]  # lower-cased, trimmed
    tokens: frozenset[str]
    # JSON-quoted key values of the subject's warehouse rows, one tuple per row (all of a tuple must appear);
    # searched in quarantine records only
    keys: tuple[tuple[str, ...], ...] = ()

    def rows(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        """A boolean mask of the rows that belong to the subject."""
        mask = pa.array([False] * table.num_rows)
        clear = pa.array(sorted(self.clear), pa.string())
        tokens = pa.array(sorted(self.tokens), pa.string())
        for name in table.column_names:
            column = table.column(name)
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            normal = pc.utf8_lower(pc.utf8_trim_whitespace(column))
            hit = pc.or_(pc.is_in(normal, value_set=clear), pc.is_in(column, value_set=tokens))
            if name == RECORD:
                for needle in sorted(self.tokens):
                    hit = pc.or_(hit, pc.match_substring(column, needle))
                for key in self.keys:
                    every = pc.match_substring(column, key[0])
                    for needle in key[1:]:
                        every = pc.and_(every, pc.match_substring(column, needle))
                    hit = pc.or_(hit, every)
                for needle in sorted(self.clear):
                    hit = pc.or_(hit, pc.match_substring(column, needle, ignore_case=True))
            mask = pc.or_(mask, pc.fill_null(hit, False))
        return mask


@dataclass
class LakeErasure:
    """What the lake rewrite did: parts rewritten and rows removed per zone and entity."""

    parts_scanned: int = 0
    parts_rewritten: int = 0
    manifests: int = 0
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, zone: str, entity: str, n: int) -> None:
        if n:
            zone_rows = self.rows.setdefault(zone, {})
            zone_rows[entity] = zone_rows.get(entity, 0) + n


def manifest_uris(client: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/" + MANIFEST_NAME):
                yield f"s3://{bucket}/{obj['Key']}"


def _payload(client: Any, bucket: str, key: str, sha256: str) -> bytes:
    payload: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if hashlib.sha256(payload).hexdigest() != sha256:
        raise ValueError(f"s3://{bucket}/{key}: checksum mismatch; the part changed after it was written")
    return payload


def _rewrite(payload: bytes, match: SubjectMatch) -> tuple[bytes, int, int] | None:
    """The part without the subject's rows (bytes, rows kept, rows removed), or None when none matched."""
    source = pq.ParquetFile(pa.BufferReader(payload))
    matched = 0
    for batch in source.iter_batches(batch_size=SCAN_ROWS, use_threads=False):
        matched += pc.sum(match.rows(pa.Table.from_batches([batch]))).as_py() or 0
    if not matched:
        return None
    out = io.BytesIO()
    kept = 0
    with pq.ParquetWriter(out, source.schema_arrow, compression="zstd") as writer:
        for batch in source.iter_batches(batch_size=SCAN_ROWS, use_threads=False):
            table = pa.Table.from_batches([batch], schema=source.schema_arrow)
            remaining = table.filter(pc.invert(match.rows(table)))
            kept += remaining.num_rows
            writer.write_table(remaining)
    return out.getvalue(), kept, matched


def erase_manifest(client: Any, uri: str, match: SubjectMatch) -> tuple[Manifest, int, int]:
    """Rewrite the parts of one manifest that hold the subject; returns (manifest, parts rewritten, rows removed)."""
    manifest = read_manifest(client, uri)
    rewritten = removed = 0
    for part in manifest.parts:
        result = _rewrite(_payload(client, manifest.bucket, part.key, part.sha256), match)
        if result is None:
            continue
        body, kept, matched = result
        client.put_object(Bucket=manifest.bucket, Key=part.key, Body=body)
        manifest.rows -= part.rows - kept
        part.rows, part.bytes, part.sha256 = kept, len(body), hashlib.sha256(body).hexdigest()
        rewritten += 1
        removed += matched
        # After each part: a crash can only leave one part newer than its manifest entry, and every reader
        # (a retried erasure too) then refuses that part by its checksum: visible, never silently wrong.
        write_manifest(client, manifest)
    return manifest, rewritten, removed
