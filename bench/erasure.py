"""``make bench-erasure``: the erasure of one subject across a 1M-record lake (seconds, parts, peak RSS).

    .venv/bin/python -m bench.erasure [--records 1000000] [--runs 4]

The ``filedrop_crm_accounts`` pipeline's lake is built directly (no extract): ``--runs`` runs sharing
``--records`` records, each with a raw part, a canonical part and a validated part of records/runs rows
(250k at the defaults: the pipelines' own part size), emails tokenized as the PII policy writes them, and
the same records in the warehouse's ``customer`` table (a fresh Postgres schema). One subject has a record in
three of the runs and one quarantined record. A child process then runs the erasure (the code
``lumina erase`` runs); its wall and CPU seconds and peak RSS (``VmHWM``) are reported, and every part is
checked afterwards. Results: ``bench/results/erasure.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.lifecycle_common import PG_URL, environment, run_child, s3, s3_server

SUBJECT = "erase.me@example.org"
RESULTS = Path(__file__).parent / "results" / "erasure.json"


def build(endpoint: str, schema: str, records: int, runs: int, env: dict[str, str]) -> dict[str, Any]:
    import os

    import pyarrow as pa
    import pyarrow.compute as pc
    import sqlalchemy as sa

    os.environ.update(env)
    from lumina_integration.canonical.registry import load_entity
    from lumina_integration.paths import DAGS_DIR
    from lumina_integration.protection.crypto import tokenize_array, tokenize_text
    from lumina_integration.protection.keys import load_keys
    from lumina_integration.protection.retention import pipeline_targets
    from lumina_integration.quarantine import quarantine_rows
    from lumina_integration.staging.layout import run_key
    from lumina_integration.staging.parts import PartWriter
    from lumina_integration.warehouse.ddl import ensure_control_tables, ensure_entity_table
    from lumina_integration.warehouse.dialects import dialect_for

    client = s3(endpoint)
    client.create_bucket(Bucket="lumina-lake")
    key = load_keys().tokenize_key
    prefixes = {
        zone: prefix
        for t in pipeline_targets(DAGS_DIR)
        for (_c, _b, zone, prefix), entities in t.prefixes.items()
        if prefix.split("/")[1] == "file_drop" and "customer" in entities
    }
    per_run = records // runs
    subject_rows = {0: 17, 1: per_run // 2, runs - 1: per_run - 3}
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        d = dialect_for(conn)
        ensure_control_tables(conn, d, schema)
        ensure_entity_table(conn, d, schema, load_entity("customer"))
    for r in range(runs):
        ids = pa.array([f"ACC-{r * per_run + i:08d}" for i in range(per_run)])
        emails = pc.binary_join_element_wise(
            pa.array([f"person{r * per_run + i}" for i in range(per_run)]), "@example.com", ""
        )
        if r in subject_rows:
            emails = pa.array([SUBJECT if i == subject_rows[r] else e for i, e in enumerate(emails.to_pylist())])
        raw = pa.table(
            {
                "AccountId": ids,
                "AccountName": pc.binary_join_element_wise("Company ", ids, ""),
                "Email": emails,
                "Phone": pa.array(["+1 555 0100"] * per_run),
                "Status": pa.array(["Active"] * per_run),
            }
        )
        stamp = pa.array([1_780_000_000_000_000 + i for i in range(per_run)], pa.timestamp("us", tz="UTC"))
        canonical = pa.table(
            {
                "source_system": pa.array(["crm_export"] * per_run),
                "source_id": ids,
                "name": raw.column("AccountName"),
                "email": tokenize_array(key, emails),
                "status": pa.array(["active"] * per_run),
                "source_updated_at": stamp,
                "_is_deleted": pa.array([False] * per_run),
            }
        )
        rk = run_key("filedrop_crm_accounts", f"scheduled__2026-11-{r + 1:02d}T00:00:00+00:00")
        for zone, sub, table in (
            ("raw", "", raw),
            ("canonical", "", canonical),
            ("canonical", "validated/", canonical),
        ):
            PartWriter(client, "lumina-lake", f"{prefixes[zone]}{rk}/{sub}").write_all([table])
        if r == 0:
            bad = canonical.slice(subject_rows[0], 1).append_column("x", pa.array(["y"]))
            PartWriter(client, "lumina-lake", f"{prefixes['quarantine']}{rk}/validate/").write_all(
                [quarantine_rows("validate", bad, ["status not allowed"])]
            )
        columns = ["source_system", "source_id", "name", "email", "status", "source_updated_at"]
        with engine.begin() as conn:
            d = dialect_for(conn)
            loaded = (
                canonical.select(columns)
                .append_column("_loaded_at", stamp)
                .append_column("_run_key", pa.array([rk] * per_run))
            )
            conn.exec_driver_sql(f'SET search_path TO "{schema}"')
            d.fill_stage(conn, "customer", [*columns, "_loaded_at", "_run_key"], [loaded])
    engine.dispose()
    return {"subject_token": tokenize_text(key, SUBJECT), "prefixes": prefixes}


def erase_in_child(subject: str) -> None:
    """The measured part: the erasure as ``lumina erase`` runs it, then this process's figures."""
    from bench.common import rss_mb
    from lumina_integration.paths import DAGS_DIR
    from lumina_integration.protection.erasure import run_erasure

    started, cpu = time.perf_counter(), time.process_time()
    result = run_erasure(subject, reason="bench", requested_by="bench", dags_dir=DAGS_DIR)
    print(
        json.dumps(
            {
                **result.to_xcom(),
                "seconds": round(time.perf_counter() - started, 2),
                "cpu_seconds": round(time.process_time() - cpu, 2),
                "peak_rss_mb": round(rss_mb(peak=True), 1),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        erase_in_child(SUBJECT)
        return 0
    import sqlalchemy as sa

    schema = f"bench_erasure_{uuid.uuid4().hex[:8]}"
    with s3_server() as endpoint:
        env = environment(endpoint, schema)
        t0 = time.perf_counter()
        built = build(endpoint, schema, args.records, args.runs, env)
        build_seconds = time.perf_counter() - t0
        child = run_child("bench.erasure", ["--child"], env)
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            left = conn.exec_driver_sql(
                f'SELECT COUNT(*) FROM "{schema}".customer WHERE email = %s', (built["subject_token"],)
            ).scalar_one()
            total = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{schema}".customer').scalar_one()
        with engine.begin() as conn:
            for s in (schema, schema + "_other"):
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
        engine.dispose()
    result = {
        "records": args.records,
        "runs": args.runs,
        "lake_rows": args.records * 3 + 1,
        "build_seconds": round(build_seconds, 1),
        "erasure": {k: child[k] for k in ("seconds", "cpu_seconds", "peak_rss_mb", "parts_scanned", "parts_rewritten")},
        "rows_removed": child["rows_removed"]["lumina_warehouse"],
        "warehouse_rows_after": total,
        "subject_rows_left": left,
        "machine": {"cpus": __import__("os").cpu_count(), "python": sys.version.split()[0]},
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
