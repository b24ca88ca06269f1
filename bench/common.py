"""What the end-to-end benchmark's processes share: RSS, the sandbox session, Account fields and types."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

API_VERSION = "62.0"
# Bulk 2.0 result pages: the same size as the adapter's default (``bulk_page_records``).
PAGE_RECORDS = 50_000
# Compound fields (addresses, locations) cannot be read through Bulk; their components can.
COMPOUND_TYPES = ("address", "location")


def free_port() -> int:
    """A TCP port free on loopback now (the servers a benchmark starts never take a fixed one)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(peak: bool = False) -> float:
    """This process's resident set size (``VmRSS``) or its peak (``VmHWM``) in MB, from the kernel."""
    key = "VmHWM" if peak else "VmRSS"
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not found in /proc/self/status")


def sandbox_session(connection: dict[str, Any]) -> tuple[Any, str]:
    """A ``requests`` session logged in to the sandbox org (OAuth username-password), and the REST base URL.

    ``connection`` is the Airflow connection dict of ``lumina_sandbox.salesforce.demo.airflow_connection``;
    its credentials file next to the CA holds the OAuth client.
    """
    import requests

    ca_bundle = connection["extra"]["ca_bundle"]
    creds = json.loads((Path(ca_bundle).parent / "credentials.json").read_text())
    http = requests.Session()
    http.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
    http.verify = ca_bundle
    response = http.post(
        f"{creds['instance_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
        timeout=60,
    )
    response.raise_for_status()
    token = response.json()
    http.headers["Authorization"] = f"Bearer {token['access_token']}"
    return http, f"{token['instance_url']}/services/data/v{API_VERSION}"


def account_fields(http: Any, api: str) -> list[dict[str, Any]]:
    """Every Account field Bulk can read (all but compound fields), from ``describe``."""
    described = http.get(f"{api}/sobjects/Account/describe", timeout=60).json()["fields"]
    return [f for f in described if f["type"] not in COMPOUND_TYPES]


def soql_all_fields(fields: list[dict[str, Any]]) -> str:
    """The query every reader of the benchmark runs: all fields, in the pipeline's cursor order."""
    return f"SELECT {', '.join(f['name'] for f in fields)} FROM Account ORDER BY SystemModstamp, Id"


def bulk_query(http: Any, api: str, soql: str, poll_seconds: float = 0.2) -> str:
    """Create a Bulk 2.0 ``queryAll`` job (recycle-bin rows too, as the pipeline reads) and wait for it."""
    import time

    job = http.post(f"{api}/jobs/query", json={"operation": "queryAll", "query": soql}, timeout=60).json()
    while job["state"] not in ("JobComplete", "Failed", "Aborted"):
        time.sleep(poll_seconds)
        job = http.get(f"{api}/jobs/query/{job['id']}", timeout=60).json()
    if job["state"] != "JobComplete":
        raise RuntimeError(f"Bulk 2.0 job {job['id']} ended {job['state']}: {job.get('errorMessage')}")
    return str(job["id"])


def bulk_pages(http: Any, api: str, job_id: str) -> Any:
    """The job's CSV result pages (bytes, each with its header line), ``PAGE_RECORDS`` records a page."""
    locator = ""
    while True:
        params: dict[str, Any] = {"maxRecords": PAGE_RECORDS, **({"locator": locator} if locator else {})}
        response = http.get(f"{api}/jobs/query/{job_id}/results", params=params, timeout=600)
        response.raise_for_status()
        locator = response.headers.get("Sforce-Locator") or ""
        yield response.content
        if locator in ("", "null"):
            return


def environment_summary() -> dict[str, Any]:
    """The machine the figures were taken on."""
    import platform
    import sys

    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "os": platform.platform(),
        "arrow_memory_pool": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "jemalloc"),
    }
