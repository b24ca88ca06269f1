"""``SandboxServer``: the sandbox served over HTTPS on 127.0.0.1 by uvicorn in a background thread.

    with SandboxServer(Org.generate(counts={"Account": 50})) as server:
        requests.get(f"{server.base_url}/services/data/", verify=server.ca_path)

uvicorn runs with its own ``Date`` header off (the app stamps the sandbox clock's), no ``server`` header, and
an h11 limit large enough to receive an over-long request line so the app can answer it with 414.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from lumina_sandbox.salesforce.auth import Credentials
from lumina_sandbox.salesforce.control import SandboxControl
from lumina_sandbox.salesforce.org import Org
from lumina_sandbox.salesforce.tls import write_certificates

HOST = "127.0.0.1"
MAX_INCOMPLETE_EVENT = 1 << 20  # bytes of request line + headers h11 buffers; the app answers 414/431 itself


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class SandboxServer:
    """The Salesforce sandbox on ``https://127.0.0.1:<port>`` (``port=0``: a free one); a context manager.

    Attributes: ``base_url``, ``ca_path`` (PEM of the CA that issued the server certificate), ``org``,
    ``control`` (a ``SandboxControl``), ``credentials``, ``control_key``.
    """

    def __init__(
        self,
        org: Org | None = None,
        port: int = 0,
        state_dir: str | Path | None = None,
        *,
        control_key: str | None = None,
    ) -> None:
        self._own_org = org is None
        self.org = org if org is not None else Org.generate()
        self.port = port
        self._tmp: Path | None = None
        if state_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="lumina-sf-tls-"))
        self.directory: Path = Path(state_dir) if state_dir is not None else self._tmp or Path(".")
        self.control_key = control_key or secrets.token_urlsafe(24)
        self.base_url = ""
        self.ca_path = self.directory / "ca.pem"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def credentials(self) -> Credentials:
        return self.org.credentials

    @property
    def control(self) -> SandboxControl:
        return SandboxControl(self.base_url, self.control_key, self.ca_path)

    def config(self, sock: socket.socket) -> Any:
        import uvicorn

        from lumina_sandbox.salesforce.app import create_app

        tls = write_certificates(self.directory)
        self.ca_path = tls.ca_path
        self.port = sock.getsockname()[1]
        self.base_url = f"https://{HOST}:{self.port}"
        self.org.set_base_url(self.base_url)
        return uvicorn.Config(
            create_app(self.org, self.control_key),
            ssl_certfile=str(tls.server_pem),
            http="h11",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            date_header=False,
            server_header=False,
            h11_max_incomplete_event_size=MAX_INCOMPLETE_EVENT,
            timeout_keep_alive=120,  # clients (simple-salesforce bulk2 waits 5 s) reuse idle connections
            timeout_graceful_shutdown=2,
        )

    def start(self) -> SandboxServer:
        import uvicorn

        sock = bind(self.port)
        self._server = uvicorn.Server(self.config(sock))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="salesforce-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Salesforce sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for idle keep-alive clients
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._own_org:
            self.org.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
