"""``ServiceNowServer``: the ServiceNow sandbox served over HTTPS on 127.0.0.1 (``common.server.ThreadedServer``).

    with ServiceNowServer(Instance.generate(counts={"incident": 50})) as server:
        requests.get(f"{server.base_url}/api/now/table/incident", auth=server.basic_auth, verify=server.ca_path)

``require_client_cert=True`` turns on mutual TLS: the handshake then needs the client certificate the sandbox's
CA issued (``server.client_pem``, key and certificate in one file: ``requests``' ``cert=``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumina_sandbox.common.server import ThreadedServer
from lumina_sandbox.servicenow.auth import Credentials
from lumina_sandbox.servicenow.control import ServiceNowControl
from lumina_sandbox.servicenow.instance import Instance

__all__ = ["ServiceNowServer"]


class ServiceNowServer(ThreadedServer):
    """The ServiceNow sandbox on ``https://127.0.0.1:<port>`` (``port=0``: a free one); a context manager.

    Attributes: ``base_url``, ``ca_path``, ``client_pem``, ``instance``, ``control`` (a ``ServiceNowControl``),
    ``credentials``, ``basic_auth`` (``(username, password)``), ``control_key``.
    """

    name = "servicenow"
    tls_organization = "Lumina ServiceNow Sandbox"
    client_certificate = "lumina-integration"

    def __init__(
        self,
        instance: Instance | None = None,
        port: int = 0,
        state_dir: str | Path | None = None,
        *,
        control_key: str | None = None,
        require_client_cert: bool = False,
    ) -> None:
        super().__init__(port, state_dir, control_key=control_key, require_client_cert=require_client_cert)
        self._own_instance = instance is None
        self.instance = instance if instance is not None else Instance.generate()

    @property
    def credentials(self) -> Credentials:
        return self.instance.auth.credentials

    @property
    def basic_auth(self) -> tuple[str, str]:
        return self.credentials.username, self.credentials.password

    @property
    def control(self) -> ServiceNowControl:
        cert = self.client_pem if self.require_client_cert else None
        return ServiceNowControl(self.base_url, self.control_key, self.ca_path, client_cert=cert)

    def on_bound(self) -> None:
        self.instance.set_base_url(self.base_url)

    def create_app(self) -> Any:
        from lumina_sandbox.servicenow.app import create_app

        return create_app(self.instance, self.control_key)

    def on_stop(self) -> None:
        if self._own_instance:
            self.instance.close()
