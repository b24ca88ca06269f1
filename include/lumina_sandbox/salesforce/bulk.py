"""Bulk API 2.0 jobs: query jobs (CSV results with locators) and ingest jobs (CSV uploads written back).

A query job is validated when created (a bad SOQL is a 400 like REST), then processed by a worker thread:
UploadComplete -> InProgress -> JobComplete (or Failed with ``errorMessage``, or Aborted). Processing reads one
consistent snapshot and writes the whole result as a CSV file (SQLite renders every cell), so results are a
snapshot taken when the job completes and any page can be fetched again until the job is deleted. A locator is
the base64 of a record offset, as Salesforce's are. Compound fields fail the job as in Salesforce.

An ingest job (insert, update, upsert, delete, hardDelete) takes one CSV upload, runs after UploadComplete in
chunks of 200 records that share one SystemModstamp, and reports per-row successes and failures.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import itertools
import secrets
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumina_integration.private import private_dir
from lumina_sandbox.salesforce.clock import SandboxClock, rest_text, to_storage
from lumina_sandbox.salesforce.errors import ApiError, not_found
from lumina_sandbox.salesforce.faults import Faults
from lumina_sandbox.salesforce.ids import checksum
from lumina_sandbox.salesforce.limits import Limits
from lumina_sandbox.salesforce.records import RecordWriter
from lumina_sandbox.salesforce.schema import Catalog, SObjectType
from lumina_sandbox.salesforce.soql import SoqlError
from lumina_sandbox.salesforce.sql import Compiled, compile_query, csv_columns, csv_header
from lumina_sandbox.salesforce.store import Store

TERMINAL = ("JobComplete", "Failed", "Aborted")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
COMPOUND_FAILURE = "FUNCTIONALITY_NOT_ENABLED: Selecting compound data not supported in Bulk Query"
TIMEOUT_FAILURE = "QUERY_TIMEOUT: Your query request was running for too long."
CHUNK_ROWS = 200
_FETCH = 10_000


def _job_id() -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    id15 = "7505g" + "".join(secrets.choice(alphabet) for _ in range(10))
    return id15 + checksum(id15)


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except ValueError:
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None


@dataclass
class Job:
    """What query and ingest jobs share: identity, state, timing and the Salesforce job-info rendering."""

    id: str
    operation: str
    object: str
    created_by: str
    created: str
    api_version: str
    line_ending: str = "LF"
    column_delimiter: str = "COMMA"
    state: str = "UploadComplete"
    modstamp: str = ""
    error: str | None = None
    processed: int = 0
    processing_ms: int = 0
    aborted: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_state(self, state: str, stamp: str) -> None:
        with self.lock:
            self.state, self.modstamp = state, stamp

    def base_info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": rest_text(self.created),
            "systemModstamp": rest_text(self.modstamp or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
        }


@dataclass
class QueryJob(Job):
    query: str = ""
    compiled: Compiled | None = None
    path: Path | None = None
    header: bytes = b""
    offsets: array[int] = field(default_factory=lambda: array("q", [0]))

    def info(self, *, full: bool) -> dict[str, Any]:
        info = {**self.base_info(), "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter}
        if full:
            info.update(
                {
                    "jobType": "V2Query",
                    "numberRecordsProcessed": self.processed,
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                    "isPkChunkingSupported": True,
                }
            )
            if self.error:
                info["errorMessage"] = self.error
        return info


@dataclass
class IngestJob(Job):
    external_id: str | None = None
    data: bytes | None = None
    header_row: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)

    def info(self, *, full: bool) -> dict[str, Any]:
        info = self.base_info()
        if self.external_id:
            info["externalIdFieldName"] = self.external_id
        info.update(
            {
                "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                "lineEnding": self.line_ending,
                "columnDelimiter": self.column_delimiter,
            }
        )
        if full:
            info.update(
                {
                    "jobType": "V2Ingest",
                    "numberRecordsProcessed": self.processed,
                    "numberRecordsFailed": len(self.failures),
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                    "apiActiveProcessingTime": self.processing_ms,
                    "apexProcessingTime": 0,
                }
            )
            if self.error:
                info["errorMessage"] = self.error
        return info


class BulkService:
    """The org's Bulk 2.0 jobs and the worker threads that process them."""

    def __init__(
        self,
        store: Callable[[], Store],
        catalog: Callable[[], Catalog],
        clock: SandboxClock,
        faults: Faults,
        limits: Limits,
        writer: RecordWriter,
        directory: Path,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.clock = clock
        self.faults = faults
        self.limits = limits
        self.writer = writer
        self.directory = directory
        private_dir(self.directory)
        self.processing_delay = 0.0
        self._jobs: dict[str, QueryJob | IngestJob] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bulk-job")

    def _stamp(self) -> str:
        return to_storage(self.clock.now())

    # -- query jobs ---------------------------------------------------------------------------------------------

    def create_query(self, body: dict[str, Any], version: str, user_id: str) -> dict[str, Any]:
        operation = body.get("operation", "query")
        if operation not in ("query", "queryAll"):
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        delimiter = body.get("columnDelimiter") or "COMMA"
        ending = body.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS or ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : Invalid columnDelimiter or lineEnding")
        text = body.get("query") or ""
        if not text:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : Query is required for query jobs")
        try:
            compiled = compile_query(
                text, self._catalog(), include_deleted=operation == "queryAll", today=self.clock.today()
            )
        except SoqlError as error:
            raise ApiError(400, error.error_code, error.located(text)) from None
        if compiled.count_only or compiled.offset:
            raise ApiError(
                400, "INVALIDJOB", "InvalidJob : Aggregate queries and OFFSET are not supported by Bulk API 2.0 query"
            )
        self.limits.charge_bulk_query_job()
        stamp = self._stamp()
        job = QueryJob(
            id=_job_id(),
            operation=operation,
            object=compiled.sobject.name,
            created_by=user_id,
            created=stamp,
            modstamp=stamp,
            api_version=version,
            line_ending=ending,
            column_delimiter=delimiter,
            query=text,
            compiled=compiled,
        )
        with self._lock:
            self._jobs[job.id] = job
        # Rendered before the job starts: Salesforce answers a creation with UploadComplete, never with
        # a state the job reached in the meantime.
        created = job.info(full=False)
        self._executor.submit(self._guarded, self._run_query, job)
        return created

    def _guarded(self, run: Callable[[Any], None], job: Job) -> None:
        try:
            run(job)
        except Exception as exc:  # a job that breaks fails, as a Salesforce job would
            job.error = f"UNKNOWN_EXCEPTION: {exc}"
            job.set_state("Failed", self._stamp())

    def _wait_to_start(self, job: Job) -> bool:
        deadline = time.monotonic() + self.processing_delay
        while time.monotonic() < deadline:
            if job.aborted.wait(0.01):
                return False
        return not job.aborted.is_set()

    def _run_query(self, job: QueryJob) -> None:
        if not self._wait_to_start(job):
            return
        assert job.compiled is not None
        compiled = job.compiled
        job.set_state("InProgress", self._stamp())
        started = time.monotonic()
        if compiled.compound_fields():
            job.error = COMPOUND_FAILURE
            job.set_state("Failed", self._stamp())
            return
        delimiter = DELIMITERS[job.column_delimiter]
        ending = LINE_ENDINGS[job.line_ending]
        path = self.directory / f"{job.id}.csv"
        offsets = array("q", [0])
        position = 0
        with self._store().snapshot() as conn:
            params = {**compiled.params, "today": self.clock.today().isoformat()}
            total = int(conn.execute(compiled.count_sql(), params).fetchone()[0])
            if self.faults.query_timeout("bulk_create", total):
                job.error = TIMEOUT_FAILURE
                job.set_state("Failed", self._stamp())
                return
            columns = ", ".join(csv_columns(compiled.fields, delimiter))
            sql = f"SELECT {columns} FROM {compiled.sobject.table} t WHERE {compiled.where} {compiled.tail()}"
            conn.text_factory = bytes  # the cells arrive as UTF-8 bytes, ready to write
            cursor = conn.execute(sql, params)
            glue, end = delimiter.encode(), ending.encode()
            with path.open("wb") as out:
                while rows := cursor.fetchmany(_FETCH):
                    if job.aborted.is_set():
                        break
                    lines = [row[0] + end for row in rows] if len(rows[0]) == 1 else [glue.join(r) + end for r in rows]
                    ends = list(itertools.accumulate(map(len, lines), initial=position))
                    offsets.extend(ends[1:])
                    position = ends[-1]
                    out.write(b"".join(lines))
        if job.aborted.is_set():
            path.unlink(missing_ok=True)
            return
        job.path = path
        job.header = (csv_header(compiled.fields, delimiter) + ending).encode()
        job.offsets = offsets
        job.processed = len(offsets) - 1
        job.processing_ms = int((time.monotonic() - started) * 1000)
        self.limits.add_storage(position + len(job.header))
        job.set_state("JobComplete", self._stamp())

    def results(
        self, job_id: str, locator: str | None, max_records: str | None
    ) -> tuple[Iterator[bytes], int, str, int]:
        """(body chunks, body length, next locator or "null", records in this page) of a completed job."""
        job = self._query_job(job_id)
        if job.state != "JobComplete" or job.path is None:
            raise ApiError(400, "INVALIDJOBSTATE", f"Job is not in JobComplete state: {job.state}")
        total = len(job.offsets) - 1
        start = decode_locator(locator) if locator else 0
        if start < 0 or start > total:
            raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
        if max_records not in (None, ""):
            try:
                limit = int(max_records)
            except ValueError:
                raise ApiError(400, "INVALIDPARAMETER", f"Invalid maxRecords: {max_records}") from None
            if limit <= 0:
                raise ApiError(400, "INVALIDPARAMETER", f"Invalid maxRecords: {max_records}")
        else:
            limit = total
        end = min(start + limit, total)
        first, last = job.offsets[start], job.offsets[end]
        next_locator = encode_locator(end) if end < total else "null"
        return (
            _file_chunks(job.header, job.path, first, last),
            len(job.header) + last - first,
            next_locator,
            end - start,
        )

    def _query_job(self, job_id: str) -> QueryJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if not isinstance(job, QueryJob):
            raise not_found()
        return job

    def _ingest_job(self, job_id: str) -> IngestJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if not isinstance(job, IngestJob):
            raise not_found()
        return job

    def query_info(self, job_id: str) -> dict[str, Any]:
        return self._query_job(job_id).info(full=True)

    def list_jobs(self, kind: str) -> dict[str, Any]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if isinstance(j, QueryJob if kind == "query" else IngestJob)]
        records = [j.info(full=False) for j in jobs]
        return {"done": True, "records": records, "nextRecordsUrl": None}

    def change_state(self, job_id: str, kind: str, state: str | None) -> dict[str, Any]:
        """PATCH a job: ``Aborted`` (any job not finished) or ``UploadComplete`` (an open ingest job)."""
        job: Job = self._query_job(job_id) if kind == "query" else self._ingest_job(job_id)
        if state == "Aborted":
            if job.state in TERMINAL:
                raise ApiError(400, "INVALIDJOBSTATE", f"Job is already in a terminal state: {job.state}")
            job.aborted.set()
            job.set_state("Aborted", self._stamp())
        elif state == "UploadComplete" and isinstance(job, IngestJob):
            if job.state != "Open":
                raise ApiError(400, "INVALIDJOBSTATE", f"Job is not in Open state: {job.state}")
            job.set_state("UploadComplete", self._stamp())
            self._executor.submit(self._guarded, self._run_ingest, job)
        else:
            raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state change: {state}")
        if isinstance(job, QueryJob):
            return job.info(full=False)
        assert isinstance(job, IngestJob)
        return job.info(full=False)

    def delete(self, job_id: str, kind: str) -> None:
        job: Job = self._query_job(job_id) if kind == "query" else self._ingest_job(job_id)
        if job.state not in TERMINAL and not (isinstance(job, IngestJob) and job.state == "Open"):
            raise ApiError(400, "INVALIDJOBSTATE", f"Job cannot be deleted in state {job.state}")
        with self._lock:
            self._jobs.pop(job_id, None)
        if isinstance(job, QueryJob) and job.path is not None:
            job.path.unlink(missing_ok=True)

    # -- ingest jobs --------------------------------------------------------------------------------------------

    def create_ingest(self, body: dict[str, Any], version: str, user_id: str) -> dict[str, Any]:
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        sobject = self._catalog().find(str(body.get("object") or ""))
        if sobject is None:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid object: {body.get('object')}")
        external = body.get("externalIdFieldName")
        if operation == "upsert":
            field_ = sobject.find(str(external or ""))
            if field_ is None or not (field_.external_id or field_.id_lookup):
                raise ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank or invalid: {external}")
            external = field_.name
        delimiter = body.get("columnDelimiter") or "COMMA"
        ending = body.get("lineEnding") or "LF"
        if delimiter not in DELIMITERS or ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : Invalid columnDelimiter or lineEnding")
        stamp = self._stamp()
        job = IngestJob(
            id=_job_id(),
            operation=operation,
            object=sobject.name,
            created_by=user_id,
            created=stamp,
            modstamp=stamp,
            api_version=version,
            line_ending=ending,
            column_delimiter=delimiter,
            state="Open",
            external_id=external if operation == "upsert" else None,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job.info(full=False)

    def upload(self, job_id: str, data: bytes) -> None:
        job = self._ingest_job(job_id)
        if job.state != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", f"Job is not in Open state: {job.state}")
        if job.data is not None:
            raise ApiError(400, "INVALIDJOBSTATE", "Only one upload of data is allowed per job")
        job.data = data

    def ingest_info(self, job_id: str) -> dict[str, Any]:
        return self._ingest_job(job_id).info(full=True)

    def _run_ingest(self, job: IngestJob) -> None:
        if not self._wait_to_start(job):
            return
        job.set_state("InProgress", self._stamp())
        started = time.monotonic()
        sobject = self._catalog().get(job.object)
        text = (job.data or b"").decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter])
        header = next(reader, [])
        job.header_row = header
        unknown = [h for h in header if not sobject.has(h)]
        if not header or unknown:
            job.error = f"InvalidBatch : Field name not found : {unknown[0] if unknown else '(no header)'}"
            job.set_state("Failed", self._stamp())
            return
        if job.operation in ("delete", "hardDelete") and [h.lower() for h in header] != ["id"]:
            job.error = "InvalidBatch : The 'delete' batch must contain only 'Id' column"
            job.set_state("Failed", self._stamp())
            return
        rows = [row for row in reader if row]
        for start in range(0, len(rows), CHUNK_ROWS):
            if job.aborted.is_set():
                job.unprocessed.extend(rows[start:])
                break
            stamp = self.clock.now()
            for row in rows[start : start + CHUNK_ROWS]:
                self._ingest_row(job, sobject.name, header, row, stamp)
                job.processed += 1
        self.limits.charge_batches(max(1, -(-len(rows) // 10_000)))
        job.processing_ms = int((time.monotonic() - started) * 1000)
        if not job.aborted.is_set():
            job.set_state("JobComplete", self._stamp())

    def _ingest_row(self, job: IngestJob, name: str, header: list[str], row: list[str], stamp: Any) -> None:
        values = csv_values(header, row)
        try:
            record_id, created = write_record(
                self.writer, self._catalog().get(name), job.operation, values, job.external_id, job.created_by, stamp
            )
            job.successes.append([record_id, "true" if created else "false", *row])
        except ApiError as error:
            message = f"{error.error_code}:{error.message}:{','.join(error.fields)} --"
            job.failures.append([target_id(job.operation, values), message, *row])

    def ingest_results(self, job_id: str, kind: str) -> bytes:
        """successfulResults / failedResults / unprocessedrecords as CSV."""
        job = self._ingest_job(job_id)
        if kind == "unprocessedrecords":
            head, rows = job.header_row, job.unprocessed
            if job.state == "Open" or (job.state == "Aborted" and job.data and not job.header_row):
                text = (job.data or b"").decode("utf-8-sig")
                parsed = list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter]))
                head, rows = (parsed[0], parsed[1:]) if parsed else ([], [])
        else:
            if job.state not in TERMINAL:
                raise ApiError(400, "INVALIDJOBSTATE", f"Job is not in a terminal state: {job.state}")
            second = "sf__Created" if kind == "successfulResults" else "sf__Error"
            head = ["sf__Id", second, *job.header_row]
            rows = job.successes if kind == "successfulResults" else job.failures
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=LINE_ENDINGS[job.line_ending])
        if head:
            writer.writerow(head)
        writer.writerows(rows)
        return out.getvalue().encode()

    def close(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            job.aborted.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for path in self.directory.glob("*.csv"):
            with contextlib.suppress(OSError):
                path.unlink()


def _id_of(values: dict[str, Any]) -> str:
    record_id = next((v for k, v in values.items() if k.lower() == "id"), None)
    if not record_id:
        raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    return str(record_id)


def csv_values(header: list[str], row: list[str]) -> dict[str, Any]:
    """One CSV row of an ingest upload as field values: ``#N/A`` sets null, an empty cell leaves a field alone."""
    values: dict[str, Any] = {}
    for column, value in zip(header, row, strict=False):
        if value == "#N/A":
            values[column] = None
        elif value != "":
            values[column] = value
    return values


def target_id(operation: str, values: dict[str, Any]) -> str:
    """The id a failed row names in its result: the record's own for update and deletes, else none."""
    if operation in ("update", "delete", "hardDelete"):
        return str(next((v for k, v in values.items() if k.lower() == "id"), None) or "")
    return ""


def write_record(
    writer: RecordWriter,
    sobject: SObjectType,
    operation: str,
    values: dict[str, Any],
    external_id: str | None,
    actor: str,
    stamp: Any,
) -> tuple[str, bool]:
    """Apply one ingest record (either Bulk API's); returns (record id, created). Raises ApiError per record."""
    if operation == "insert":
        return writer.create(sobject, [values], actor=actor, modstamp=stamp)[0], True
    if operation == "update":
        record_id = _id_of(values)
        writer.update(sobject, [values], actor=actor, modstamp=stamp)
        return record_id, False
    if operation == "upsert":
        assert external_id is not None
        key = next((k for k in values if k.lower() == external_id.lower()), None)
        if key is None and external_id.lower() != "id":
            raise ApiError(400, "MISSING_ARGUMENT", f"{external_id} not specified", [external_id])
        # Upserting on Id without one creates the record, as Salesforce does.
        return writer.upsert(sobject, external_id, values[key] if key else "", values, actor=actor, modstamp=stamp)
    record_id = _id_of(values)
    if operation == "delete":
        writer.delete(sobject, [record_id], actor=actor, modstamp=stamp)
    else:
        writer.purge(sobject, [record_id])
    return record_id, False


def _file_chunks(header: bytes, path: Path, start: int, end: int, size: int = 1 << 20) -> Iterator[bytes]:
    yield header
    with path.open("rb") as source:
        source.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = source.read(min(size, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
