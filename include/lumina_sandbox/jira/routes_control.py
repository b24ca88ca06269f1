"""The control API under ``/_sandbox/`` (not part of Jira): drive the site from tests and demos.

Every call needs ``X-Sandbox-Control-Key`` (401 without it). Datetimes are ISO-8601 text; ``stamp`` sets the
time of a write (default the sandbox's now). ``JiraControl`` is the Python client of these endpoints. Shared
with every sandbox (``common.routes_control``): ``clock``, ``faults``, ``requests``, ``hooks``, ``status``,
``settings``, ``reset``, ``sessions/expire``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from lumina_sandbox.common import routes_control as common
from lumina_sandbox.common.routes_control import moment
from lumina_sandbox.jira.app import json_response
from lumina_sandbox.jira.errors import control_error
from lumina_sandbox.jira.instance import Instance

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
    return json_response(
        {
            **instance.auth.credentials.as_dict(),
            "base_url": instance.base_url,
            "deployment": instance.deployment,
            "account_id": instance.me(),
            "cloud_id": instance.cloud_id,
        }
    )


@router.post("/issues/generate")
async def generate(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    return json_response({"generated": await _run(lambda: instance.generate_issues(int(body.get("count", 0))))})


@router.post("/issues/create")
async def create_issues(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    stamp = moment(body.get("stamp"))
    made = await _run(lambda: [instance.writer.create_issue(dict(f), stamp) for f in body.get("issues", [])])
    return json_response({"issues": made})


@router.post("/issues/update")
async def update_issues(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    stamp, touch = moment(body.get("stamp")), bool(body.get("touch", True))

    def apply() -> int:
        changed = 0
        for change in body.get("changes", []):
            values = dict(change)
            target = values.pop("key", None) or values.pop("id")
            changed += instance.writer.update_issue(target, values, stamp=stamp, touch=touch)
        return changed

    return json_response({"updated": await _run(apply)})


@router.post("/issues/delete")
async def delete_issues(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    return json_response({"deleted": await _run(lambda: instance.writer.delete_issues(list(body.get("issues", []))))})


@router.post("/comments/create")
async def create_comment(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    made = await _run(
        lambda: instance.writer.add_comment(
            body["issue"], body.get("body", ""), moment(body.get("stamp")), body.get("author"), body.get("visibility")
        )
    )
    return json_response({"id": made})


@router.post("/comments/update")
async def update_comment(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    done = await _run(
        lambda: instance.writer.update_comment(int(body["id"]), body.get("body", ""), moment(body.get("stamp")))
    )
    return json_response({"updated": int(done)})


@router.post("/comments/delete")
async def delete_comment(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    done = await _run(lambda: instance.writer.delete_comment(int(body["id"]), moment(body.get("stamp"))))
    return json_response({"deleted": int(done)})


@router.post("/worklogs/create")
async def create_worklog(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    made = await _run(
        lambda: instance.writer.add_worklog(
            body["issue"],
            int(body.get("seconds", 3600)),
            moment(body.get("started")),
            body.get("comment"),
            moment(body.get("stamp")),
        )
    )
    return json_response({"id": made})


@router.post("/worklogs/update")
async def update_worklog(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    seconds = body.get("seconds")
    done = await _run(
        lambda: instance.writer.update_worklog(
            int(body["id"]), None if seconds is None else int(seconds), body.get("comment"), moment(body.get("stamp"))
        )
    )
    return json_response({"updated": int(done)})


@router.post("/worklogs/delete")
async def delete_worklog(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    done = await _run(lambda: instance.writer.delete_worklog(int(body["id"]), moment(body.get("stamp"))))
    return json_response({"deleted": int(done)})


@router.post("/fields")
async def add_field(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    return json_response(await _run(lambda: instance.add_field(dict(body.get("field", {})), body.get("value"))))


@router.get("/truth/{kind}")
async def truth(kind: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response(await _run(lambda: instance.truth(kind)))


@router.get("/ids/{kind}")
async def ids(kind: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response(sorted(await _run(lambda: instance.ids_of(kind)), key=int))


@router.get("/deleted/{kind}")
async def deleted(kind: str, request: Request) -> Response:
    instance = _instance(request)
    return json_response(sorted(await _run(lambda: instance.deleted_ids(kind)), key=int))


@router.post("/oauth/tokens")
async def issue_token(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    ttl = body.get("ttl")
    return json_response(instance.auth.issue(None if ttl is None else int(ttl), bool(body.get("refresh", True))))


@router.post("/tokens/expire")
async def expire_tokens(request: Request) -> Response:
    """Expire every page token issued so far; with ``{"next": n}``, the next ``n`` as they are issued instead."""
    instance, body = _instance(request), await _body(request)
    if body.get("next") is not None:
        instance.tokens.expire_next(int(body["next"]))
        return json_response({"expire_next": int(body["next"])})
    return json_response({"expired": instance.tokens.expire_all()})


@router.post("/rate_limit")
async def rate_limit(request: Request) -> Response:
    instance, body = _instance(request), await _body(request)
    limit = body.get("limit")
    await _run(
        lambda: instance.rate_limit.set(
            None if limit is None else int(limit), int(body.get("window", 60)), bool(body.get("beta", False))
        )
    )
    return json_response(instance.rate_limit.describe())
