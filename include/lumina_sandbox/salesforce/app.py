"""The ASGI app: FastAPI routes behind one middleware that does what Salesforce's edge does.

Per request the middleware: answers 414/431 for a request line (or line + headers) over 16,384 bytes; sorts
the request into an endpoint category (``categorize``); checks the API version; for REST and Bulk calls checks
the bearer session (401 INVALID_SESSION_ID; Bulk API 1.0: the ``X-SFDC-Session`` header, 400 InvalidSessionId),
counts the call against DailyApiRequests (403 REQUEST_LIMIT_EXCEEDED once used up); applies injected faults;
and stamps every response with the sandbox clock's ``Date`` and, on API calls, ``Sforce-Limit-Info``. Trailing
slashes are ignored, as Salesforce does.
A login path under a login host prefix (``/login.salesforce.com/services/Soap/u/62.0``, see
:mod:`lumina_sandbox.salesforce.auth`) is served as the plain login path.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lumina_sandbox.common.app import render_errors, sandbox_app
from lumina_sandbox.common.edge import (
    ASGIApp,
    DroppedConnection,
    Headers,
    Receive,
    Scope,
    Send,
    bearer,
    expiring,
    fault_or_forward,
    header,
    install_quiet_drops,
    json_bytes,
    request_line_bytes,
    respond,
)
from lumina_sandbox.salesforce.auth import LOGIN_HOST_PATH, OAuthError
from lumina_sandbox.salesforce.clock import http_date
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.org import Org

__all__ = ["DroppedConnection", "SandboxMiddleware", "categorize", "create_app", "json_bytes", "json_response"]
MAX_REQUEST_BYTES = 16_384
MIN_VERSION, MAX_VERSION = 50, 63
JSON_TYPE = "application/json;charset=UTF-8"
_DATA = re.compile(r"/services/data/v(\d+)\.(\d)(/.*)?")
_ASYNC = re.compile(r"/services/async/(\d+)\.(\d)(/.*)?")
_LOCATOR_PATH = re.compile(r"/(query|queryAll)/[^/]+")
API_CATEGORIES = frozenset(
    {
        "resources",
        "query",
        "query_more",
        "describe",
        "sobjects",
        "limits",
        "deleted",
        "updated",
        "bulk_create",
        "bulk_status",
        "bulk_results",
        "ingest",
        "bulk1_job",
        "bulk1_batch",
        "bulk1_results",
    }
)
BULK1_CATEGORIES = frozenset({"bulk1_job", "bulk1_batch", "bulk1_results"})
INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
# Bulk API 1.0 words it differently, with a 400.
BULK1_INVALID_SESSION = {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(value), status_code=status, media_type=JSON_TYPE, headers=headers)


def categorize(method: str, path: str) -> str:
    """The endpoint category of a request (used for counts and fault rules)."""
    if path == "/services/oauth2/token":
        return "token"
    if path.startswith("/services/Soap/u/"):
        return "soap_login"
    if path.startswith("/_sandbox"):
        return "control"
    if path in ("/services/data", "/services/data/"):
        return "versions"
    bulk1 = _ASYNC.fullmatch(path)
    if bulk1 is not None:
        # job | job/<id> | job/<id>/batch[/<id>[/request]] | job/<id>/batch/<id>/result[/<id>]
        parts = (bulk1.group(3) or "").strip("/").split("/")
        if parts[0] != "job" or len(parts) > 6:
            return "other"
        if len(parts) >= 5 and parts[4] == "result":
            return "bulk1_results"
        return "bulk1_batch" if len(parts) >= 3 else "bulk1_job"
    match = _DATA.fullmatch(path)
    if match is None:
        return "other"
    rest = (match.group(3) or "").rstrip("/")
    parts = rest.split("/")[1:] if rest else []
    if not parts:
        return "resources"
    head = parts[0]
    if head in ("query", "queryAll"):
        return "query_more" if len(parts) > 1 else "query"
    if head == "limits":
        return "limits"
    if head == "sobjects":
        if len(parts) <= 1 or (len(parts) == 2 and method == "GET") or (len(parts) == 3 and parts[2] == "describe"):
            return "describe"
        if len(parts) == 3 and parts[2] in ("deleted", "updated"):
            return parts[2]
        return "sobjects"
    if head == "jobs" and len(parts) > 1:
        if parts[1] == "ingest":
            return "ingest"
        if len(parts) == 2:
            return "bulk_create" if method == "POST" else "bulk_status"
        if len(parts) >= 4 and parts[3] == "results":
            return "bulk_results"
        return "bulk_status"
    return "other"


class SandboxMiddleware:
    """Salesforce's edge behaviour around the routes (see the module doc)."""

    def __init__(self, app: ASGIApp, org: Org) -> None:
        self.app = app
        self.org = org

    def _stamp(self, api: bool) -> Headers:
        headers = [(b"date", http_date(self.org.now()).encode())]
        if api:
            headers.append((b"sforce-limit-info", self.org.limits.header().encode()))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        line, header_bytes = request_line_bytes(scope)
        if line > MAX_REQUEST_BYTES or line + header_bytes > MAX_REQUEST_BYTES:
            status, title = (
                (414, "URI Too Long") if line > MAX_REQUEST_BYTES else (431, "Request Header Fields Too Large")
            )
            body = f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>".encode()
            await respond(send, status, body, self._stamp(False), "text/html;charset=UTF-8")
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/")}
        login = LOGIN_HOST_PATH.fullmatch(scope["path"])
        if login is not None:
            scope = {**scope, "path": login.group(1)}
        category = categorize(method, scope["path"])
        self.org.count_request(category)
        api = category in API_CATEGORIES
        match = _DATA.fullmatch(scope["path"]) or _ASYNC.fullmatch(scope["path"])
        if match is not None and not MIN_VERSION <= int(match.group(1)) <= MAX_VERSION:
            body = json_bytes([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
            await respond(send, 404, body, self._stamp(False), JSON_TYPE)
            return
        state: dict[str, Any] = {"category": category, "user_id": "", "token": ""}
        scope = {**scope, "state": {**scope.get("state", {}), **state}}
        if api:
            bulk1 = category in BULK1_CATEGORIES
            token = header(scope, b"x-sfdc-session") if bulk1 else bearer(scope, ("bearer", "oauth"))
            session = self.org.sessions.get(token) if token else None
            if session is None:
                if bulk1:
                    await respond(send, 400, json_bytes(BULK1_INVALID_SESSION), self._stamp(True), JSON_TYPE)
                else:
                    await respond(send, 401, json_bytes(INVALID_SESSION), self._stamp(True), JSON_TYPE)
                return
            try:
                self.org.limits.charge_api()
            except ApiError as error:
                await respond(send, error.status, json_bytes(error.body()), self._stamp(True), JSON_TYPE)
                return
            scope["state"].update({"user_id": session.user_id, "token": token})
        fault = self.org.faults.take(category) if category != "control" else None
        token = scope["state"]["token"]

        expire = expiring(self.org.sessions.invalidate, token, INVALID_SESSION)
        stamp = lambda: self._stamp(api)  # noqa: E731 - the stamp of every response of this request
        await fault_or_forward(fault, self.app, scope, receive, send, stamp, json_bytes, JSON_TYPE, expire)


def create_app(org: Org, control_key: str) -> ASGIApp:
    """The sandbox's ASGI application for ``org``; control calls need ``X-Sandbox-Control-Key: control_key``."""
    from lumina_sandbox.salesforce import routes_auth, routes_bulk, routes_bulk1, routes_control, routes_rest
    from lumina_sandbox.salesforce.bulk1 import AsyncApiError

    routers = [routes_auth.router, routes_rest.router, routes_bulk.router, routes_bulk1.router, routes_control.router]
    app = sandbox_app("org", org, control_key, routers)
    render_errors(app, [ApiError, AsyncApiError, OAuthError], json_response)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 405:
            body = [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{request.method}' not allowed."}]
            return json_response(body, 405)
        if error.status_code == 404:
            return json_response([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404)
        return json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": str(error.detail)}], error.status_code)

    install_quiet_drops()
    return SandboxMiddleware(app, org)
