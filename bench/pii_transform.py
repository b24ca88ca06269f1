"""Transform throughput with the PII policy on vs off: 1M CRM account rows through the mapping, in 50k slices.

Off: ``apply_mapping`` only. On: the transform step's protection too (the shipped policy: e-mail tokenized,
phone encrypted; their value checks run on the clear values). Worst case for the per-distinct-value work:
every e-mail and phone is distinct. Each mode runs in its own process, so its peak RSS is its own.

    python -m bench.pii_transform [--rows 1000000] [--slice 50000]

Prints rows/s (CPU and wall) on and off, the ratio and each mode's peak RSS; writes
bench/results/pii_transform.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "pii_transform.json"


def raw_slice(start: int, n: int) -> Any:
    import pyarrow as pa

    ids = range(start, start + n)
    return pa.table(
        {
            "AccountId": [f"A{i:08d}" for i in ids],
            "AccountName": [f"Account {i % 5000}" for i in ids],
            "Email": [f" User.{i}@Example{i % 97}.com " for i in ids],
            "Phone": [f"+1 555 {i:07d}" for i in ids],
            "Country": ["us"] * n,
            "Industry": ["Retail"] * n,
            "Status": ["active"] * n,
            "AnnualRevenue": [f"{i % 100000}.50" for i in ids],
            "Employees": [str(i % 900) for i in ids],
            "CreatedDate": ["2026-01-01T00:00:00Z"] * n,
            "LastModifiedDate": ["2026-01-02T03:04:05Z"] * n,
            "IsDeleted": ["false"] * n,
        }
    )


def run_mode(mode: str, rows: int, slice_rows: int) -> dict[str, Any]:
    from bench.common import rss_mb
    from lumina_integration.protection.keys import generate_keys
    from lumina_integration.protection.step import TransformProtection
    from lumina_integration.transforms.apply import apply_mapping
    from lumina_integration.transforms.mapping import load_mapping

    mapping = load_mapping("crm_accounts_customer")
    schema = mapping.entity_schema()
    protection = TransformProtection.for_mapping(mapping, schema, keys=generate_keys()) if mode == "on" else None
    cpu = wall = 0.0
    out = rejected = 0
    for start in range(0, rows, slice_rows):
        batch = raw_slice(start, min(slice_rows, rows - start))  # generating the input is not measured
        t0, c0 = time.perf_counter(), time.process_time()
        if protection is None:
            result = apply_mapping(mapping, schema, batch)
        else:
            result = protection.apply(apply_mapping(mapping, schema, batch, withheld=protection.withheld))
        cpu += time.process_time() - c0
        wall += time.perf_counter() - t0
        out += result.canonical.num_rows
        rejected += result.rejected.num_rows
    return {
        "mode": mode,
        "rows": rows,
        "canonical_rows": out,
        "rejected_rows": rejected,
        "cpu_seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "rows_per_cpu_second": round(rows / cpu),
        "rows_per_wall_second": round(rows / wall),
        "peak_rss_mb": round(rss_mb(peak=True), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=50_000, help="rows per slice (the transform step's)")
    parser.add_argument("--mode", choices=["on", "off"], help=argparse.SUPPRESS)  # one measured process
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.mode, args.rows, args.slice)))
        return 0
    results = {}
    for mode in ("off", "on"):
        command = [sys.executable, "-m", "bench.pii_transform", "--rows", str(args.rows), "--slice", str(args.slice)]
        done = subprocess.run([*command, "--mode", mode], check=True, capture_output=True, text=True, env=os.environ)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    on, off = results["on"], results["off"]
    summary = {
        **results,
        "ratio_cpu": round(on["rows_per_cpu_second"] / off["rows_per_cpu_second"], 3),
        "ratio_wall": round(on["rows_per_wall_second"] / off["rows_per_wall_second"], 3),
    }
    for mode in ("off", "on"):
        r = results[mode]
        print(
            f"policy {mode:>3}: {r['rows']:,} rows, {r['rows_per_cpu_second']:,} rows/s CPU "
            f"({r['rows_per_wall_second']:,} rows/s wall), peak RSS {r['peak_rss_mb']} MB"
        )
    print(f"ratio on/off: {summary['ratio_cpu']} (CPU), {summary['ratio_wall']} (wall)")
    if args.rows >= 1_000_000:
        RESULTS.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
