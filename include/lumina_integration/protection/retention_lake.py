"""Retention in the lake: remove the runs of one ``<zone>/<system>/<object>/`` prefix older than a cutoff.

A run's objects go together or not at all (never half a run, so no manifest ever names a missing part).
A run's age is the date in its run key: every Airflow run id carries one (``scheduled__``, ``manual__``,
``backfill__``, ``asset_triggered__`` + the ISO instant), and unlike ``LastModified`` it does not reset when
an erasure rewrites a part, so a rewritten part expires with its run. A key without a date falls back to
the run's oldest ``LastModified``.

Guards (a run is kept when either holds):
- one of its objects was written less than ``guard`` ago: the run may still be running or be retried
  (a backfill of an old interval has an old date in its key but was written now);
- its run key is protected: the run whose load set a pipeline's current watermark (``lumina_state.run_key``).

Memory stays bounded whatever the lake's size: ``list_objects_v2`` pages (1,000 keys) are streamed, only
the current run's keys are held, and deletions go out in batches of at most 1,000 (``DeleteObjects``'s limit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DELETE_BATCH = 1000  # DeleteObjects accepts at most 1,000 keys per call
# The instant in a slugged run id: 2026-12-04T20:00:00+00:00 became 2026-12-04T20_00_00_00_00.
_RUN_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})[_:](\d{2})[_:](\d{2})")


def run_date(run_key: str) -> datetime | None:
    """The instant in a run key (UTC, as Airflow writes run ids), or None when it holds none."""
    found = _RUN_DATE.search(run_key)
    if found is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in found.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class SweepCount:
    """What a sweep removed and kept, in objects and runs."""

    objects: int = 0
    runs: int = 0
    runs_kept_recent: int = 0
    runs_kept_protected: int = 0
    batches: int = 0


@dataclass
class _Run:
    key: str
    objects: list[str] = field(default_factory=list)
    oldest: datetime | None = None
    newest: datetime | None = None

    def add(self, key: str, modified: datetime) -> None:
        self.objects.append(key)
        self.oldest = modified if self.oldest is None else min(self.oldest, modified)
        self.newest = modified if self.newest is None else max(self.newest, modified)


class _Deleter:
    """Collects keys and deletes them 1,000 at a time."""

    def __init__(self, client: Any, bucket: str, count: SweepCount):
        self._client, self._bucket, self._count = client, bucket, count
        self._pending: list[dict[str, str]] = []

    def add(self, keys: list[str]) -> None:
        for key in keys:
            self._pending.append({"Key": key})
            if len(self._pending) >= DELETE_BATCH:
                self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        response = self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": self._pending, "Quiet": True})
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise RuntimeError(
                f"s3://{self._bucket}: {len(errors)} object(s) could not be deleted, e.g. {first.get('Key')}: "
                f"{first.get('Code')} {first.get('Message')}"
            )
        self._count.objects += len(self._pending)
        self._count.batches += 1
        self._pending = []


def sweep_prefix(
    client: Any,
    bucket: str,
    prefix: str,
    *,
    cutoff: datetime,
    written_after: datetime,
    protected: Collection[str] = (),
    on_run: Callable[[str], None] | None = None,
) -> SweepCount:
    """Delete every run under ``prefix`` (``<zone>/<system>/<object>/``) dated before ``cutoff``.

    A run with an object written after ``written_after`` is kept, and so is a run whose key is in
    ``protected``. ``on_run`` is told each removed run key (the caller logs them).
    """
    count = SweepCount()
    deleter = _Deleter(client, bucket, count)
    current: _Run | None = None

    def settle(run: _Run) -> None:
        if run.key in protected:
            count.runs_kept_protected += 1
            return
        assert run.newest is not None and run.oldest is not None
        if run.newest >= written_after:
            dated = run_date(run.key) or run.oldest
            if dated < cutoff:
                count.runs_kept_recent += 1
            return
        if (run_date(run.key) or run.oldest) >= cutoff:
            return
        deleter.add(run.objects)
        count.runs += 1
        if on_run is not None:
            on_run(run.key)

    # Keys come back in lexicographic order, so one run's objects are contiguous across pages.
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key: str = obj["Key"]
            run_key = key[len(prefix) :].split("/", 1)[0]
            if current is None or current.key != run_key:
                if current is not None:
                    settle(current)
                current = _Run(run_key)
            modified = obj["LastModified"]
            current.add(key, modified if modified.tzinfo else modified.replace(tzinfo=UTC))
    if current is not None:
        settle(current)
    deleter.flush()
    return count
