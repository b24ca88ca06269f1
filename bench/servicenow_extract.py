"""ServiceNow extraction at scale: records/s, API calls per 10k records, peak RSS at 100k and 1M incidents.

    .venv/bin/python -m bench.servicenow_extract [--sizes 100000 1000000] [--page-size 5000]

For each size, a detached sandbox instance with that many incidents is started (HTTPS on loopback, its own
process), and a fresh interpreter reads every incident through the adapter hook (the keyset windows, typing by
sys_dictionary, sys_audit_delete and the governed client the pipelines run) into the extract step's Parquet parts
(zstd, 250k rows a part; the upload itself is left out); its peak RSS is read from the kernel. The sandbox's own
cost (SQLite, JSON rendering, TLS, on the same two cores) is inside these figures: it is the "ServiceNow" here.
A flat peak RSS from 100k to 1M records is the point: memory follows one page, never the extract.
Results: bench/results/servicenow_extract.json.
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
RESULTS = ROOT / "bench" / "results" / "servicenow_extract.json"
PORT = 9567  # not the demo's LUMINA_SERVICENOW_PORT: a bench may run beside a demo


def child(conn_json: str, page_size: int) -> dict[str, Any]:
    """Runs in a fresh interpreter: read every incident through the hook into the extract step's Parquet parts."""
    from lumina_integration.hooks.servicenow.hook import ServiceNowHook
    from lumina_integration.staging.parts import PartWriter
    from lumina_integration.window import Window

    os.environ["AIRFLOW_CONN_SNOW_BENCH"] = conn_json
    hook = ServiceNowHook("snow_bench")
    window = Window(None, hook.server_now())
    hook.schema("incident")  # the catalogue: read once per task, not part of the extract's rate
    calls_before = hook.governor.calls
    writer = PartWriter(DiscardingLake(), "bench", "raw/servicenow/incident/bench/")
    started = time.perf_counter()
    for batch in hook.read("incident", window, {"page_size": page_size}):
        writer.write(batch)
    rows = writer.close().rows
    seconds = time.perf_counter() - started
    calls = hook.governor.calls - calls_before
    return {
        "page_size": page_size,
        "records": rows,
        "fields": len(hook.schema("incident").columns),
        "seconds": round(seconds, 2),
        "records_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "api_calls": calls,
        "api_calls_per_10k": round(calls / rows * 10_000, 2),
    }


def measure(size: int, page_size: int) -> dict[str, Any]:
    from lumina_sandbox.servicenow import demo, runner

    with tempfile.TemporaryDirectory(prefix="lumina-bench-snow-") as tmp:
        counts = {"core_company": 40, "sys_user": 200, "incident": size, "sc_req_item": 0, "change_request": 0}
        state = runner.start(PORT, Path(tmp), 7, counts, timeout=1800)
        print(f"instance with {size:,} incidents seeded in {state['seed_seconds']} s", flush=True)
        try:
            conn = json.dumps(demo.airflow_connection(Path(tmp)))
            out = subprocess.run(
                [sys.executable, "-m", "bench.servicenow_extract", "--child", "--page-size", str(page_size)],
                input=conn,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env={**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"},
            )
        finally:
            runner.stop(Path(tmp))
    result = {"instance_incidents": size, **json.loads(out.stdout.strip().splitlines()[-1])}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(sys.stdin.read(), args.page_size)))
        return
    results = [measure(size, args.page_size) for size in args.sizes]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    document = {
        "machine": machine,
        "what": "every incident read through ServiceNowHook.read (keyset windows, typed batches, sys_audit_delete) "
        "into Parquet parts, the sandbox instance in its own process on the same cores",
        "command": f"python -m bench.servicenow_extract --sizes {' '.join(map(str, args.sizes))} "
        f"--page-size {args.page_size}",
        "results": results,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\n{'instance':>10} {'records':>9} {'rec/s':>8} {'peak RSS MB':>12} {'calls/10k':>10}")
    for r in results:
        print(
            f"{r['instance_incidents']:>10,} {r['records']:>9,} {r['records_per_s']:>8,} "
            f"{r['peak_rss_mb']:>12} {r['api_calls_per_10k']:>10}"
        )


if __name__ == "__main__":
    main()
