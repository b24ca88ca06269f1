"""Extract throughput and peak memory of the SAP adapter on 1M VBAP-like rows.

Loads N generated VBAP rows (14 columns, SAP text, DECIMAL amounts, two currencies one with a
TCURX entry) into a fresh schema of the test Postgres with COPY, then reads them in a fresh
process through ``HanaHook.read`` exactly as the extract step does (keyset pages, fetchmany,
Arrow batches, change-document join, TCURX join) and reports rows/s and the peak RSS of that
process, beside its RSS after imports (the floor).

    .venv/bin/python bench/sap_extract.py [--rows 1000000] [--postgres URL]
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
import uuid

OPTIONS = {
    "changed": [{"date": "AEDAT"}, {"date": "ERDAT", "time": "ERZET"}],
    "change_documents": {"object_class": "VERKBELEG", "object_id": "VBELN"},
    "currency_keys": ["WAERK"],
    "timezone": "Europe/Berlin",
}


def load(url: str, schema: str, rows: int) -> float:
    import sqlalchemy as sa

    from lumina_sandbox.sap.system import SapSystem

    engine = sa.create_engine(url)
    system = SapSystem(engine, schema)
    system.create()
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f'INSERT INTO "{schema}"."TCURX" VALUES (%s, %s)', ("JPY", 0))
        with cur.copy(
            f'COPY "{schema}"."VBAP" ("MANDT","VBELN","POSNR","MATNR","ARKTX","PSTYV","ERDAT","ERZET","AEDAT",'
            '"KWMENG","VRKME","NETWR","WAERK","ABGRU") FROM STDIN'
        ) as copy:
            for i in range(rows):
                order, item = divmod(i, 5)
                copy.write_row(
                    (
                        "100", f"{order:010d}", f"{(item + 1) * 10:06d}", f"{1000 + i % 5000:018d}", "Steel bolt  ",
                        "TAN", f"2026{1 + order % 10:02d}{1 + order % 28:02d}", f"{i % 24:02d}{i % 60:02d}00",
                        "00000000" if i % 3 else "20261115", f"{i % 50}.125", "ST", f"{i % 100000}.50",
                        "JPY" if i % 4 == 0 else "EUR", "",
                    )
                )  # fmt: skip
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def measure(url: str, schema: str) -> dict[str, float]:
    """Runs in a fresh process: imports, then one full read; RSS in MB (Linux ru_maxrss is KB)."""
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp())
    os.environ["AIRFLOW_CONN_SAP_BENCH"] = json.dumps(
        {"conn_type": "hana", "extra": {"sqlalchemy_url": url, "sap_schema": schema, "client": "100"}}
    )
    from datetime import UTC, datetime

    from lumina_integration.hooks.hana.hook import HanaHook
    from lumina_integration.window import Window

    hook = HanaHook("sap_bench")
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    rows = batches = 0
    for batch in hook.read("VBAP", Window(None, datetime(2027, 1, 1, tzinfo=UTC)), OPTIONS):
        rows += batch.num_rows
        batches += 1
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "batches": batches, "seconds": seconds, "floor_mb": floor, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LUMINA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.postgres, args.measure)))
        return
    import sqlalchemy as sa

    schema = f"sap_bench_{uuid.uuid4().hex[:8]}"
    try:
        loaded = load(args.postgres, schema, args.rows)
        print(f"loaded {args.rows:,} VBAP rows with COPY in {loaded:.1f} s")
        out = subprocess.run(
            [sys.executable, __file__, "--measure", schema, "--postgres", args.postgres],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"extract: {result['rows']:,} rows in {result['batches']} Arrow batches, {result['seconds']:.1f} s = "
            f"{result['rows'] / result['seconds']:,.0f} rows/s; peak RSS {result['peak_mb']:.0f} MB "
            f"(after imports {result['floor_mb']:.0f} MB)"
        )
    finally:
        engine = sa.create_engine(args.postgres)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
