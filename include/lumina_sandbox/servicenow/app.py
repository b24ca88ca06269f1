"""The ASGI app: FastAPI routes behind one middleware that does what the instance's edge does.

Per request the middleware: answers 414/431 for a request line (or line + headers) over 16,384 bytes; sorts the
request into a category (``categorize``); for API calls checks basic or bearer authentication (401 with the
instance's ``User Not Authenticated`` body), applies the rate limit rule (429 with ``Retry-After``) and the
injected faults; and stamps every response with the instance clock's ``Date`` and, under a rate limit rule,
its ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lumina_sandbox.common.app import render_errors, sandbox_app
from lumina_sandbox.common.clock import http_date
from lumina_sandbox.common.edge import (
    ASGIApp,
    Headers,
    Receive,
    Scope,
    Send,
    as_headers,
    expiring,
    fault_or_forward,
    header,
    install_quiet_drops,
    request_line_bytes,
    respond,
)
from lumina_sandbox.servicenow.auth import OAuthError
from lumina_sandbox.servicenow.errors import SnowError, not_authenticated
from lumina_sandbox.servicenow.instance import Instance

try:  # orjson when installed (it is in the dev requirements): ten-thousand-row pages encode several times faster
    import orjson

    def json_bytes(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - the stdlib path
    import json

    def json_bytes(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


MAX_REQUEST_BYTES = 16_384
JSON_TYPE = "application/json;charset=UTF-8"
API_CATEGORIES = frozenset({"table", "table_write", "stats"})
_TABLE = re.compile(r"/api/now(?:/v[12])?/table/[^/]+(?:/[^/]+)?")
_STATS = re.compile(r"/api/now(?:/v[12])?/stats/[^/]+")


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(value), status_code=status, media_type=JSON_TYPE, headers=headers)


def categorize(method: str, path: str) -> str:
    """The endpoint category of a request (used for counts and fault rules)."""
    if path == "/oauth_token.do":
        return "token"
    if path.startswith("/_sandbox"):
        return "control"
    if _TABLE.fullmatch(path):
        return "table" if method in ("GET", "HEAD") else "table_write"
    if _STATS.fullmatch(path):
        return "stats"
    return "other"


class InstanceMiddleware:
    """The instance's edge behaviour around the routes (see the module doc)."""

    def __init__(self, app: ASGIApp, instance: Instance) -> None:
        self.app = app
        self.instance = instance

    def _stamp(self, extra: dict[str, str]) -> Headers:
        return [(b"date", http_date(self.instance.now()).encode()), *as_headers(extra)]

    def _user(self, scope: Scope) -> tuple[str | None, str]:
        """(user or None, bearer token or '') of the request's Authorization header."""
        scheme, _, credential = header(scope, b"authorization").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self.instance.auth.basic(credential.strip()), ""
        if scheme == "bearer":
            token = credential.strip()
            return self.instance.auth.bearer(token), token
        return None, ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        line, header_bytes = request_line_bytes(scope)
        if line > MAX_REQUEST_BYTES or line + header_bytes > MAX_REQUEST_BYTES:
            status, title = (
                (414, "URI Too Long") if line > MAX_REQUEST_BYTES else (431, "Request Header Fields Too Large")
            )
            body = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>".encode()
            await respond(send, status, body, self._stamp({}), "text/html;charset=UTF-8")
            return
        category = categorize(scope["method"], scope["path"])
        self.instance.count_request(category)
        limit_headers: dict[str, str] = {}
        token = ""
        if category in API_CATEGORIES:
            user, token = self._user(scope)
            if user is None:
                error = not_authenticated()
                extra = {} if token else {"WWW-Authenticate": 'BASIC realm="Service-now"'}
                await respond(send, 401, json_bytes(error.body()), self._stamp(extra), JSON_TYPE)
                return
            verdict = self.instance.rate_limit.check(user)
            limit_headers = verdict.headers
            if not verdict.allowed:
                error = SnowError(429, "Too Many Requests", "Rate limit exceeded for the rule of this user")
                await respond(send, 429, json_bytes(error.body()), self._stamp(limit_headers), JSON_TYPE)
                return
            scope = {**scope, "state": {**scope.get("state", {}), "user": user}}
        fault = self.instance.faults.take(category) if category != "control" else None
        expire = expiring(self.instance.auth.invalidate, token, not_authenticated().body())
        stamp = lambda: self._stamp(limit_headers)  # noqa: E731 - the stamp of every response of this request
        await fault_or_forward(fault, self.app, scope, receive, send, stamp, json_bytes, JSON_TYPE, expire)


def create_app(instance: Instance, control_key: str) -> ASGIApp:
    """The instance's ASGI application; control calls need ``X-Sandbox-Control-Key: control_key``."""
    from lumina_sandbox.servicenow import routes_control, routes_oauth, routes_table

    routers = [routes_oauth.router, routes_table.router, routes_control.router]
    app = sandbox_app("instance", instance, control_key, routers)
    render_errors(app, [SnowError, OAuthError], json_response)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 405:
            return json_response(
                SnowError(405, "Method not Supported", f"{request.method} is not supported").body(), 405
            )
        if error.status_code == 404:
            return json_response(SnowError(400, "Requested URI does not represent any resource", None).body(), 400)
        return json_response(SnowError(error.status_code, str(error.detail), None).body(), error.status_code)

    install_quiet_drops()
    return InstanceMiddleware(app, instance)
