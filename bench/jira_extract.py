"""Jira extraction at scale: records/s, API calls per 10k records and peak RSS, at 100k and 1M issues.

    .venv/bin/python -m bench.jira_extract [--sizes 100000 1000000]

For each size, a detached Jira sandbox site with that many issues is started (HTTPS on loopback, Cloud:
``POST /rest/api/3/search/jql`` with ``nextPageToken``, 100 issues a page), and the adapter hook reads every
issue (every catalogue field: ADF descriptions, users, custom fields) into the extract step's Parquet parts
(zstd; the upload itself is left out, as in bench/salesforce_extract.py), in a fresh process whose peak RSS is
read from the kernel: memory must stay flat from 100k to 1M. The sandbox (SQLite + JSON rendering) runs on the
same two cores, so its cost is inside records/s: it is the "Jira" here. Results: bench/results/jira_extract.json.
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

from bench.salesforce_extract import DiscardingLake

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "jira_extract.json"
PORT = 9568


def child(conn_json: str, obj: str) -> dict[str, Any]:
    """Runs in a fresh interpreter: read every record of ``obj`` through the hook into Parquet parts."""
    from lumina_integration.hooks.jira.hook import JiraAdapterHook
    from lumina_integration.staging.parts import PartWriter
    from lumina_integration.window import Window

    os.environ["AIRFLOW_CONN_JIRA_BENCH"] = conn_json
    hook = JiraAdapterHook("jira_bench")
    window = Window(None, hook.server_now())
    hook.fields(obj)  # the catalogue, as plan reads it; counted below with the read
    writer = PartWriter(DiscardingLake(), "bench", f"raw/jira/{obj}/bench/")
    started = time.perf_counter()
    for batch in hook.read(obj, window, {"page_size": 100}):
        writer.write(batch)
    rows = writer.close().rows
    seconds = time.perf_counter() - started
    calls = hook.usage().api_calls
    return {
        "object": obj,
        "records": rows,
        "seconds": round(seconds, 2),
        "records_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "api_calls": calls,
        "api_calls_per_10k": round(calls / rows * 10_000, 1),
    }


def measure(size: int) -> dict[str, Any]:
    from lumina_sandbox.jira import runner
    from lumina_sandbox.jira.demo import airflow_connection

    with tempfile.TemporaryDirectory(prefix="lumina-bench-jira-") as tmp:
        state = runner.start(PORT, Path(tmp), 7, {"issues": size}, timeout=1800)
        print(f"site with {size:,} issues generated in {state.get('seed_seconds')} s", flush=True)
        try:
            conn = json.dumps(airflow_connection(Path(tmp)))
            out = subprocess.run(
                [sys.executable, "-m", "bench.jira_extract", "--child", "issues"],
                input=conn,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env={**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"},
            )
            result = {"site_issues": size, **json.loads(out.stdout.strip().splitlines()[-1])}
            print(json.dumps(result), flush=True)
            return result
        finally:
            runner.stop(Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", choices=["issues", "comments", "worklogs", "changelog"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(sys.stdin.read(), args.child)))
        return
    results = [measure(size) for size in args.sizes]
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average": os.getloadavg()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"\n{'site':>10} {'records':>9} {'rec/s':>8} {'peak RSS MB':>12} {'calls/10k':>10}")
    for r in results:
        print(
            f"{r['site_issues']:>10,} {r['records']:>9,} {r['records_per_s']:>8,} {r['peak_rss_mb']:>12} "
            f"{r['api_calls_per_10k']:>10}"
        )


if __name__ == "__main__":
    main()
