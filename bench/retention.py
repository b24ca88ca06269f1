"""``make bench-retention``: a first retention run over a large lake stays bounded in memory.

    .venv/bin/python -m bench.retention [--objects 100000] [--per-run 50]

``--objects`` small objects are written under the raw prefix of ``filedrop_crm_accounts`` in runs of
``--per-run`` objects, every run dated 400 days back, to moto's S3 server (a process of its own). A child
process then sweeps the prefix as the ``lumina_retention`` DAG does (``sweep_prefix``: 1,000-key list pages,
``DeleteObjects`` batches of 1,000) and reports its seconds, calls and peak RSS (``VmHWM``) beside its RSS
before the sweep, so the sweep's own growth shows. Results: ``bench/results/retention.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.lifecycle_common import environment, run_child, s3, s3_server

PREFIX = "raw/file_drop/s3_lumina-landing_crm_accounts/"
RESULTS = Path(__file__).parent / "results" / "retention.json"


def fill(endpoint: str, objects: int, per_run: int) -> None:
    from lumina_integration.staging.layout import run_key

    client = s3(endpoint)
    client.create_bucket(Bucket="lumina-lake")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    keys = []
    for i in range(objects):
        run, part = divmod(i, per_run)
        rk = run_key("filedrop_crm_accounts", f"scheduled__{(start + timedelta(minutes=run)).isoformat()}")
        keys.append(f"{PREFIX}{rk}/part-{part:05d}.parquet")

    def put(chunk: list[str]) -> None:
        c = s3(endpoint)
        for key in chunk:
            c.put_object(Bucket="lumina-lake", Key=key, Body=b"x")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, [keys[i : i + 2000] for i in range(0, len(keys), 2000)]))


def sweep_in_child(endpoint: str) -> None:
    from bench.common import rss_mb
    from lumina_integration.protection.retention_lake import sweep_prefix

    client = s3(endpoint)
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    now = datetime.now(UTC)
    count = sweep_prefix(client, "lumina-lake", PREFIX, cutoff=now - timedelta(days=30), written_after=now)
    print(
        json.dumps(
            {
                "objects_removed": count.objects,
                "runs_removed": count.runs,
                "delete_calls": count.batches,
                "seconds": round(time.perf_counter() - started, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(rss_mb(peak=True), 1),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--per-run", type=int, default=50)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sweep_in_child(args.child)
        return 0
    with s3_server() as endpoint:
        env = environment(endpoint, "unused")
        import os

        os.environ.update(env)
        t0 = time.perf_counter()
        fill(endpoint, args.objects, args.per_run)
        fill_seconds = time.perf_counter() - t0
        child = run_child("bench.retention", ["--child", endpoint], env)
        left = s3(endpoint).list_objects_v2(Bucket="lumina-lake", Prefix=PREFIX).get("KeyCount", 0)
    result = {
        "objects": args.objects,
        "per_run": args.per_run,
        "fill_seconds": round(fill_seconds, 1),
        "sweep": child,
        "objects_left": left,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if left == 0 and child["objects_removed"] == args.objects else 1


if __name__ == "__main__":
    sys.exit(main())
