"""The control API's building blocks (not part of any real system): each sandbox mounts them on its router.

Every control call needs the ``X-Sandbox-Control-Key`` header (401 without it or with a wrong one);
bodies are JSON objects; datetimes are ISO-8601 text. Each system passes ``fail`` — its own error factory
``(status, code, message) -> Exception`` — so refusals come in that system's error shape.

The shared verbs (same paths under every system's prefix, used by ``common.control.ControlClient``):
``GET/POST clock`` (``{"now"}``; body ``{"advance": seconds}`` or ``{"set": iso}``), ``GET/POST/DELETE faults``,
``GET/DELETE requests`` (per-category request counts), ``GET/POST/DELETE hooks`` (page hooks), ``GET status``,
``POST settings``, ``POST reset`` and ``POST sessions/expire``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lumina_sandbox.common.clock import SandboxClock, parse_iso
from lumina_sandbox.common.faults import Faults
from lumina_sandbox.common.hooks import PageHook, PageHooks

CONTROL_HEADER = "X-Sandbox-Control-Key"
FAULT_OPTIONS = frozenset({"status", "error_code", "message", "retry_after", "delay", "threshold", "times", "after"})

Fail = Callable[[int, str, str], Exception]
Render = Callable[[Any, int], Response]


class Counts(Protocol):
    def request_counts(self) -> dict[str, int]: ...

    def reset_request_counts(self) -> None: ...


class Hooked(Protocol):
    hooks: PageHooks

    def add_page_hook(self, spec: dict[str, Any]) -> PageHook: ...


class Administered(Protocol):
    generated: dict[str, int]

    def status(self) -> dict[str, Any]: ...

    def settings(self, **options: Any) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def expire_sessions(self) -> int: ...


def key_checker(fail: Fail) -> Callable[[Request], None]:
    """A FastAPI dependency refusing a call without the app's ``state.control_key`` in ``X-Sandbox-Control-Key``."""

    def check_key(request: Request) -> None:
        expected: str = request.app.state.control_key
        given = request.headers.get(CONTROL_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            raise fail(401, "INVALID_CONTROL_KEY", f"the control API needs a valid {CONTROL_HEADER} header")

    return check_key


async def json_body(request: Request, fail: Fail, max_bytes: int = 64 << 20) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when empty); over ``max_bytes`` is 413 TOO_LARGE."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise fail(413, "TOO_LARGE", f"the body is larger than {max_bytes} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise fail(400, "JSON_PARSER_ERROR", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise fail(400, "JSON_PARSER_ERROR", "the body must be a JSON object")
    return body


async def run_blocking(call: Callable[[], Any], fail: Fail) -> Any:
    """Run a blocking control action off the event loop; ValueError/KeyError become 400 INVALID_ARGUMENT."""
    try:
        return await run_in_threadpool(call)
    except (ValueError, KeyError) as error:
        raise fail(400, "INVALID_ARGUMENT", str(error)) from None


def moment(value: Any) -> Any:
    """An optional ISO datetime from a control body (None stays None)."""
    return parse_iso(str(value)) if value else None


def flag(request: Request, name: str, default: bool = False) -> bool:
    return request.query_params.get(name, str(default)).lower() == "true"


def add_clock_routes(router: APIRouter, clock: Callable[[Request], SandboxClock], render: Render, fail: Fail) -> None:
    """``GET clock`` and ``POST clock`` (``{"advance": s}`` or ``{"set": iso}``) on ``router``."""

    @router.get("/clock")
    async def get_clock(request: Request) -> Response:
        return render({"now": clock(request).now().isoformat()}, 200)

    @router.post("/clock")
    async def move_clock(request: Request) -> Response:
        body = await json_body(request, fail)
        target = clock(request)
        if body.get("set"):
            now = target.set_time(parse_iso(str(body["set"])))
        else:
            now = target.advance(float(body.get("advance", 0)))
        return render({"now": now.isoformat()}, 200)


def add_fault_routes(router: APIRouter, faults: Callable[[Request], Faults], render: Render, fail: Fail) -> None:
    """``GET faults`` (the rules), ``POST faults`` (add one: category, kind and ``FAULT_OPTIONS``), ``DELETE``."""

    @router.get("/faults")
    async def list_faults(request: Request) -> Response:
        return render([rule.as_dict() for rule in faults(request).rules()], 200)

    @router.post("/faults")
    async def add_fault(request: Request) -> Response:
        body = await json_body(request, fail)
        extra = {k: v for k, v in body.items() if k in FAULT_OPTIONS}
        target = faults(request)
        rule = await run_blocking(
            lambda: target.add(body.get("category", "any"), body.get("kind", "status"), **extra), fail
        )
        return render(rule.as_dict(), 200)

    @router.delete("/faults")
    async def clear_faults(request: Request) -> Response:
        faults(request).clear()
        return render({}, 200)


def add_request_count_routes(router: APIRouter, counts: Callable[[Request], Counts], render: Render) -> None:
    """``GET requests`` (calls per category since the last reset) and ``DELETE requests``."""

    @router.get("/requests")
    async def request_counts(request: Request) -> Response:
        return render(counts(request).request_counts(), 200)

    @router.delete("/requests")
    async def reset_request_counts(request: Request) -> Response:
        counts(request).reset_request_counts()
        return render({}, 200)


def add_hook_routes(router: APIRouter, state: Callable[[Request], Hooked], render: Render, fail: Fail) -> None:
    """``GET hooks`` (the page hooks), ``POST hooks`` (add one: the system's ``add_page_hook`` body), ``DELETE``."""

    @router.get("/hooks")
    async def hooks(request: Request) -> Response:
        return render([hook.as_dict() for hook in state(request).hooks.all()], 200)

    @router.post("/hooks")
    async def add_hook(request: Request) -> Response:
        target, body = state(request), await json_body(request, fail)
        hook = await run_blocking(lambda: target.add_page_hook(body), fail)
        return render(hook.as_dict(), 200)

    @router.delete("/hooks")
    async def clear_hooks(request: Request) -> Response:
        state(request).hooks.clear()
        return render({}, 200)


def add_admin_routes(router: APIRouter, state: Callable[[Request], Administered], render: Render, fail: Fail) -> None:
    """``GET status``, ``POST settings`` (the system's options), ``POST reset`` (``{"generated"}``) and
    ``POST sessions/expire`` (``{"expired"}``: how many access tokens were dropped)."""

    @router.get("/status")
    async def status(request: Request) -> Response:
        target = state(request)
        return render(await run_blocking(target.status, fail), 200)

    @router.post("/settings")
    async def settings(request: Request) -> Response:
        target, body = state(request), await json_body(request, fail)
        return render(await run_blocking(lambda: target.settings(**body), fail), 200)

    @router.post("/reset")
    async def reset(request: Request) -> Response:
        target = state(request)
        await run_blocking(target.reset, fail)
        return render({"generated": target.generated}, 200)

    @router.post("/sessions/expire")
    async def expire_sessions(request: Request) -> Response:
        return render({"expired": state(request).expire_sessions()}, 200)


def control_router(prefix: str, fail: Fail) -> APIRouter:
    """A router under ``prefix`` whose every route needs the control key; ``fail`` renders its refusals."""
    return APIRouter(prefix=prefix, dependencies=[Depends(key_checker(fail))])
