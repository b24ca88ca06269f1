"""``ThreadedServer``: a sandbox served over HTTPS on 127.0.0.1 by uvicorn in a background thread.

A system subclasses it and implements ``create_app()`` (its ASGI app, built once the base URL is known);
``tls_organization`` names its CA and ``client_certificate`` (a name) makes it issue a client certificate
too, so mutual TLS can be switched on (``require_client_cert``). ``port=0`` takes a free port.

uvicorn runs with its own ``Date`` header off (the app stamps the sandbox clock's), no ``server`` header, and
an h11 limit large enough to receive an over-long request line so the app can answer it with 414.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from lumina_integration.environment import LOOPBACK
from lumina_sandbox.common.tls import TlsFiles, write_certificates

HOST = LOOPBACK
MAX_INCOMPLETE_EVENT = 1 << 20  # bytes of request line + headers h11 buffers; the app answers 414/431 itself


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free one), inheritable by a uvicorn server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class ThreadedServer:
    """One sandbox on ``https://127.0.0.1:<port>``; a context manager.

    Attributes: ``base_url``, ``ca_path`` (PEM of the CA that issued the server certificate), ``client_pem``
    (a client certificate + key the CA issued, when ``client_certificate`` is set), ``control_key``,
    ``directory`` (where the TLS files are written).
    """

    name: ClassVar[str] = "sandbox"
    tls_organization: ClassVar[str] = "Lumina Sandbox"
    client_certificate: ClassVar[str | None] = None

    def __init__(
        self,
        port: int = 0,
        state_dir: str | Path | None = None,
        *,
        control_key: str | None = None,
        require_client_cert: bool = False,
    ) -> None:
        self.port = port
        self._tmp: Path | None = None
        if state_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=f"lumina-{self.name}-tls-"))
        self.directory: Path = Path(state_dir) if state_dir is not None else self._tmp or Path(".")
        self.control_key = control_key or secrets.token_urlsafe(24)
        self.require_client_cert = require_client_cert
        self.base_url = ""
        self.ca_path = self.directory / "ca.pem"
        self.client_pem: Path | None = None
        self.tls: TlsFiles | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- what a system provides ---------------------------------------------------------------------------------

    def create_app(self) -> Any:
        """The system's ASGI app (``base_url`` and ``control_key`` are set when this is called)."""
        raise NotImplementedError

    def on_bound(self) -> None:
        """Called once the port and base URL are known, before the app is built."""

    def on_stop(self) -> None:
        """Called after the server thread stopped (release the system's data)."""

    # -- serving ------------------------------------------------------------------------------------------------

    def config(self, sock: socket.socket, **overrides: Any) -> Any:
        """The uvicorn config serving this sandbox on ``sock`` (TLS files written now)."""
        import uvicorn

        self.tls = write_certificates(self.directory, self.tls_organization, client=self.client_certificate)
        self.ca_path = self.tls.ca_path
        self.client_pem = self.tls.client_pem
        self.port = sock.getsockname()[1]
        self.base_url = f"https://{HOST}:{self.port}"
        self.on_bound()
        options: dict[str, Any] = {
            "ssl_certfile": str(self.tls.server_pem),
            "http": "h11",
            "ws": "none",
            "lifespan": "off",
            "log_level": "warning",
            "access_log": False,
            "date_header": False,
            "server_header": False,
            "h11_max_incomplete_event_size": MAX_INCOMPLETE_EVENT,
            "timeout_keep_alive": 120,  # clients reuse idle connections between polls
            "timeout_graceful_shutdown": 2,
        }
        if self.require_client_cert:
            options["ssl_ca_certs"] = str(self.tls.ca_path)
            options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        options.update(overrides)
        return uvicorn.Config(self.create_app(), **options)

    def start(self) -> Self:
        import uvicorn

        sock = bind(self.port)
        self._server = uvicorn.Server(self.config(sock))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"{self.name}-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for idle keep-alive clients
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.on_stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
