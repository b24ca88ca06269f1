"""Parquet parts and manifests on a real S3 server (moto on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.staging.layout import run_key, run_prefix
from lumina_integration.staging.parts import ManifestTables, PartWriter, iter_tables, read_manifest


def batch(start: int, n: int) -> pa.Table:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "id": list(range(start, start + n)),
            "ts": pa.array(
                [base + timedelta(minutes=i) for i in range(start, start + n)], pa.timestamp("us", tz="UTC")
            ),
        }
    )


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_parts_roll_over_and_manifest_describes_them(s3: Any, bucket: str) -> None:
    writer = PartWriter(s3, bucket, "raw/sys/obj/rk/", cursor_column="ts", part_rows=10)
    for start in range(0, 25, 5):
        writer.write(batch(start, 5))
    manifest = writer.close()
    assert [p.rows for p in manifest.parts] == [10, 10, 5]
    assert manifest.rows == 25
    assert manifest.cursor_min == "2026-01-01T00:00:00+00:00" and manifest.cursor_max == "2026-01-01T00:24:00+00:00"
    loaded = read_manifest(s3, manifest.uri)
    assert loaded == manifest
    assert pa.concat_tables(iter_tables(s3, loaded)).column("id").to_pylist() == list(range(25))


def test_manifest_tables_read_the_parts_again_on_each_pass(s3: Any, bucket: str) -> None:
    # The first-load path reads the rows, and on a fallback the staged path reads them again.
    writer = PartWriter(s3, bucket, "raw/sys/obj/again/", cursor_column="ts", part_rows=10)
    for start in range(0, 25, 5):
        writer.write(batch(start, 5))
    tables = ManifestTables(s3, read_manifest(s3, writer.close().uri), max_rows=4)
    first = [t.column("id").to_pylist() for t in tables]
    assert iter(tables) is not tables
    assert [t.column("id").to_pylist() for t in tables] == first
    assert [i for ids in first for i in ids] == list(range(25)) and max(len(ids) for ids in first) == 4


def test_retry_overwrites_its_own_keys(s3: Any, bucket: str) -> None:
    prefix = "raw/sys/obj/rk/"
    PartWriter(s3, bucket, prefix, part_rows=5).write_all([batch(0, 5), batch(5, 5), batch(10, 5)])
    assert len(keys(s3, bucket, prefix)) == 4  # 3 parts + manifest
    PartWriter(s3, bucket, prefix, part_rows=100).write_all([batch(0, 3)])
    assert keys(s3, bucket, prefix) == [prefix + "manifest.json", prefix + "part-00000.parquet"]


def test_schema_change_starts_a_new_part(s3: Any, bucket: str) -> None:
    writer = PartWriter(s3, bucket, "raw/x/y/z/")
    writer.write(pa.table({"a": ["1"]}))
    writer.write(pa.table({"a": ["2"], "b": ["3"]}))
    assert [p.rows for p in writer.close().parts] == [1, 1]


def test_a_tampered_part_is_refused(s3: Any, bucket: str) -> None:
    manifest = PartWriter(s3, bucket, "raw/x/y/z/").write_all([batch(0, 3)])
    s3.put_object(Bucket=bucket, Key=manifest.parts[0].key, Body=b"not what was written")
    with pytest.raises(ValueError, match="checksum mismatch"):
        list(iter_tables(s3, manifest))


def test_layout() -> None:
    key = run_key("crm_accounts", "scheduled__2026-11-25T00:00:00+00:00")
    assert key == "crm_accounts__scheduled__2026-11-25T00_00_00_00_00"
    assert run_prefix("raw", "file_drop", "s3://landing/crm/accounts/", key) == (
        f"raw/file_drop/s3_landing_crm_accounts/{key}/"
    )
    with pytest.raises(ValueError):
        run_prefix("elsewhere", "a", "b", key)
