"""The control API under ``/_sandbox/`` (not part of Salesforce): drive the org from tests and demos.

Every call needs ``X-Sandbox-Control-Key``; without it (or with a wrong one) the answer is 401.
Datetimes are ISO-8601 text. ``SandboxControl`` is the Python client of these endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from lumina_sandbox.common import routes_control as common
from lumina_sandbox.common.routes_control import CONTROL_HEADER, moment
from lumina_sandbox.salesforce.app import json_response
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.org import Org

__all__ = ["CONTROL_HEADER", "router"]

router = common.control_router("/_sandbox", ApiError)


def _render(value: Any, status: int) -> Response:
    return json_response(value, status)


def _org(request: Request) -> Org:
    org: Org = request.app.state.org
    return org


async def _body(request: Request) -> dict[str, Any]:
    return await common.json_body(request, ApiError)


_moment = moment


async def _run(call: Callable[[], Any]) -> Any:
    return await common.run_blocking(call, ApiError)


common.add_clock_routes(router, lambda request: _org(request).clock, _render, ApiError)
common.add_fault_routes(router, lambda request: _org(request).faults, _render, ApiError)
common.add_request_count_routes(router, _org, _render)


@router.get("/status")
async def status(request: Request) -> Response:
    org = _org(request)
    return json_response(
        {
            "base_url": org.auth.base_url,
            "now": org.now().isoformat(),
            "seed": org.seed,
            "generated": org.generated,
            "open_cursors": org.queries.open_cursors(),
        }
    )


@router.get("/credentials")
async def credentials(request: Request) -> Response:
    return json_response(_org(request).credentials.as_dict())


@router.post("/objects/{name}/create")
async def create(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    ids = await _run(lambda: org.create(name, body.get("records", []), modstamp=_moment(body.get("modstamp"))))
    return json_response({"ids": ids})


@router.post("/objects/{name}/update")
async def update(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    await _run(
        lambda: org.update(
            name, body.get("changes", []), modstamp=_moment(body.get("modstamp")), touch=bool(body.get("touch", True))
        )
    )
    return json_response({"updated": len(body.get("changes", []))})


@router.post("/objects/{name}/delete")
async def delete(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    await _run(lambda: org.delete(name, body.get("ids", []), modstamp=_moment(body.get("modstamp"))))
    return json_response({"deleted": len(body.get("ids", []))})


@router.post("/objects/{name}/undelete")
async def undelete(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    await _run(lambda: org.undelete(name, body.get("ids", [])))
    return json_response({"undeleted": len(body.get("ids", []))})


@router.post("/objects/{name}/purge")
async def purge(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    removed = await _run(lambda: org.purge(name, body.get("ids", [])))
    return json_response({"purged": removed})


@router.post("/objects/{name}/fields")
async def add_field(name: str, request: Request) -> Response:
    org, body = _org(request), await _body(request)
    described = await _run(lambda: org.add_field(name, body.get("field", {}), body.get("value")))
    return json_response(described)


@router.get("/objects/{name}/truth")
async def truth(name: str, request: Request) -> Response:
    org = _org(request)
    fields = request.query_params.get("fields")
    names = [f for f in fields.split(",") if f] if fields else None
    include = request.query_params.get("include_deleted", "false").lower() == "true"
    return json_response(await _run(lambda: org.truth(name, names, include_deleted=include)))


@router.get("/objects/{name}/ids")
async def ids(name: str, request: Request) -> Response:
    org = _org(request)
    include = request.query_params.get("include_deleted", "false").lower() == "true"
    return json_response(sorted(await _run(lambda: org.ids(name, include_deleted=include))))


@router.get("/limits")
async def get_limits(request: Request) -> Response:
    return json_response(_org(request).limits.as_json())


@router.post("/limits")
async def set_limits(request: Request) -> Response:
    org, body = _org(request), await _body(request)
    org.set_api_limit(int(body["max"]), None if body.get("used") is None else int(body["used"]))
    return json_response(org.limits.as_json()["DailyApiRequests"])


@router.post("/sessions/expire")
async def expire_sessions(request: Request) -> Response:
    return json_response({"expired": _org(request).expire_sessions()})


@router.post("/settings")
async def settings(request: Request) -> Response:
    org, body = _org(request), await _body(request)
    allowed = {"session_ttl_seconds", "rotate_refresh_tokens", "bulk_processing_delay"}
    return json_response(org.settings(**{k: v for k, v in body.items() if k in allowed}))


@router.post("/reset")
async def reset(request: Request) -> Response:
    org = _org(request)
    await _run(org.reset)
    return json_response({"generated": org.generated})
