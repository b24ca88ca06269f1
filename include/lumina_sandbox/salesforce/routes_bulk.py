"""Bulk API 2.0 routes under ``/services/data/vNN.N/jobs/``: query jobs and ingest jobs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.salesforce.app import json_response
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.org import Org

router = APIRouter(prefix="/services/data/v{version}/jobs")
RESULT_KINDS = {
    "successfulresults": "successfulResults",
    "failedresults": "failedResults",
    "unprocessedrecords": "unprocessedrecords",
}


def _org(request: Request) -> Org:
    org: Org = request.app.state.org
    return org


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as error:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of job from START_ARRAY")
    return body


# -- query jobs ---------------------------------------------------------------------------------------------------


@router.post("/query")
async def create_query_job(version: str, request: Request) -> Response:
    org = _org(request)
    body = await _json_body(request)
    await run_in_threadpool(org.maintain)
    info = await run_in_threadpool(org.bulk.create_query, body, version, request.state.user_id)
    return json_response(info)


@router.get("/query")
def list_query_jobs(version: str, request: Request) -> Response:
    return json_response(_org(request).bulk.list_jobs("query"))


@router.get("/query/{job_id}")
def query_job(version: str, job_id: str, request: Request) -> Response:
    return json_response(_org(request).bulk.query_info(job_id))


@router.patch("/query/{job_id}")
async def change_query_job(version: str, job_id: str, request: Request) -> Response:
    body = await _json_body(request)
    return json_response(_org(request).bulk.change_state(job_id, "query", body.get("state")))


@router.delete("/query/{job_id}")
def delete_query_job(version: str, job_id: str, request: Request) -> Response:
    _org(request).bulk.delete(job_id, "query")
    return Response(status_code=204)


@router.get("/query/{job_id}/results")
def query_results(version: str, job_id: str, request: Request) -> Response:
    chunks, length, locator, count = _org(request).bulk.results(
        job_id, request.query_params.get("locator"), request.query_params.get("maxRecords")
    )
    headers = {
        "Content-Length": str(length),
        "Sforce-Locator": locator,
        "Sforce-NumberOfRecords": str(count),
    }
    return StreamingResponse(chunks, media_type="text/csv", headers=headers)


# -- ingest jobs --------------------------------------------------------------------------------------------------


@router.post("/ingest")
async def create_ingest_job(version: str, request: Request) -> Response:
    body = await _json_body(request)
    return json_response(_org(request).bulk.create_ingest(body, version, request.state.user_id))


@router.get("/ingest")
def list_ingest_jobs(version: str, request: Request) -> Response:
    return json_response(_org(request).bulk.list_jobs("ingest"))


@router.put("/ingest/{job_id}/batches")
async def upload(version: str, job_id: str, request: Request) -> Response:
    _org(request).bulk.upload(job_id, await request.body())
    return Response(status_code=201)


@router.patch("/ingest/{job_id}")
async def change_ingest_job(version: str, job_id: str, request: Request) -> Response:
    body = await _json_body(request)
    return json_response(_org(request).bulk.change_state(job_id, "ingest", body.get("state")))


@router.get("/ingest/{job_id}")
def ingest_job(version: str, job_id: str, request: Request) -> Response:
    return json_response(_org(request).bulk.ingest_info(job_id))


@router.delete("/ingest/{job_id}")
def delete_ingest_job(version: str, job_id: str, request: Request) -> Response:
    _org(request).bulk.delete(job_id, "ingest")
    return Response(status_code=204)


@router.get("/ingest/{job_id}/{kind}")
def ingest_results(version: str, job_id: str, kind: str, request: Request) -> Response:
    canonical_kind = RESULT_KINDS.get(kind.lower())
    if canonical_kind is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return Response(_org(request).bulk.ingest_results(job_id, canonical_kind), media_type="text/csv")
