"""``SandboxServer``: the Salesforce sandbox served over HTTPS on 127.0.0.1 (``common.server.ThreadedServer``).

with SandboxServer(Org.generate(counts={"Account": 50})) as server:
    requests.get(f"{server.base_url}/services/data/", verify=server.ca_path)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumina_sandbox.common.server import HOST, MAX_INCOMPLETE_EVENT, ThreadedServer, bind
from lumina_sandbox.salesforce.auth import Credentials
from lumina_sandbox.salesforce.control import SandboxControl
from lumina_sandbox.salesforce.org import Org
from lumina_sandbox.salesforce.tls import ORGANIZATION

__all__ = ["HOST", "MAX_INCOMPLETE_EVENT", "SandboxServer", "bind"]


class SandboxServer(ThreadedServer):
    """The Salesforce sandbox on ``https://127.0.0.1:<port>`` (``port=0``: a free one); a context manager.

    Attributes: ``base_url``, ``ca_path`` (PEM of the CA that issued the server certificate), ``org``,
    ``control`` (a ``SandboxControl``), ``credentials``, ``control_key``.
    """

    name = "salesforce"
    tls_organization = ORGANIZATION

    def __init__(
        self,
        org: Org | None = None,
        port: int = 0,
        state_dir: str | Path | None = None,
        *,
        control_key: str | None = None,
    ) -> None:
        super().__init__(port, state_dir, control_key=control_key)
        self._own_org = org is None
        self.org = org if org is not None else Org.generate()

    @property
    def credentials(self) -> Credentials:
        return self.org.credentials

    @property
    def control(self) -> SandboxControl:
        return SandboxControl(self.base_url, self.control_key, self.ca_path)

    def on_bound(self) -> None:
        self.org.set_base_url(self.base_url)

    def create_app(self) -> Any:
        from lumina_sandbox.salesforce.app import create_app

        return create_app(self.org, self.control_key)

    def on_stop(self) -> None:
        if self._own_org:
            self.org.close()
