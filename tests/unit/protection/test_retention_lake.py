"""Lake retention against the S3 server: whole runs go, recent and protected runs stay, deletes in batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lumina_integration.protection.retention_lake import DELETE_BATCH, run_date, sweep_prefix
from lumina_integration.staging.layout import run_key

PREFIX = "raw/file_drop/accounts/"


def key_for(day: datetime, dag_id: str = "filedrop_crm_accounts") -> str:
    return run_key(dag_id, f"scheduled__{day.isoformat()}")


def put_run(s3: Any, bucket: str, key: str, parts: int = 2) -> list[str]:
    names = [f"{PREFIX}{key}/part-{i:05d}.parquet" for i in range(parts)] + [f"{PREFIX}{key}/manifest.json"]
    for name in names:
        s3.put_object(Bucket=bucket, Key=name, Body=b"x")
    return names


def keys(s3: Any, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


def test_run_date_reads_every_airflow_run_id_shape() -> None:
    instant = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    for run_id in (
        f"scheduled__{instant.isoformat()}",
        "manual__2026-03-04T05:06:07.123456+00:00",
        "backfill__2026-03-04T05:06:07+00:00",
        "asset_triggered__2026-03-04T05:06:07.5+00:00",
    ):
        assert run_date(run_key("p", run_id)) == instant, run_id
    assert run_date(run_key("p", "my-own-run")) is None
    assert run_date("p__manual__2026-13-40T00_00_00") is None  # not a date: fall back to LastModified


class Spy:
    """The real client, counting the keys of each DeleteObjects call."""

    def __init__(self, client: Any):
        self._client = client
        self.delete_sizes: list[int] = []

    def delete_objects(self, **kwargs: Any) -> Any:
        self.delete_sizes.append(len(kwargs["Delete"]["Objects"]))
        return self._client.delete_objects(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_runs_before_the_cutoff_go_whole_and_newer_ones_stay(s3: Any, bucket: str) -> None:
    # Everything is written now; the sweep looks from 100 days ahead so no run is inside the write guard.
    # Whole seconds: a run key keeps its run id's seconds, and the run at the cutoff must compare equal.
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=100)
    cutoff = now - timedelta(days=30)
    old = put_run(s3, bucket, key_for(now - timedelta(days=31)))
    at_cutoff = put_run(s3, bucket, key_for(cutoff))  # not older than the cutoff: kept
    young = put_run(s3, bucket, key_for(now - timedelta(days=5)))
    protected_key = key_for(now - timedelta(days=60))
    protected = put_run(s3, bucket, protected_key)
    undated = put_run(s3, bucket, run_key("p", "hand-made"))  # dated by LastModified: 100 days before `now`
    other = "raw/file_drop/products/" + key_for(now - timedelta(days=90)) + "/manifest.json"
    s3.put_object(Bucket=bucket, Key=other, Body=b"x")
    removed: list[str] = []

    count = sweep_prefix(
        s3,
        bucket,
        PREFIX,
        cutoff=cutoff,
        written_after=now - timedelta(days=2),
        protected={protected_key},
        on_run=removed.append,
    )

    assert keys(s3, bucket) == {*at_cutoff, *young, *protected, other}
    assert (count.objects, count.runs, count.runs_kept_protected, count.runs_kept_recent) == (
        len(old) + len(undated),
        2,
        1,
        0,
    )
    assert sorted(removed) == sorted([key_for(now - timedelta(days=31)), run_key("p", "hand-made")])


def test_a_run_written_within_the_guard_stays_whatever_its_date(s3: Any, bucket: str) -> None:
    now = datetime.now(UTC)
    backfill = put_run(s3, bucket, run_key("p", "backfill__2020-01-01T00:00:00+00:00"))
    count = sweep_prefix(s3, bucket, PREFIX, cutoff=now - timedelta(days=30), written_after=now - timedelta(days=2))
    assert keys(s3, bucket) == set(backfill)
    assert (count.objects, count.runs_kept_recent) == (0, 1)


def test_deletes_go_out_in_batches_of_at_most_1000(s3: Any, bucket: str) -> None:
    now = datetime.now(UTC) + timedelta(days=100)
    written = 0
    for day in range(3):  # 3 runs of 900 parts + manifest: 2,703 objects across 3 list pages
        written += len(put_run(s3, bucket, key_for(now - timedelta(days=40 + day)), parts=900))
    spy = Spy(s3)
    count = sweep_prefix(spy, bucket, PREFIX, cutoff=now - timedelta(days=30), written_after=now - timedelta(days=2))
    assert keys(s3, bucket) == set()
    assert count.objects == written == 2703
    assert max(spy.delete_sizes) <= DELETE_BATCH
    assert spy.delete_sizes == [1000, 1000, 703] and count.batches == 3
