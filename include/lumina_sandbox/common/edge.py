"""ASGI building blocks for a sandbox's edge middleware: what every system's front door does alike.

A system's middleware sorts a request into a category, checks its credentials, applies the fault ``Faults.take``
returns (``apply_fault``) and wraps ``send`` with ``stamping_sender`` so every response carries the sandbox
clock's ``Date`` (and the system's rate-limit headers), replacing what the routes set; ``fault_or_forward`` does
the last two in one call (``expiring`` builds its token-expiry answer).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from lumina_sandbox.common.faults import FaultRule

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class DroppedConnection(Exception):
    """Raised mid-body by a ``drop`` fault: uvicorn then closes the socket (the client sees an incomplete read)."""


class QuietDrops(logging.Filter):
    """Keeps uvicorn's log free of the tracebacks a ``drop`` fault causes on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def install_quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in logger.filters):
        logger.addFilter(QuietDrops())


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def respond(send: Send, status: int, body: bytes, headers: Headers, content_type: str) -> None:
    """Send a whole response without the routes (edge refusals)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str:
    """The value of request header ``name`` (lower-case bytes), or ''."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1").strip())
    return ""


def bearer(scope: Scope, schemes: tuple[str, ...] = ("bearer",)) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (or another of ``schemes``), or ''."""
    scheme, _, token = header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() in schemes else ""


def request_line_bytes(scope: Scope) -> tuple[int, int]:
    """(request line bytes, header bytes) as they arrived, for 414/431 limits."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    line = len(scope["method"]) + 1 + len(raw_path) + (1 + len(query) if query else 0) + len(" HTTP/1.1\r\n")
    header_bytes = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))
    return line, header_bytes


def as_headers(values: dict[str, str]) -> Headers:
    """ASGI header pairs from a ``{name: value}`` dict."""
    return [(k.lower().encode(), v.encode()) for k, v in values.items()]


def stamping_sender(send: Send, stamp: Callable[[], Headers], drop: bool = False) -> Send:
    """``send`` with ``stamp()``'s headers replacing the routes' own of those names; with ``drop`` the body is
    cut in half and the connection closed (``DroppedConnection``)."""
    sent_partial = False

    async def wrapped(message: Message) -> None:
        nonlocal sent_partial
        if message["type"] == "http.response.start":
            stamped = stamp()
            names = {name for name, _ in stamped}
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            await send({**message, "headers": kept + stamped})
            return
        if drop and message["type"] == "http.response.body":
            body = message.get("body", b"")
            if not sent_partial and (body or not message.get("more_body")):
                sent_partial = True
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                raise DroppedConnection("fault: connection dropped mid-body")
            return
        await send(message)

    return wrapped


async def apply_fault(
    rule: FaultRule | None,
    send: Send,
    headers: Headers,
    encode: Callable[[Any], bytes],
    content_type: str,
    expire: Callable[[], Any],
) -> Literal["answered", "drop", "pass"]:
    """Apply the edge fault ``rule`` (if any) to a request.

    ``status``: answers ``rule.error()`` (the system's body, ``Retry-After``) with ``headers``; ``expire_session``:
    calls ``expire()`` (drop the caller's token; it returns the system's 401 body) and answers 401; ``delay``:
    sleeps, then the request goes on; ``drop``: the caller sends the response through a dropping sender.
    """
    if rule is None:
        return "pass"
    if rule.kind == "status":
        status, body, extra = rule.error()
        await respond(send, status, encode(body), headers + as_headers(extra), content_type)
        return "answered"
    if rule.kind == "expire_session":
        await respond(send, 401, encode(expire()), headers, content_type)
        return "answered"
    if rule.kind == "delay":
        await asyncio.sleep(rule.delay)
    return "drop" if rule.kind == "drop" else "pass"


def expiring(invalidate: Callable[[str], Any], token: str, body: Any) -> Callable[[], Any]:
    """The ``expire`` of ``apply_fault``: drop the caller's ``token`` (if it sent one), then answer ``body``."""

    def expire() -> Any:
        if token:
            invalidate(token)
        return body

    return expire


async def fault_or_forward(
    rule: FaultRule | None,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    stamp: Callable[[], Headers],
    encode: Callable[[Any], bytes],
    content_type: str,
    expire: Callable[[], Any],
) -> None:
    """Apply ``rule`` (``apply_fault``); unless it answered, pass the request to ``app`` with every response
    stamped by ``stamp`` (and cut mid-body for a ``drop``)."""
    outcome = await apply_fault(rule, send, stamp(), encode, content_type, expire)
    if outcome != "answered":
        await app(scope, receive, stamping_sender(send, stamp, outcome == "drop"))
