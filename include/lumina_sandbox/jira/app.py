"""The ASGI app: FastAPI routes behind one middleware that does what the site's edge does.

Per request the middleware: sorts the request into a category (``categorize``); for REST calls checks basic or
bearer authentication (401 ``{"errorMessages": [...]}`` with ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``
after refused basic credentials), applies the rate limit rule (429 with ``Retry-After`` and the deployment's
rate-limit headers) and the injected faults; and stamps every response with the sandbox clock's ``Date`` and,
under a rate limit rule, the rate-limit headers. ``/serverInfo`` needs no credentials (it is anonymous on Jira).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
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
    respond,
)
from lumina_sandbox.jira.auth import OAuthError
from lumina_sandbox.jira.errors import JiraError, not_authenticated
from lumina_sandbox.jira.instance import Instance

JSON_TYPE = "application/json;charset=UTF-8"
_REST = re.compile(r"/rest/api/(?:2|3|latest)/(?P<rest>.+)")
CATEGORIES = {
    "search": "search",
    "search/approximate-count": "search",
    "search/jql": "search",
    "field": "field",
    "serverInfo": "meta",
    "myself": "meta",
    "worklog/updated": "worklog",
    "worklog/deleted": "worklog",
    "worklog/list": "worklog",
}
ANONYMOUS = frozenset({"serverInfo"})
GATEWAY_UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(value), status_code=status, media_type=JSON_TYPE, headers=headers)


def categorize(method: str, path: str) -> str:
    """The endpoint category of a request (used for counts and fault rules)."""
    if path == "/oauth/token":
        return "token"
    if path.startswith("/_sandbox"):
        return "control"
    match = _REST.fullmatch(path)
    if match is None:
        return "other"
    rest = match.group("rest").rstrip("/")
    if rest in CATEGORIES:
        return CATEGORIES[rest]
    parts = rest.split("/")
    if parts[0] == "issue":
        if method not in ("GET", "HEAD"):
            return "write"
        if len(parts) >= 3 and parts[2] in ("changelog", "comment", "worklog"):
            return parts[2]
        return "issue"
    return "other"


class SiteMiddleware:
    """The site's edge behaviour around the routes (see the module doc)."""

    def __init__(self, app: ASGIApp, instance: Instance) -> None:
        self.app = app
        self.instance = instance

    def _stamp(self, extra: dict[str, str]) -> Headers:
        return [(b"date", http_date(self.instance.now()).encode()), *as_headers(extra)]

    def _account(self, scope: Scope) -> tuple[str | None, str, str]:
        """(account id or None, bearer token or '', scheme) of the request's Authorization header."""
        scheme, _, credential = header(scope, b"authorization").partition(" ")
        scheme = scheme.lower()
        cloud = self.instance.cloud
        if scheme == "basic":
            return self.instance.auth.basic(credential.strip(), cloud), "", scheme
        if scheme == "bearer":
            token = credential.strip()
            return self.instance.auth.bearer(token, cloud), token, scheme
        return None, "", scheme

    def _gateway(self, scope: Scope) -> Scope:
        """``/ex/jira/<cloud id>/rest/...`` (how api.atlassian.com serves OAuth apps) is the site's ``/rest/...``."""
        path = scope["path"]
        prefix = f"/ex/jira/{self.instance.cloud_id}"
        if self.instance.cloud and (path == prefix or path.startswith(prefix + "/")):
            rest = path[len(prefix) :] or "/"
            return {**scope, "path": rest, "raw_path": rest.encode(), "jira_gateway": True}
        return scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self._gateway(scope)
        category = categorize(scope["method"], scope["path"])
        self.instance.count_request(category)
        limit_headers: dict[str, str] = {}
        token = ""
        rest = _REST.fullmatch(scope["path"])
        if rest is not None and rest.group("rest").rstrip("/") not in ANONYMOUS:
            account, token, scheme = self._account(scope)
            if account is None:
                extra = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if scheme == "basic" else {}
                realm = self.instance.base_url.replace(":", "%3A").replace("/", "%2F")
                extra["WWW-Authenticate"] = (
                    f'OAuth realm="{realm}"' if self.instance.cloud else 'Basic realm="protected-area"'
                )
                # api.atlassian.com (the OAuth apps' gateway) answers in its own shape, the site in Jira's
                body = GATEWAY_UNAUTHORIZED if scope.get("jira_gateway") else not_authenticated().body()
                await respond(send, 401, json_bytes(body), self._stamp(extra), JSON_TYPE)
                return
            verdict = self.instance.rate_limit.check(account, self.instance.cloud)
            limit_headers = verdict.headers
            if not verdict.allowed:
                body = JiraError(429, "Rate limit exceeded.").body()
                await respond(send, 429, json_bytes(body), self._stamp(limit_headers), JSON_TYPE)
                return
            scope = {**scope, "state": {**scope.get("state", {}), "account": account}}
        fault = self.instance.faults.take(category) if category != "control" else None
        expire = expiring(self.instance.auth.invalidate, token, not_authenticated().body())
        stamp = lambda: self._stamp(limit_headers)  # noqa: E731 - the stamp of every response of this request
        await fault_or_forward(fault, self.app, scope, receive, send, stamp, json_bytes, JSON_TYPE, expire)


def create_app(instance: Instance, control_key: str) -> ASGIApp:
    """The site's ASGI application; control calls need ``X-Sandbox-Control-Key: control_key``."""
    from lumina_sandbox.jira import routes_control, routes_rest

    app = sandbox_app("instance", instance, control_key, [routes_rest.router, routes_control.router])
    render_errors(app, [JiraError, OAuthError], json_response)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            # Jersey's answer for a REST path that does not exist (on Cloud and Data Center alike)
            return json_response({"message": f"null for uri: {request.url}", "status-code": 404}, 404)
        if error.status_code == 405:
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        return json_response(JiraError(error.status_code, str(error.detail)).body(), error.status_code)

    install_quiet_drops()
    return SiteMiddleware(app, instance)
