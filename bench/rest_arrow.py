"""JSON records to typed Arrow (``hooks.rest.arrow.records_to_batches``): speed, and memory flat in the record count.

Each size runs in a fresh interpreter, because peak RSS (``VmHWM``) never goes down within a process.
The records are ServiceNow-shaped incidents (every value a string, as the Table API sends them, a
reference field as a nested object, one value in a thousand that does not cast) produced lazily from a
pool of 10,007 distinct ones, so the only thing that could make memory grow with the size is the
conversion itself, and records/s is the conversion's alone (decoding the JSON pages is not in it).
Batches are dropped as they come, as the extract step writes each one out before asking for the next.

    python -m bench.rest_arrow                       # 100k and 1M, writes bench/results/rest_arrow.json
    python -m bench.rest_arrow --sizes 100000        # one size
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import cycle, islice
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "rest_arrow.json"
BATCH_ROWS = 10_000
POOL = 10_007  # not a multiple of the batch size: batches differ


def incident(i: int) -> dict[str, Any]:
    """Incident number ``i`` as the ServiceNow Table API returns it (raw values, strings)."""
    return {
        "sys_id": f"{i:032x}",
        "number": f"INC{i:07d}",
        "short_description": f"Printer {i % 97} on floor {i % 13} does not print",
        "description": "The printer shows error E-42 and the queue keeps growing. " * 3,
        "state": str(1 + i % 7),
        "priority": str(1 + i % 5),
        "active": "true" if i % 3 else "false",
        "reassignment_count": str(i % 4) if i % 1000 else "many",  # one in a thousand does not cast
        "sys_created_on": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 08:{i % 60:02d}:00",
        "sys_updated_on": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:{i % 60:02d}",
        "opened_by": {
            "link": f"https://acme.service-now.com/api/now/table/sys_user/{i % 500:032x}",
            "value": f"{i % 500:032x}",
        },
        "business_duration": f"{(i % 86400) * 1.5:.1f}",
        "sys_mod_count": str(i % 50),
    }


def incidents(n: int) -> Iterator[dict[str, Any]]:
    """``n`` incidents, lazily: a pool of distinct ones built once and cycled, so producing a record costs
    nothing next to converting it and the pool (not ``n``) is all the source holds in memory."""
    pool = [incident(i) for i in range(POOL)]
    return islice(cycle(pool), n)


def fields() -> list[Any]:
    import pyarrow as pa

    from lumina_integration.hooks.rest.arrow import FieldSpec

    glide = "%Y-%m-%d %H:%M:%S"
    stamp = pa.timestamp("us", tz="UTC")
    return [
        FieldSpec("sys_id", pa.string()),
        FieldSpec("number", pa.string()),
        FieldSpec("short_description", pa.string()),
        FieldSpec("description", pa.string()),
        FieldSpec("state", pa.int32()),
        FieldSpec("priority", pa.int32()),
        FieldSpec("active", pa.bool_()),
        FieldSpec("reassignment_count", pa.int32()),
        FieldSpec("sys_created_on", stamp, fmt=glide),
        FieldSpec("sys_updated_on", stamp, fmt=glide),
        FieldSpec("opened_by", pa.string()),
        FieldSpec("business_duration", pa.float64()),
        FieldSpec("sys_mod_count", pa.int64()),
    ]


def measure(n: int) -> dict[str, Any]:
    """Convert ``n`` records in this process; rows, errors, seconds and peak RSS."""
    from bench.common import rss_mb
    from lumina_integration.hooks.rest.arrow import records_to_batches

    specs = fields()
    source = incidents(n)
    # Every module the conversion uses is loaded by a first batch of one record: "before" is then what the
    # process holds before the extract proper, the source's pool included.
    sum(b.num_rows for b in records_to_batches([incident(0)], specs))
    baseline = rss_mb(peak=True)
    rows = errors = batches = 0
    started = time.perf_counter()
    for batch in records_to_batches(source, specs, BATCH_ROWS):
        rows += batch.num_rows
        errors += batch.num_rows - batch.column("_lumina_error").null_count
        batches += 1
    seconds = time.perf_counter() - started
    return {
        "records": rows,
        "batches": batches,
        "rows_with_reason": errors,
        "seconds": round(seconds, 2),
        "records_per_s": round(rows / seconds),
        "peak_rss_mb": round(rss_mb(peak=True), 1),
        "peak_rss_before_mb": round(baseline, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: measure one size
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    results = []
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.rest_arrow", "--one", str(n)], check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(
            f"{n:>9,} records: {result['records_per_s']:>8,} records/s, peak RSS {result['peak_rss_mb']} MB "
            f"({result['peak_rss_before_mb']} MB before the first record), {result['rows_with_reason']} rows "
            f"with a reason, {result['batches']} batches of <= {BATCH_ROWS:,}"
        )
    if len(results) > 1:
        growth = results[-1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
        print(f"peak RSS grew {growth:+.1f} MB from {results[0]['records']:,} to {results[-1]['records']:,} records")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"batch_rows": BATCH_ROWS, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
