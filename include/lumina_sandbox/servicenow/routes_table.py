"""The Table API (``/api/now[/v1|/v2]/table/{table}[/{sys_id}]``) and the Aggregate API's count
(``/api/now[/v1|/v2]/stats/{table}?sysparm_count=true``).

Lists answer ``{"result": [...]}`` with ``X-Total-Count`` and ``Link`` (first/prev/next/last); a single record
``{"result": {...}}`` or 404 ``No Record found``. Writes: POST creates (201), PUT/PATCH update, DELETE deletes
(204; audited tables record it in ``sys_audit_delete``); fields the table lacks are ignored, as the instance does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.common.routes_control import json_body
from lumina_sandbox.servicenow.app import json_response
from lumina_sandbox.servicenow.errors import SnowError, invalid_table, no_record
from lumina_sandbox.servicenow.instance import Instance
from lumina_sandbox.servicenow.tableapi import (
    ListRequest,
    count_records,
    get_record,
    link_header,
    list_records,
)

MAX_BODY_BYTES = 1 << 20
PREFIXES = ("/api/now", "/api/now/v1", "/api/now/v2")
router = APIRouter()


def _instance(request: Request) -> Instance:
    instance: Instance = request.app.state.instance
    return instance


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _user(request: Request) -> str:
    return str(request.scope.get("state", {}).get("user", "admin"))


def _payload_error(status: int, code: str, message: str) -> SnowError:
    return SnowError(status, "Exception while reading request", message)


async def _body(request: Request) -> dict[str, Any]:
    return await json_body(request, _payload_error, MAX_BODY_BYTES)


async def list_table(table: str, request: Request) -> Response:
    instance, params = _instance(request), _params(request)
    listing = ListRequest.from_params(table, params, instance.max_limit)
    result = await run_in_threadpool(list_records, instance, listing)
    headers: dict[str, str] = {}
    if result.total is not None:
        headers["X-Total-Count"] = str(result.total)
    link = link_header(f"{instance.base_url}{request.url.path}", params, listing, result.total)
    if link is not None:
        headers["Link"] = link
    return json_response({"result": result.records}, 200, headers)


async def read_record(table: str, sys_id: str, request: Request) -> Response:
    instance = _instance(request)
    record = await run_in_threadpool(get_record, instance, table, sys_id, _params(request))
    if record is None:
        raise no_record()
    return json_response({"result": record})


def _known(instance: Instance, table: str) -> None:
    if table not in instance.catalog.tables:
        raise invalid_table(table)


async def create_record(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    _known(instance, table)
    created = await run_in_threadpool(
        lambda: instance.writer.create(table, [body], user=_user(request), strict=False)[0]
    )
    record = await run_in_threadpool(get_record, instance, table, created, _params(request))
    location = f"{instance.base_url}/api/now/table/{table}/{created}"
    return json_response({"result": record}, 201, {"Location": location})


async def update_record(table: str, sys_id: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    _known(instance, table)
    body["sys_id"] = sys_id
    changed = await run_in_threadpool(lambda: instance.writer.update(table, [body], user=_user(request), strict=False))
    if not changed:
        raise no_record()
    record = await run_in_threadpool(get_record, instance, table, sys_id, _params(request))
    return json_response({"result": record})


async def delete_record(table: str, sys_id: str, request: Request) -> Response:
    instance = _instance(request)
    _known(instance, table)
    removed = await run_in_threadpool(lambda: instance.writer.delete(table, [sys_id], user=_user(request)))
    if not removed:
        raise no_record()
    return Response(status_code=204)


async def stats(table: str, request: Request) -> Response:
    instance, params = _instance(request), _params(request)
    total = await run_in_threadpool(count_records, instance, table, params.get("sysparm_query", ""))
    return json_response({"result": {"stats": {"count": str(total)}}})


for _prefix in PREFIXES:
    router.add_api_route(f"{_prefix}/table/{{table}}", list_table, methods=["GET"])
    router.add_api_route(f"{_prefix}/table/{{table}}", create_record, methods=["POST"])
    router.add_api_route(f"{_prefix}/table/{{table}}/{{sys_id}}", read_record, methods=["GET"])
    router.add_api_route(f"{_prefix}/table/{{table}}/{{sys_id}}", update_record, methods=["PUT", "PATCH"])
    router.add_api_route(f"{_prefix}/table/{{table}}/{{sys_id}}", delete_record, methods=["DELETE"])
    router.add_api_route(f"{_prefix}/stats/{{table}}", stats, methods=["GET"])
