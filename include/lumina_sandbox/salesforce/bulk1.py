"""Bulk API 1.0 (the async API under ``/services/async/vNN.N/``): jobs of batches, JSON or CSV records.

What simple-salesforce's ``SFBulkHandler`` (and so the provider's ``SalesforceBulkOperator``) sends, with the
session id in ``X-SFDC-Session``:

- ``POST job`` ``{"operation", "object", "concurrencyMode", "contentType", "externalIdFieldName"}``: a job
  (``Open``). ``concurrencyMode`` may be ``Parallel``/``Serial`` or simple-salesforce's ``0``/``1``.
- ``POST job/<id>/batch``: the batch, a JSON array of records (``contentType`` JSON), CSV text (CSV) or, for
  ``query``/``queryAll`` jobs, the SOQL. The answer is the batch (``Queued``).
- ``GET job/<id>/batch[/<batch>]``: batch states; ``Completed``, ``Failed`` (``stateMessage``) or
  ``NotProcessed``.
- ``GET job/<id>/batch/<batch>/result``: for ingest, one result per record in input order (JSON
  ``{"success", "created", "id", "errors"}``, CSV ``"Id","Success","Created","Error"``); for a query, the
  list of result ids, each fetched from ``.../result/<result id>`` (JSON records like REST's but with dates
  and datetimes as epoch milliseconds, as Salesforce sends them; CSV like Bulk 2.0's).
- ``GET job/<id>/batch/<batch>/request``: the batch as uploaded. ``POST job/<id>`` ``{"state": "Closed"}`` or
  ``"Aborted"``.

Job and batch requests and answers are JSON (XML job requests are refused with a clear error). A batch is
processed while its upload is answered (the answer still says ``Queued``, as Salesforce's does), so a
client's first status poll finds it finished. Records are written by the same :func:`bulk.write_record` as
Bulk 2.0 ingest, in chunks of 200 that share one SystemModstamp; queries are compiled by the same
``compile_query`` and read from one snapshot.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lumina_sandbox.salesforce.bulk import (
    CHUNK_ROWS,
    COMPOUND_FAILURE,
    INGEST_OPERATIONS,
    csv_values,
    target_id,
    write_record,
)
from lumina_sandbox.salesforce.clock import SandboxClock, rest_text, to_storage
from lumina_sandbox.salesforce.ids import checksum
from lumina_sandbox.salesforce.limits import Limits
from lumina_sandbox.salesforce.records import RecordWriter
from lumina_sandbox.salesforce.schema import Catalog, SObjectType
from lumina_sandbox.salesforce.soql import SoqlError
from lumina_sandbox.salesforce.sql import Compiled, compile_query, csv_columns, csv_header, json_columns, record_json
from lumina_sandbox.salesforce.store import Store

CONTENT_TYPES = ("JSON", "CSV")
CONCURRENCY = {"0": "Parallel", "1": "Serial", "Parallel": "Parallel", "Serial": "Serial"}
MAX_BATCH_RECORDS = 10_000
FINISHED = ("Completed", "Failed", "NotProcessed")


class AsyncApiError(Exception):
    """An error of the async API: ``{"exceptionCode", "exceptionMessage"}`` with HTTP ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"exceptionCode": self.code, "exceptionMessage": self.message}


def _new_id(prefix: str) -> str:
    import secrets

    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    id15 = prefix + "".join(secrets.choice(alphabet) for _ in range(15 - len(prefix)))
    return id15 + checksum(id15)


@dataclass
class Batch:
    id: str
    job_id: str
    created: str
    request: bytes
    state: str = "Queued"
    message: str | None = None
    modstamp: str = ""
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)  # ingest: one per record, in input order
    result_id: str = ""  # query: the one result set
    result_body: bytes = b""

    def info(self) -> dict[str, Any]:
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": self.processing_ms,
            "createdDate": rest_text(self.created),
            "id": self.id,
            "jobId": self.job_id,
            "numberRecordsFailed": self.failed,
            "numberRecordsProcessed": self.processed,
            "state": self.state,
            "stateMessage": self.message,
            "systemModstamp": rest_text(self.modstamp or self.created),
            "totalProcessingTime": self.processing_ms,
        }


@dataclass
class Job:
    id: str
    operation: str
    object: str
    content_type: str
    concurrency: str
    created_by: str
    created: str
    api_version: str
    external_id: str | None = None
    state: str = "Open"
    modstamp: str = ""
    batches: dict[str, Batch] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def info(self) -> dict[str, Any]:
        batches = list(self.batches.values())
        states = [b.state for b in batches]
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": sum(b.processing_ms for b in batches),
            "apiVersion": float(self.api_version),
            "assignmentRuleId": None,
            "concurrencyMode": self.concurrency,
            "contentType": self.content_type,
            "createdById": self.created_by,
            "createdDate": rest_text(self.created),
            "externalIdFieldName": self.external_id,
            "fastPathEnabled": False,
            "id": self.id,
            "numberBatchesCompleted": states.count("Completed"),
            "numberBatchesFailed": states.count("Failed"),
            "numberBatchesInProgress": states.count("InProgress"),
            "numberBatchesQueued": states.count("Queued"),
            "numberBatchesTotal": len(batches),
            "numberRecordsFailed": sum(b.failed for b in batches),
            "numberRecordsProcessed": sum(b.processed for b in batches),
            "numberRetries": 0,
            "object": self.object,
            "operation": self.operation,
            "state": self.state,
            "systemModstamp": rest_text(self.modstamp or self.created),
            "totalProcessingTime": sum(b.processing_ms for b in batches),
        }


class Bulk1Service:
    """The org's Bulk API 1.0 jobs."""

    def __init__(
        self,
        store: Callable[[], Store],
        catalog: Callable[[], Catalog],
        clock: SandboxClock,
        limits: Limits,
        writer: RecordWriter,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.clock = clock
        self.limits = limits
        self.writer = writer
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def _stamp(self) -> str:
        return to_storage(self.clock.now())

    # -- jobs ---------------------------------------------------------------------------------------------------

    def create_job(self, body: bytes, version: str, user_id: str) -> dict[str, Any]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise AsyncApiError(
                400, "InvalidJob", "Job requests must be JSON here (the sandbox does not speak the XML job format)"
            ) from None
        if not isinstance(request, dict):
            raise AsyncApiError(400, "InvalidJob", "The job request must be a JSON object")
        operation = request.get("operation")
        if operation not in (*INGEST_OPERATIONS, "query", "queryAll"):
            raise AsyncApiError(400, "InvalidJob", f"Invalid operation: {operation}")
        sobject = self._catalog().find(str(request.get("object") or ""))
        if sobject is None:
            raise AsyncApiError(400, "InvalidJob", f"Unable to find object: {request.get('object')}")
        content_type = str(request.get("contentType") or "CSV")
        if content_type not in CONTENT_TYPES:
            raise AsyncApiError(400, "InvalidJob", f"Unsupported content type here: {content_type}")
        concurrency = CONCURRENCY.get(str(request.get("concurrencyMode", "Parallel")))
        if concurrency is None:
            raise AsyncApiError(400, "InvalidJob", f"Invalid concurrency mode: {request.get('concurrencyMode')}")
        external = request.get("externalIdFieldName")
        if operation == "upsert":
            found = sobject.find(str(external or ""))
            if found is None or not (found.external_id or found.id_lookup):
                raise AsyncApiError(400, "InvalidJob", f"External ID was blank or invalid: {external}")
            external = found.name
        stamp = self._stamp()
        job = Job(
            id=_new_id("7505g"),
            operation=str(operation),
            object=sobject.name,
            content_type=content_type,
            concurrency=concurrency,
            created_by=user_id,
            created=stamp,
            modstamp=stamp,
            api_version=version,
            external_id=external if operation == "upsert" else None,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job.info()

    def job(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise AsyncApiError(400, "InvalidJob", f"Unable to find job: {job_id}")
        return job

    def change_state(self, job_id: str, body: bytes) -> dict[str, Any]:
        job = self.job(job_id)
        try:
            state = json.loads(body or b"{}").get("state")
        except (ValueError, AttributeError):
            raise AsyncApiError(400, "InvalidJob", "The state change must be a JSON object") from None
        if state not in ("Closed", "Aborted"):
            raise AsyncApiError(400, "InvalidJobState", f"Invalid state change: {state}")
        with job.lock:
            if job.state != "Open":
                raise AsyncApiError(400, "InvalidJobState", f"Job is not open: {job.state}")
            job.state, job.modstamp = state, self._stamp()
        return job.info()

    # -- batches ------------------------------------------------------------------------------------------------

    def add_batch(self, job_id: str, body: bytes) -> dict[str, Any]:
        job = self.job(job_id)
        with job.lock:
            if job.state != "Open":
                raise AsyncApiError(400, "InvalidJobState", f"Job {job_id} is not open: {job.state}")
            stamp = self._stamp()
            batch = Batch(id=_new_id("7515g"), job_id=job.id, created=stamp, modstamp=stamp, request=body)
            job.batches[batch.id] = batch
        self.limits.charge_batches(1)
        # Rendered before processing: Salesforce answers an upload with Queued, never with a later state.
        queued = batch.info()
        started = time.monotonic()
        batch.state = "InProgress"
        try:
            self._run_query(job, batch) if job.is_query else self._run_ingest(job, batch)
        except AsyncApiError as error:
            batch.state, batch.message = "Failed", f"{error.code} : {error.message}"
        except Exception as exc:  # a batch that breaks fails, as a Salesforce batch would
            batch.state, batch.message = "Failed", f"UNKNOWN_EXCEPTION : {exc}"
        else:
            batch.state = "Completed"
        batch.processing_ms = int((time.monotonic() - started) * 1000)
        batch.modstamp = self._stamp()
        return queued

    def batch(self, job_id: str, batch_id: str) -> Batch:
        batch = self.job(job_id).batches.get(batch_id)
        if batch is None:
            raise AsyncApiError(400, "InvalidBatch", f"Unable to find batch: {batch_id}")
        return batch

    def batches(self, job_id: str) -> dict[str, Any]:
        return {"batchInfo": [b.info() for b in self.job(job_id).batches.values()]}

    def results(self, job_id: str, batch_id: str) -> tuple[bytes, str]:
        """(body, media type) of ``.../result``: per-record results, or a query's result ids."""
        job, batch = self.job(job_id), self.batch(job_id, batch_id)
        if batch.state not in ("Completed", "Failed") or (job.is_query and batch.state != "Completed"):
            raise AsyncApiError(400, "InvalidBatch", f"Batch not completed: {batch.state}")
        if job.is_query:
            return json.dumps([batch.result_id]).encode(), "application/json"
        if job.content_type == "JSON":
            return json.dumps(batch.results).encode(), "application/json"
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["Id", "Success", "Created", "Error"])
        for result in batch.results:
            errors = "; ".join(f"{e['statusCode']}:{e['message']}" for e in result["errors"])
            writer.writerow(
                [result["id"] or "", str(result["success"]).lower(), str(result["created"]).lower(), errors]
            )
        return out.getvalue().encode(), "text/csv"

    def query_result(self, job_id: str, batch_id: str, result_id: str) -> tuple[bytes, str]:
        job, batch = self.job(job_id), self.batch(job_id, batch_id)
        if not job.is_query or batch.state != "Completed" or result_id != batch.result_id:
            raise AsyncApiError(400, "InvalidBatch", f"Unable to find result: {result_id}")
        return batch.result_body, "application/json" if job.content_type == "JSON" else "text/csv"

    # -- processing ---------------------------------------------------------------------------------------------

    def _run_query(self, job: Job, batch: Batch) -> None:
        text = batch.request.decode("utf-8", "replace").strip()
        try:
            compiled = compile_query(
                text, self._catalog(), include_deleted=job.operation == "queryAll", today=self.clock.today()
            )
        except SoqlError as error:
            raise AsyncApiError(400, "InvalidBatch", f"Failed to process query: {error.located(text)}") from None
        if compiled.sobject.name != job.object:
            raise AsyncApiError(400, "InvalidBatch", f"The query's object is not the job's: {job.object}")
        if compiled.count_only or compiled.offset:
            raise AsyncApiError(400, "InvalidBatch", "Aggregate queries and OFFSET are not supported by Bulk API")
        if compiled.compound_fields():
            raise AsyncApiError(400, "InvalidBatch", COMPOUND_FAILURE)
        render = _json_records if job.content_type == "JSON" else _csv_records
        with self._store().snapshot() as conn:
            batch.result_body, batch.processed = render(conn, compiled, self.clock, job.api_version)
        batch.result_id = _new_id("7525g")

    def _run_ingest(self, job: Job, batch: Batch) -> None:
        sobject = self._catalog().get(job.object)
        records = _json_batch(batch.request) if job.content_type == "JSON" else _csv_batch(batch.request)
        if len(records) > MAX_BATCH_RECORDS:
            raise AsyncApiError(400, "InvalidBatch", f"Records in a batch exceed {MAX_BATCH_RECORDS}")
        names = {name for record in records for name in record}
        unknown = sorted(n for n in names if not sobject.has(n))
        if unknown:
            raise AsyncApiError(400, "InvalidBatch", f"Field name not found : {unknown[0]}")
        if job.operation in ("delete", "hardDelete") and {n.lower() for n in names} - {"id"}:
            raise AsyncApiError(400, "InvalidBatch", f"The '{job.operation}' batch must contain only 'Id' column")
        for start in range(0, len(records), CHUNK_ROWS):
            stamp = self.clock.now()
            for values in records[start : start + CHUNK_ROWS]:
                batch.results.append(self._ingest_record(job, sobject, values, stamp))
        batch.processed = len(records)
        batch.failed = sum(not r["success"] for r in batch.results)

    def _ingest_record(self, job: Job, sobject: SObjectType, values: dict[str, Any], stamp: Any) -> dict[str, Any]:
        from lumina_sandbox.salesforce.errors import ApiError

        try:
            record_id, created = write_record(
                self.writer, sobject, job.operation, values, job.external_id, job.created_by, stamp
            )
        except ApiError as error:
            failure = {"fields": error.fields, "message": error.message, "statusCode": error.error_code}
            return {
                "success": False,
                "created": False,
                "id": target_id(job.operation, values) or None,
                "errors": [failure],
            }
        return {"success": True, "created": created, "id": record_id, "errors": []}


def _json_batch(body: bytes) -> list[dict[str, Any]]:
    try:
        records = json.loads(body)
    except ValueError as error:
        raise AsyncApiError(400, "InvalidBatch", f"Failed to parse the JSON batch: {error}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise AsyncApiError(400, "InvalidBatch", "A JSON batch is an array of records (objects)")
    return [{k: v for k, v in r.items() if k != "attributes"} for r in records]


def _csv_batch(body: bytes) -> list[dict[str, Any]]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    if not rows or not rows[0]:
        raise AsyncApiError(400, "InvalidBatch", "The CSV batch has no header row")
    return [csv_values(rows[0], row) for row in rows[1:] if row]


def _epoch_ms(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    else:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(moment.timestamp() * 1000)


def _json_records(conn: Any, compiled: Compiled, clock: SandboxClock, version: str) -> tuple[bytes, int]:
    """The REST rendering of each record, with date and datetime fields as epoch milliseconds (Bulk 1.0 JSON)."""
    columns = ", ".join(json_columns(compiled.sobject, compiled.fields))
    sql = f"SELECT {columns} FROM {compiled.sobject.table} t WHERE {compiled.where} {compiled.tail()}"
    params = {**compiled.params, "today": clock.today().isoformat(), "ver": version}
    temporal = [(f.name, f.type) for f in compiled.fields if f.type in ("date", "datetime")]
    records = []
    for row in conn.execute(sql, params):
        record = json.loads(record_json(row))
        for name, kind in temporal:
            record[name] = _epoch_ms(record.get(name), kind)
        records.append(record)
    return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode(), len(records)


def _csv_records(conn: Any, compiled: Compiled, clock: SandboxClock, version: str) -> tuple[bytes, int]:
    columns = ", ".join(csv_columns(compiled.fields, ","))
    sql = f"SELECT {columns} FROM {compiled.sobject.table} t WHERE {compiled.where} {compiled.tail()}"
    params = {**compiled.params, "today": clock.today().isoformat()}
    lines = [",".join(row) for row in conn.execute(sql, params)]
    text = "\n".join([csv_header(compiled.fields, ","), *lines]) + "\n"
    return text.encode(), len(lines)
