"""A real HTTP server on loopback whose answers each test scripts, and an OAuth2 token endpoint for it.

The clients under test talk to it over real sockets with real ``requests`` sessions: routes are plain
functions of the request, the server records what it received, and :class:`TokenServer` issues,
expires, rotates and revokes tokens as an OAuth 2.0 server does.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # bytes as is; anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


Route = Callable[[Received], Reply]


class LoopbackApi:
    """Routes by (method, path); every request is recorded in ``received``."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.received: list[Received] = []
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    def route(self, method: str, path: str, handler: Route) -> None:
        self.routes[(method, path)] = handler

    def replies(self, method: str, path: str, *replies: Reply) -> None:
        """Answer with these replies in turn, then the last one for ever."""
        queue = list(replies)

        def answer(_: Received) -> Reply:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, answer)

    def calls(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def start(self, tls: ssl.SSLContext | None = None) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), self.rfile.read(length)
                )
                api.received.append(request)
                handler = api.routes.get((self.command, parts.path))
                reply = handler(request) if handler else Reply(404, {"error": "no route"})
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                if "Date" in reply.headers:  # the reply's own clock (send_response would add ours too)
                    self.send_response_only(reply.status)
                else:
                    self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class TokenServer:
    """An OAuth 2.0 token endpoint (``/oauth_token.do``, as ServiceNow's) and a protected ``/api/me``.

    Access tokens live ``lifetime`` seconds of the test's clock; refresh tokens rotate on every use
    (the old one dies); :meth:`revoke` kills every access token, as an administrator can.
    """

    def __init__(self, api: LoopbackApi, clock: Callable[[], float], lifetime: int = 120) -> None:
        self.api, self.clock, self.lifetime = api, clock, lifetime
        self.users = {"etl": "s3cret"}
        self.clients = {"lumina": "client-secret"}
        self.access: dict[str, float] = {}  # token -> expires at
        self.refresh: set[str] = set()
        self.issued: list[str] = []  # grant types, in order
        self.rotate = True
        api.route("POST", "/oauth_token.do", self.token)
        api.route("GET", "/api/me", self.me)

    def _client_ok(self, request: Received, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return self.clients.get(cid) == secret

    def token(self, request: Received) -> Reply:
        form = request.form()
        grant = form.get("grant_type")
        if not self._client_ok(request, form):
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if grant == "password":
            if self.users.get(form.get("username", "")) != form.get("password"):
                return Reply(401, {"error": "access_denied", "error_description": "Access denied"})
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh:
                return Reply(401, {"error": "invalid_grant"})
            if self.rotate:
                self.refresh.discard(form["refresh_token"])
        elif grant != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        self.issued.append(str(grant))
        access = secrets.token_hex(8)
        self.access[access] = self.clock() + self.lifetime
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime}
        if grant != "client_credentials":
            if self.rotate or grant == "password":
                fresh = secrets.token_hex(8)
                self.refresh.add(fresh)
                body["refresh_token"] = fresh
            else:
                body["refresh_token"] = form["refresh_token"]
        return Reply(200, body)

    def revoke(self) -> None:
        self.access.clear()

    def me(self, request: Received) -> Reply:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expires = self.access.get(token)
        if expires is None or self.clock() >= expires:
            return Reply(401, {"error": {"message": "User Not Authenticated"}})
        return Reply(200, {"result": {"user": "etl"}})


class FakeClock:
    """Monotonic seconds that only move when a test says so (shared by client and token server)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records the waits a client asked for instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class MutualTls:
    api: LoopbackApi
    ca_path: Path
    client_cert: Path
    client_key: Path
