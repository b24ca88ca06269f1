"""What every sandbox's ASGI app is built from: ``sandbox_app`` (a FastAPI app without documentation routes or
slash redirects, the system's state and control key on ``app.state``, its routers) and ``render_errors`` (the
system's exception classes, each carrying ``status`` and ``body()``, answered in the system's own shape).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response


class RenderedError(Protocol):
    status: int

    def body(self) -> Any: ...


def sandbox_app(state_name: str, state: Any, control_key: str, routers: Iterable[APIRouter]) -> FastAPI:
    """The app with ``app.state.<state_name>`` = ``state`` (the routes read it) and ``app.state.control_key``."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.router.redirect_slashes = False  # a real API answers a trailing slash itself, never with a redirect
    setattr(app.state, state_name, state)
    app.state.control_key = control_key
    for router in routers:
        app.include_router(router)
    return app


def render_errors(app: FastAPI, classes: Iterable[type[Exception]], render: Callable[[Any, int], Response]) -> None:
    """Answer each of ``classes`` (exceptions with ``status`` and ``body()``) with ``render(body, status)``."""

    async def handler(request: Request, error: Exception) -> Response:
        rendered: RenderedError = error  # type: ignore[assignment]
        return render(rendered.body(), rendered.status)

    for cls in classes:
        app.add_exception_handler(cls, handler)
