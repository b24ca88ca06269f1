"""The control API under ``/_sandbox/`` (not part of ServiceNow): drive the instance from tests and demos.

Every call needs ``X-Sandbox-Control-Key`` (401 without it). Datetimes are ISO-8601 text; ``stamp`` sets the
``sys_updated_on`` (and ``sys_created_on``) of a write, default the instance's now. ``ServiceNowControl`` is the
Python client of these endpoints. Shared with every sandbox (``common.routes_control``): ``clock``, ``faults``,
``requests``, ``hooks``, ``status``, ``settings``, ``reset``, ``sessions/expire``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from lumina_sandbox.common import routes_control as common
from lumina_sandbox.common.routes_control import moment
from lumina_sandbox.servicenow.app import json_response
from lumina_sandbox.servicenow.errors import control_error
from lumina_sandbox.servicenow.instance import Instance

router = common.control_router("/_sandbox", control_error)


def _render(value: Any, status: int) -> Response:
    return json_response(value, status)


def _instance(request: Request) -> Instance:
    instance: Instance = request.app.state.instance
    return instance


async def _body(request: Request) -> dict[str, Any]:
    return await common.json_body(request, control_error)


async def _run(call: Callable[[], Any]) -> Any:
    return await common.run_blocking(call, control_error)


common.add_clock_routes(router, lambda request: _instance(request).clock, _render, control_error)
common.add_fault_routes(router, lambda request: _instance(request).faults, _render, control_error)
common.add_request_count_routes(router, _instance, _render)
common.add_hook_routes(router, _instance, _render, control_error)
common.add_admin_routes(router, _instance, _render, control_error)


@router.get("/credentials")
async def credentials(request: Request) -> Response:
    instance = _instance(request)
    return json_response({**instance.auth.credentials.as_dict(), "instance_url": instance.base_url})


@router.post("/tables/{table}/generate")
async def generate(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    made = await _run(lambda: instance.generate_records(table, int(body.get("count", 0))))
    return json_response({"generated": made})


@router.post("/tables/{table}/create")
async def create(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    sys_ids = await _run(lambda: instance.create(table, list(body.get("records", [])), stamp=moment(body.get("stamp"))))
    return json_response({"sys_ids": sys_ids})


@router.post("/tables/{table}/update")
async def update(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    changed = await _run(
        lambda: instance.update(
            table, list(body.get("changes", [])), stamp=moment(body.get("stamp")), touch=bool(body.get("touch", True))
        )
    )
    return json_response({"updated": changed})


@router.post("/tables/{table}/delete")
async def delete(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    audit = body.get("audit")
    removed = await _run(
        lambda: instance.delete(
            table,
            [str(s) for s in body.get("sys_ids", [])],
            stamp=moment(body.get("stamp")),
            audit=None if audit is None else bool(audit),
        )
    )
    return json_response({"deleted": removed})


@router.post("/tables/{table}/fields")
async def add_field(table: str, request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    row = await _run(lambda: instance.add_field(table, dict(body.get("field", {})), body.get("value")))
    return json_response(row)


@router.get("/tables/{table}/truth")
async def truth(table: str, request: Request) -> Response:
    instance = _instance(request)
    fields = request.query_params.get("fields")
    names = [f for f in fields.split(",") if f] if fields else None
    return json_response(await _run(lambda: instance.truth(table, names)))


@router.get("/tables/{table}/ids")
async def ids(table: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response(sorted(await _run(lambda: instance.ids_of(table))))


@router.get("/tables/{table}/deleted")
async def deleted(table: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response(sorted(await _run(lambda: instance.deleted_ids(table))))


@router.get("/tables/{table}/count")
async def count(table: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response({"count": await _run(lambda: instance.count(table))})


@router.post("/rate_limit")
async def rate_limit(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    per_hour = body.get("per_hour")
    instance.rate_limit.set(None if per_hour is None else int(per_hour))
    return json_response({"per_hour": instance.rate_limit.per_hour, "rule": instance.rate_limit.rule_sys_id})
