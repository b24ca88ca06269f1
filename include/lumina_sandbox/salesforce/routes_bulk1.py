"""Bulk API 1.0 routes under ``/services/async/vNN.N/job`` (see :mod:`lumina_sandbox.salesforce.bulk1`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.salesforce.app import json_response
from lumina_sandbox.salesforce.bulk1 import Bulk1Service
from lumina_sandbox.salesforce.org import Org

router = APIRouter(prefix="/services/async/{version}/job")


def _bulk(request: Request) -> Bulk1Service:
    org: Org = request.app.state.org
    return org.bulk1


@router.post("")
async def create_job(version: str, request: Request) -> Response:
    body = await request.body()
    return json_response(_bulk(request).create_job(body, version, request.state.user_id), 201)


@router.get("/{job_id}")
def job(version: str, job_id: str, request: Request) -> Response:
    return json_response(_bulk(request).job(job_id).info())


@router.post("/{job_id}")
async def change_job(version: str, job_id: str, request: Request) -> Response:
    return json_response(_bulk(request).change_state(job_id, await request.body()))


@router.post("/{job_id}/batch")
async def add_batch(version: str, job_id: str, request: Request) -> Response:
    org: Org = request.app.state.org
    body = await request.body()
    await run_in_threadpool(org.maintain)
    return json_response(await run_in_threadpool(org.bulk1.add_batch, job_id, body), 201)


@router.get("/{job_id}/batch")
def batches(version: str, job_id: str, request: Request) -> Response:
    return json_response(_bulk(request).batches(job_id))


@router.get("/{job_id}/batch/{batch_id}")
def batch(version: str, job_id: str, batch_id: str, request: Request) -> Response:
    return json_response(_bulk(request).batch(job_id, batch_id).info())


@router.get("/{job_id}/batch/{batch_id}/request")
def batch_request(version: str, job_id: str, batch_id: str, request: Request) -> Response:
    bulk = _bulk(request)
    media = "application/json" if bulk.job(job_id).content_type == "JSON" else "text/csv"
    return Response(bulk.batch(job_id, batch_id).request, media_type=media)


@router.get("/{job_id}/batch/{batch_id}/result")
def batch_result(version: str, job_id: str, batch_id: str, request: Request) -> Response:
    body, media = _bulk(request).results(job_id, batch_id)
    return Response(body, media_type=media)


@router.get("/{job_id}/batch/{batch_id}/result/{result_id}")
def query_result(version: str, job_id: str, batch_id: str, result_id: str, request: Request) -> Response:
    body, media = _bulk(request).query_result(job_id, batch_id, result_id)
    return Response(body, media_type=media)
