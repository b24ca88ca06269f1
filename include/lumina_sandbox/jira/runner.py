"""The detached Jira sandbox (demos, benchmarks): ``start`` (idempotent), ``stop``, ``status``, ``serve``.

State in ``<state-dir>/jira/`` (``common.runner``): ``ca.pem``, ``credentials.json`` (base_url, email, api_token,
username, password, personal_access_token, client_id, client_secret, deployment; mode 0600), ``control.key``,
``server.json``, ``server.log``. The port is ``LUMINA_JIRA_PORT`` (default 9558).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lumina_integration.environment import JIRA_PORT, jira_port
from lumina_integration.private import private_dir
from lumina_sandbox.common import runner as common

SYSTEM = "jira"
DEFAULT_PORT = jira_port()  # LUMINA_JIRA_PORT


def sandbox_dir(state_dir: Path) -> Path:
    return common.sandbox_dir(state_dir, SYSTEM)


def serve(port: int, state_dir: Path, seed: int, counts: dict[str, int], deployment: str = "cloud") -> None:
    """Run in the foreground until SIGTERM/SIGINT (what ``start`` launches in a new session)."""
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    directory = sandbox_dir(state_dir)
    private_dir(directory)
    started = time.perf_counter()
    instance = Instance.generate(seed=seed, counts=counts, deployment=deployment)
    seeded = time.perf_counter() - started
    server = JiraServer(instance, port, directory, control_key=common.read_control_key(directory))
    common.serve(
        server,
        directory,
        lambda running: {
            **instance.auth.credentials.as_dict(),
            "base_url": running.base_url,
            "deployment": deployment,
            "cloud_id": instance.cloud_id,
            "account_id": instance.me(),
            "ca_file": "ca.pem",
        },
        {"seed": seed, "counts": instance.generated, "seed_seconds": round(seeded, 2), "deployment": deployment},
        on_exit=instance.close,
    )


def start(
    port: int,
    state_dir: Path,
    seed: int = 7,
    counts: dict[str, int] | None = None,
    deployment: str = "cloud",
    timeout: float = 600,
) -> dict[str, Any]:
    """Start the sandbox detached unless it already runs; returns its state (``base_url``, ``pid``, ...)."""
    arguments = ["--seed", str(seed), "--deployment", deployment]
    for name, count in (counts or {}).items():
        arguments += ["--scale", f"{name}={count}"]
    return common.start(SYSTEM, port, state_dir, arguments, port_setting=JIRA_PORT, timeout=timeout)


def stop(state_dir: Path) -> bool:
    return common.stop(state_dir, SYSTEM)


def status(state_dir: Path) -> dict[str, Any] | None:
    return common.status(state_dir, SYSTEM)
