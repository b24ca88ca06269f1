"""The peer: dlt reading the same sandbox org into the same Postgres, merging on ``Id`` (``make bench``).

    python -m bench.dlt_peer SCHEMA WORKDIR [--strategy delete-insert|upsert] [--incremental]
                                                                         (connection JSON on stdin)

dlt's verified Salesforce source is not on PyPI (``dlt init`` copies it from GitHub) and reads through
Bulk API 1.0 as Python dicts, which the sandbox does not serve and which dlt's own performance guide
steers away from. So this is a small dlt resource over the same transport our adapter uses: one
Bulk 2.0 ``queryAll`` job over every Account field Bulk can read, its CSV result pages (50k records)
parsed by pyarrow with the types ``describe`` gives, yielded as Arrow tables, dlt's fastest path.

Settings, from dlt's performance guide and its Postgres destination page (see ``DLT_SETTINGS``):
Arrow items (no per-row normalisation); ``loader_file_format="csv"`` (pyarrow writes CSV that is
streamed with COPY); intermediate-file compression off; file rotation at 250k rows so normalize and
load work on several files in parallel; two normalize processes (spawned, as the guide says when
threads are about) and two load workers on this 2-core machine; extract buffers of 50k items.
With ``--incremental`` the resource has a ``dlt.sources.incremental`` cursor on ``SystemModstamp`` (dlt's
incremental loading: its state lives in the pipeline folder and the destination), and the Bulk query reads
only ``SystemModstamp >= last_value``: the first run loads everything, a second run in the same WORKDIR
only what changed since, merged on ``Id`` (``make bench-incremental``, ``bench/incremental.py``).
The last line printed is a JSON result.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from datetime import UTC
from typing import Any

from bench.common import account_fields, bulk_pages, bulk_query, rss_mb, sandbox_session, soql_all_fields

# Normalize processes and load threads (passed to normalize() and load(), which take them as arguments).
WORKERS = 2
DLT_SETTINGS = {
    "DATA_WRITER__BUFFER_MAX_ITEMS": "50000",
    "DATA_WRITER__FILE_MAX_ITEMS": "250000",
    "NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION": "true",
    "DATA_WRITER__DISABLE_COMPRESSION": "true",
    "LOAD__DELETE_COMPLETED_JOBS": "true",
    "RUNTIME__LOG_LEVEL": "WARNING",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
}


def arrow_schema(fields: list[dict[str, Any]]) -> Any:
    """Arrow types from ``describe``, as a dlt user would declare them (money as decimals, UTC timestamps)."""
    import pyarrow as pa

    def arrow_type(field: dict[str, Any]) -> pa.DataType:
        kind = field["type"]
        if kind == "boolean":
            return pa.bool_()
        if kind == "int":
            return pa.int64()
        if kind == "currency":
            return pa.decimal128(min(int(field.get("precision") or 18), 38), int(field.get("scale") or 0))
        if kind in ("double", "percent"):
            return pa.float64()
        if kind == "date":
            return pa.date32()
        if kind == "datetime":
            return pa.timestamp("us", tz="UTC")
        return pa.string()

    return pa.schema([pa.field(f["name"], arrow_type(f)) for f in fields])


def run(
    connection: dict[str, Any], postgres_url: str, schema: str, workdir: str, strategy: str, incremental: bool = False
) -> dict[str, Any]:
    os.environ.update(DLT_SETTINGS)
    os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = postgres_url
    # dlt insists on a password; a server with trust authentication ignores it.
    os.environ.setdefault("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", "unused-with-trust-auth")
    import dlt
    import pyarrow.csv as pacsv

    http, api = sandbox_session(connection)
    fields = account_fields(http, api)
    types = arrow_schema(fields)
    soql = soql_all_fields(fields)
    options = pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True, null_values=[""]
    )
    parse = pacsv.ParseOptions(newlines_in_values=True)

    read = {"rows": 0}
    # dlt binds an incremental cursor given as the resource function's default argument.
    cursor = dlt.sources.incremental("SystemModstamp") if incremental else None

    @dlt.resource(
        name="account",
        primary_key="Id",
        write_disposition={"disposition": "merge", "strategy": strategy},
    )
    def accounts(updated: Any = cursor) -> Any:
        query = soql
        if updated is not None and updated.last_value is not None:
            since = updated.last_value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            query = soql.replace(" ORDER BY ", f" WHERE SystemModstamp >= {since} ORDER BY ")
        job = bulk_query(http, api, query)
        for page in bulk_pages(http, api, job):
            table = pacsv.read_csv(io.BytesIO(page), parse_options=parse, convert_options=options)
            read["rows"] += table.num_rows
            yield table

    items = accounts()

    pipeline = dlt.pipeline(
        pipeline_name="lumina_bench_dlt", pipelines_dir=workdir, destination="postgres", dataset_name=schema
    )
    stages: dict[str, float] = {}
    started = time.perf_counter()
    pipeline.extract(items, loader_file_format="csv")
    stages["extract"] = time.perf_counter() - started
    pipeline.normalize(workers=WORKERS)
    stages["normalize"] = time.perf_counter() - started - stages["extract"]
    info = pipeline.load(workers=WORKERS)
    seconds = time.perf_counter() - started
    stages["load"] = seconds - stages["extract"] - stages["normalize"]
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as client:
        rows = client.execute_sql(f'SELECT COUNT(*) FROM "{schema}"."account"')[0][0]
    return {
        "rows": rows,
        "rows_read": read["rows"],
        "incremental": incremental,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "stages_seconds": {k: round(v, 2) for k, v in stages.items()},
        "peak_rss_mb": round(rss_mb(peak=True)),
        "merge_strategy": strategy,
        "dlt_version": dlt.__version__,
        "settings": {
            **DLT_SETTINGS,
            "normalize_workers": WORKERS,
            "load_workers": WORKERS,
            "loader_file_format": "csv",
            "items": "pyarrow.Table per 50k-record page",
        },
    }


def main() -> None:
    schema, workdir, *rest = sys.argv[1:]
    strategy = rest[rest.index("--strategy") + 1] if "--strategy" in rest else "delete-insert"
    postgres_url = (
        rest[rest.index("--postgres") + 1] if "--postgres" in rest else "postgresql://postgres@127.0.0.1:5432/test"
    )
    result = run(json.loads(sys.stdin.read()), postgres_url, schema, workdir, strategy, "--incremental" in rest)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
