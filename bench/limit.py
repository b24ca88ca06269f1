"""The physical limit: the same Bulk 2.0 bytes fetched with no parsing, then one server-side COPY (``make bench``).

    python -m bench.limit SCHEMA WORKDIR POSTGRES_DSN   (connection JSON on stdin)

Fetch: the same ``queryAll`` job as every reader here (job, processing, every 50k-record page), the
pages written to one CSV file as they arrive (headers of later pages dropped), nothing parsed.
Copy: ``COPY ... FROM '<file>'`` run by the Postgres server itself into a table with the Account
columns, typed from ``describe``, and ``Id`` as its primary key. The limit is rows over the sum of
both; each part is reported too. The last line printed is a JSON result.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import account_fields, bulk_pages, bulk_query, rss_mb, sandbox_session, soql_all_fields

SQL_TYPES = {
    "boolean": "BOOLEAN",
    "int": "BIGINT",
    "double": "DOUBLE PRECISION",
    "percent": "DOUBLE PRECISION",
    "date": "DATE",
    "datetime": "TIMESTAMP WITH TIME ZONE",
}


def sql_type(field: dict[str, Any]) -> str:
    if field["type"] == "currency":
        return f"NUMERIC({min(int(field.get('precision') or 18), 38)}, {int(field.get('scale') or 0)})"
    return SQL_TYPES.get(field["type"], "TEXT")


def fetch(connection: dict[str, Any], target: Path) -> tuple[list[dict[str, Any]], dict[str, float]]:
    http, api = sandbox_session(connection)
    fields = account_fields(http, api)
    started = time.perf_counter()
    job = bulk_query(http, api, soql_all_fields(fields))
    job_done = time.perf_counter()
    size = 0
    with target.open("wb") as out:
        for number, page in enumerate(bulk_pages(http, api, job)):
            body = page if number == 0 else page[page.index(b"\n") + 1 :]
            out.write(body)
            size += len(body)
    finished = time.perf_counter()
    return fields, {
        "job_seconds": round(job_done - started, 2),
        "download_seconds": round(finished - job_done, 2),
        "seconds": round(finished - started, 2),
        "bytes": size,
    }


def copy(fields: list[dict[str, Any]], source: Path, dsn: str, schema: str) -> dict[str, Any]:
    import psycopg

    columns = ", ".join(f'"{f["name"]}" {sql_type(f)}' for f in fields)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'DROP TABLE IF EXISTS "{schema}".account_limit')
        conn.execute(f'CREATE TABLE "{schema}".account_limit ({columns}, PRIMARY KEY ("Id"))')
        started = time.perf_counter()
        with conn.transaction():
            # Bulk CSV quotes every value and an empty one is null (Salesforce has no empty strings).
            names = ", ".join(f'"{f["name"]}"' for f in fields)
            options = f"FORMAT csv, HEADER true, FORCE_NULL ({names})"
            cursor = conn.execute(f"COPY \"{schema}\".account_limit FROM '{source}' ({options})")
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 2)}


def main() -> None:
    schema, workdir, dsn = sys.argv[1:4]
    # The Postgres server reads the file itself: it needs a directory it may enter.
    folder = Path(workdir) / "limit"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    os.chmod(folder, 0o755)
    target = folder / "accounts.csv"
    fields, fetched = fetch(json.loads(sys.stdin.read()), target)
    os.chmod(target, 0o644)
    copied = copy(fields, target, dsn, schema)
    target.unlink()
    rows = copied["rows"]
    seconds = fetched["seconds"] + copied["seconds"]
    result = {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "fetch": {**fetched, "rows_per_s": round(rows / fetched["seconds"])},
        "copy": {**copied, "rows_per_s": round(rows / copied["seconds"])},
        "columns": len(fields),
        "peak_rss_mb": round(rss_mb(peak=True)),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
