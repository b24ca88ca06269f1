"""Salesforce extraction at scale: records/s over REST and Bulk 2.0, peak RSS, API calls per 100k records.

    .venv/bin/python bench/salesforce_extract.py [--sizes 200000 1000000] [--rest-limit 1000000]

For each size, a detached sandbox org with that many Accounts is started (HTTPS on loopback), and
each transport reads every record through the adapter hook (simple-salesforce, the same typing and
paging code the pipelines run) into the extract step's Parquet parts (zstd, 250k rows a part; the
upload itself is left out), in a fresh process whose peak RSS is read from the kernel. The sandbox's
own cost (SQLite + JSON/CSV rendering, on the same two cores) is inside these figures: it is the
"Salesforce" here. Results: bench/results/salesforce_extract.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "salesforce_extract.json"
PORT = 9566


class DiscardingLake:
    """Stands in for the S3 client: keeps nothing, so the figures are the extract's, not the upload's."""

    class _Pages:
        def paginate(self, **_: Any) -> list[dict[str, Any]]:
            return []

    def get_paginator(self, _: str) -> _Pages:
        return self._Pages()

    def put_object(self, **_: Any) -> None:
        return None


def child(conn_json: str, transport: str) -> dict[str, Any]:
    """Runs in a fresh interpreter: read every Account through the hook into the extract step's Parquet parts."""
    from lumina_integration.hooks.salesforce.hook import SalesforceAdapterHook
    from lumina_integration.staging.parts import PartWriter
    from lumina_integration.window import Window

    os.environ["AIRFLOW_CONN_SF_BENCH"] = conn_json
    hook = SalesforceAdapterHook("sf_bench")
    window = Window(None, hook.server_now())
    hook.governor.calls = hook.governor.bulk_jobs = 0  # count the read only
    writer = PartWriter(DiscardingLake(), "bench", "raw/salesforce/Account/bench/")
    started = time.perf_counter()
    options = {"transport": transport, "deleted_endpoint": False, "bulk_poll_seconds": 0.2}
    for batch in hook.read("Account", window, options):
        writer.write(batch)
    rows = writer.close().rows
    seconds = time.perf_counter() - started
    return {
        "transport": transport,
        "records": rows,
        "seconds": round(seconds, 2),
        "records_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "api_calls": hook.governor.calls,
        "api_calls_per_100k": round(hook.governor.calls / rows * 100_000, 1),
        "bulk_jobs": hook.governor.bulk_jobs,
    }


def measure(size: int, transports: list[str]) -> list[dict[str, Any]]:
    from lumina_sandbox.salesforce import runner
    from lumina_sandbox.salesforce.demo import airflow_connection

    results = []
    with tempfile.TemporaryDirectory(prefix="lumina-bench-sf-") as tmp:
        state = runner.start(PORT, Path(tmp), 7, {"Account": size, "Contact": 10, "Opportunity": 10}, 20)
        print(f"org with {size:,} Accounts seeded in {state['seed_seconds']} s", flush=True)
        try:
            conn = json.dumps(airflow_connection(Path(tmp)))
            for transport in transports:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", transport],
                    input=conn,
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"},
                )
                result = {"org_accounts": size, **json.loads(out.stdout.strip().splitlines()[-1])}
                print(json.dumps(result), flush=True)
                results.append(result)
        finally:
            runner.stop(Path(tmp))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--rest-limit", type=int, default=1_000_000, help="skip REST above this many records")
    parser.add_argument("--child", choices=["rest", "bulk"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(sys.stdin.read(), args.child)))
        return
    results = []
    for size in args.sizes:
        results += measure(size, ["bulk", "rest"] if size <= args.rest_limit else ["bulk"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"\n{'org':>10} {'transport':<9} {'records':>9} {'rec/s':>8} {'peak RSS MB':>12} {'calls/100k':>11}")
    for r in results:
        print(
            f"{r['org_accounts']:>10,} {r['transport']:<9} {r['records']:>9,} {r['records_per_s']:>8,} "
            f"{r['peak_rss_mb']:>12} {r['api_calls_per_100k']:>11}"
        )


if __name__ == "__main__":
    main()
