"""``JiraServer``: the Jira sandbox served over HTTPS on 127.0.0.1 (``common.server.ThreadedServer``).

with JiraServer(Instance.generate(counts={"issues": 200})) as server:
    requests.post(f"{server.base_url}/rest/api/3/search/jql", json={"jql": "project = ENG"},
                  auth=server.basic_auth, verify=server.ca_path)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumina_sandbox.common.server import ThreadedServer
from lumina_sandbox.jira.auth import Credentials
from lumina_sandbox.jira.control import JiraControl
from lumina_sandbox.jira.instance import Instance

__all__ = ["JiraServer"]


class JiraServer(ThreadedServer):
    """The Jira sandbox on ``https://127.0.0.1:<port>`` (``port=0``: a free one); a context manager.

    Attributes: ``base_url``, ``ca_path``, ``instance``, ``control`` (a ``JiraControl``), ``credentials``,
    ``basic_auth`` (Cloud: ``(email, api_token)``; Data Center: ``(username, password)``), ``control_key``.
    """

    name = "jira"
    tls_organization = "Lumina Jira Sandbox"

    def __init__(
        self,
        instance: Instance | None = None,
        port: int = 0,
        state_dir: str | Path | None = None,
        *,
        control_key: str | None = None,
    ) -> None:
        super().__init__(port, state_dir, control_key=control_key)
        self._own_instance = instance is None
        self.instance = instance if instance is not None else Instance.generate()

    @property
    def credentials(self) -> Credentials:
        return self.instance.auth.credentials

    @property
    def basic_auth(self) -> tuple[str, str]:
        creds = self.credentials
        return (creds.email, creds.api_token) if self.instance.cloud else (creds.username, creds.password)

    @property
    def control(self) -> JiraControl:
        return JiraControl(self.base_url, self.control_key, self.ca_path)

    def on_bound(self) -> None:
        self.instance.set_base_url(self.base_url)

    def create_app(self) -> Any:
        from lumina_sandbox.jira.app import create_app

        return create_app(self.instance, self.control_key)

    def on_stop(self) -> None:
        if self._own_instance:
            self.instance.close()
