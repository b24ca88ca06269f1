"""Bulk API 2.0: query jobs that survive task retries, and ingest jobs for write-back.

A query job's id is written to the run's checkpoint as soon as Salesforce accepts it; a retried
task finds it there and re-attaches (results stay downloadable for days), so a retry neither
pays for a second job nor leaves an orphan running. Results are read page by page (``locator``
+ ``maxRecords``): memory is bounded by one page, whatever the size of the extract. A job that
outlives its deadline is aborted server-side before the task gives up.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.hooks.base import Checkpoint
    from lumina_integration.hooks.salesforce.client import SalesforceClient

log = logging.getLogger(__name__)
FINISHED = ("JobComplete", "Failed", "Aborted")


class QueryTimeout(RuntimeError):
    """Salesforce gave up on the query (QUERY_TIMEOUT): read a smaller window instead.

    ``transport`` is the one that timed out (a REST timeout can still be read over Bulk 2.0).
    """

    def __init__(self, message: str, *, transport: str = "bulk") -> None:
        super().__init__(message)
        self.transport = transport


class BulkJobFailed(RuntimeError):
    """A Bulk 2.0 job ended Failed or Aborted for a reason a smaller window would not fix."""


@dataclass(frozen=True)
class BulkSettings:
    poll_seconds: float = 0.25  # the adapter option's default (options.py says why)
    max_poll_seconds: float = 30.0
    timeout_seconds: float = 2 * 3600
    page_records: int = 100_000


class BulkQuery:
    """Runs one SOQL query as a Bulk 2.0 job and yields its CSV result pages."""

    def __init__(
        self, client: SalesforceClient, checkpoint: Checkpoint | None, settings: BulkSettings = BulkSettings()
    ) -> None:
        self.client, self.checkpoint, self.settings = client, checkpoint, settings

    @staticmethod
    def checkpoint_name(operation: str, query: str) -> str:
        return "bulk-" + hashlib.sha256(f"{operation}\n{query}".encode()).hexdigest()[:20]

    def pages(self, query: str, *, include_deleted: bool) -> Iterator[bytes]:
        operation = "queryAll" if include_deleted else "query"
        job = self._attach(operation, query) or self._create(operation, query)
        job = self._wait(job)
        locator = ""
        while True:
            params: dict[str, Any] = {"maxRecords": self.settings.page_records}
            if locator:
                params["locator"] = locator
            response = self.client.request("GET", f"jobs/query/{job['id']}/results", params=params)
            locator = response.headers.get("Sforce-Locator") or ""
            content = response.content
            del response  # one page in memory at a time: drop it before the next one downloads
            yield content
            del content
            if locator in ("", "null"):
                return

    def _attach(self, operation: str, query: str) -> dict[str, Any] | None:
        """The job a previous attempt of this task started for the same query, if still usable."""
        from simple_salesforce.exceptions import SalesforceResourceNotFound

        saved = self.checkpoint.get(self.checkpoint_name(operation, query)) if self.checkpoint else None
        if not saved:
            return None
        try:
            job: dict[str, Any] = self.client.request("GET", f"jobs/query/{saved['id']}").json()
        except SalesforceResourceNotFound:
            return None
        if job["state"] in ("Failed", "Aborted"):
            return None
        log.info("Re-attaching to Bulk 2.0 job %s (%s) started by an earlier attempt", job["id"], job["state"])
        return job

    def _create(self, operation: str, query: str) -> dict[str, Any]:
        job: dict[str, Any] = self.client.request(
            "POST", "jobs/query", json={"operation": operation, "query": query}, bulk_job=True
        ).json()
        if self.checkpoint is not None:
            self.checkpoint.put(self.checkpoint_name(operation, query), {"id": job["id"], "operation": operation})
        log.info("Bulk 2.0 %s job %s created", operation, job["id"])
        return job

    def _wait(self, job: dict[str, Any]) -> dict[str, Any]:
        delay, deadline = self.settings.poll_seconds, time.monotonic() + self.settings.timeout_seconds
        while job["state"] not in FINISHED:
            if time.monotonic() > deadline:
                # Never leave a job running server-side after we stop waiting for it.
                self.client.request("PATCH", f"jobs/query/{job['id']}", json={"state": "Aborted"})
                raise BulkJobFailed(f"Bulk 2.0 job {job['id']} ran past {self.settings.timeout_seconds:.0f}s; aborted")
            time.sleep(delay)
            delay = min(delay * 1.5, self.settings.max_poll_seconds)
            job = self.client.request("GET", f"jobs/query/{job['id']}").json()
        if job["state"] == "JobComplete":
            return job
        if "errorMessage" not in job:  # a short answer (a job creation's) says no more than the state
            job = self.client.request("GET", f"jobs/query/{job['id']}").json()
        message = str(job.get("errorMessage") or "")
        if "QUERY_TIMEOUT" in message:
            raise QueryTimeout(f"Bulk 2.0 job {job['id']}: {message}")
        raise BulkJobFailed(f"Bulk 2.0 job {job['id']} ended {job['state']}: {message}")


INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


def run_ingest(
    client: SalesforceClient,
    sobject: str,
    operation: str,
    table: pa.Table,
    *,
    external_id_field: str | None = None,
    settings: BulkSettings = BulkSettings(),
) -> tuple[str, pa.Table, pa.Table]:
    """Upload ``table`` as one Bulk 2.0 ingest job; returns (job id, successes, failures).

    The result tables are Salesforce's per-row CSVs (``sf__Id``, ``sf__Created`` / ``sf__Error``
    plus the uploaded columns), read as text.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if operation not in INGEST_OPERATIONS:
        raise ValueError(f"unknown ingest operation {operation!r}; use one of {INGEST_OPERATIONS}")
    if operation == "upsert" and not external_id_field:
        raise ValueError("an upsert needs the external id field to match records on")
    body: dict[str, Any] = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
    if external_id_field:
        body["externalIdFieldName"] = external_id_field
    job = client.request("POST", "jobs/ingest", json=body).json()
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="all_valid"))
    client.request(
        "PUT", f"jobs/ingest/{job['id']}/batches", data=sink.getvalue(), headers={"Content-Type": "text/csv"}
    )
    job = client.request("PATCH", f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    delay = settings.poll_seconds
    while job["state"] not in ("JobComplete", "Failed", "Aborted"):
        time.sleep(delay)
        delay = min(delay * 1.5, settings.max_poll_seconds)
        job = client.request("GET", f"jobs/ingest/{job['id']}").json()
    if job["state"] != "JobComplete":
        raise BulkJobFailed(f"Bulk 2.0 ingest job {job['id']} ended {job['state']}: {job.get('errorMessage')}")

    def results(kind: str) -> pa.Table:
        content = client.request("GET", f"jobs/ingest/{job['id']}/{kind}/").content
        if not content.strip():
            return pa.table({})
        options = pacsv.ConvertOptions(strings_can_be_null=False, auto_dict_encode=False)
        names = pacsv.read_csv(io.BytesIO(content.split(b"\n", 1)[0] + b"\n")).column_names
        options.column_types = {n: pa.string() for n in names}
        return pacsv.read_csv(io.BytesIO(content), convert_options=options)

    return job["id"], results("successfulResults"), results("failedResults")
