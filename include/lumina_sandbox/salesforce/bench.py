"""Measures the sandbox at scale: seeding time and server RSS, Bulk 2.0 CSV and REST JSON paging throughput.

``python -m lumina_sandbox.salesforce bench --accounts 1000000`` starts a detached sandbox in a temporary state
directory, talks to it over HTTPS like any client, prints the figures and stops it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from lumina_sandbox.salesforce import runner

VERSION = "62.0"


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _session(directory: Path) -> tuple[requests.Session, str]:
    creds = json.loads((directory / "credentials.json").read_text())
    http = requests.Session()
    http.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
    http.verify = str(directory / creds["ca_file"])
    token = http.post(
        f"{creds['instance_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
        timeout=60,
    ).json()
    http.headers["Authorization"] = f"Bearer {token['access_token']}"
    return http, f"{token['instance_url']}/services/data/v{VERSION}"


def run(accounts: int, rest_records: int, port: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lumina-sf-bench-") as tmp:
        state_dir = Path(tmp)
        started = time.perf_counter()
        state = runner.start(port, state_dir, counts={"Account": accounts})
        startup = time.perf_counter() - started
        directory = runner.sandbox_dir(state_dir)
        try:
            figures: dict[str, Any] = {
                "accounts": accounts,
                "seed_seconds": state["seed_seconds"],
                "start_seconds": round(startup, 1),
            }
            figures["rss_mb_after_seed"], figures["peak_rss_mb_after_seed"] = _rss_mb(int(state["pid"]))
            http, api = _session(directory)
            fields = [
                f["name"]
                for f in http.get(f"{api}/sobjects/Account/describe").json()["fields"]
                if f["type"] not in ("address", "location")
            ]
            soql = f"SELECT {', '.join(fields)} FROM Account"
            figures["fields"] = len(fields)

            created = time.perf_counter()
            job = http.post(f"{api}/jobs/query", json={"operation": "query", "query": soql}).json()
            while job["state"] not in ("JobComplete", "Failed", "Aborted"):
                time.sleep(0.2)
                job = http.get(f"{api}/jobs/query/{job['id']}").json()
            figures["bulk_job_seconds"] = round(time.perf_counter() - created, 2)
            total, pages, locator = 0, 0, ""
            fetched = time.perf_counter()
            while True:
                params: dict[str, str | int] = {"maxRecords": 100_000, **({"locator": locator} if locator else {})}
                response = http.get(f"{api}/jobs/query/{job['id']}/results", params=params)
                total += int(response.headers["Sforce-NumberOfRecords"])
                pages += 1
                locator = response.headers["Sforce-Locator"]
                if locator == "null":
                    break
            seconds = time.perf_counter() - fetched
            figures["bulk_records"] = total
            figures["bulk_results_records_per_s"] = round(total / seconds)
            figures["bulk_end_to_end_records_per_s"] = round(total / (time.perf_counter() - created))

            rest_soql = f"{soql} ORDER BY SystemModstamp, Id LIMIT {rest_records}"
            began = time.perf_counter()
            page = http.get(f"{api}/query", params={"q": rest_soql}).json()
            rows = len(page["records"])
            while not page["done"]:
                page = http.get(f"{api.rsplit('/services', 1)[0]}{page['nextRecordsUrl']}").json()
                rows += len(page["records"])
            figures["rest_records"] = rows
            figures["rest_records_per_s"] = round(rows / (time.perf_counter() - began))
            figures["rss_mb_after_reads"], figures["peak_rss_mb"] = _rss_mb(int(state["pid"]))
            return figures
        finally:
            runner.stop(state_dir)
