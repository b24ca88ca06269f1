"""What the retention and erasure benchmarks share: a moto S3 server in its own process, the environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import free_port

PG_URL = os.environ.get("LUMINA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server in a process of its own (its memory is not the measured process's)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def environment(endpoint: str, schema: str) -> dict[str, str]:
    """The Airflow connections the measured child process uses (lake, warehouse, PII keys)."""
    from lumina_integration.protection.keys import generate_keys, keys_connection

    warehouse = {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "login": "postgres",
        "schema": "test",
        "extra": {"warehouse_schema": schema},
    }
    other = {**warehouse, "extra": {"warehouse_schema": schema + "_other"}}
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LUMINA_S3_ENDPOINT": endpoint,
        "AIRFLOW_CONN_LUMINA_LAKE": json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        ),
        "AIRFLOW_CONN_LUMINA_WAREHOUSE": json.dumps(warehouse),
        "AIRFLOW_CONN_LUMINA_WAREHOUSE_POSTGRES": json.dumps(other),
        "AIRFLOW_CONN_LUMINA_PII_KEYS": json.dumps(keys_connection(generate_keys())),
    }


def s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def run_child(module: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -m module args`` with ``env``; its last stdout line is its JSON result."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args], env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
