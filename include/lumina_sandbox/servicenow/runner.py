"""The detached ServiceNow sandbox (demos, benchmarks): ``start`` (idempotent), ``stop``, ``status``, ``serve``.

State in ``<state-dir>/servicenow/`` (``common.runner``): ``ca.pem``, ``client.pem`` (the client certificate for
mutual TLS), ``credentials.json`` (instance_url, username, password, client_id, client_secret; mode 0600),
``control.key``, ``server.json``, ``server.log``. The port is ``LUMINA_SERVICENOW_PORT`` (default 9557).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lumina_integration.environment import SERVICENOW_PORT, servicenow_port
from lumina_integration.private import private_dir
from lumina_sandbox.common import runner as common

SYSTEM = "servicenow"
DEFAULT_PORT = servicenow_port()  # LUMINA_SERVICENOW_PORT


def sandbox_dir(state_dir: Path) -> Path:
    return common.sandbox_dir(state_dir, SYSTEM)


def serve(port: int, state_dir: Path, seed: int, counts: dict[str, int], mutual_tls: bool = False) -> None:
    """Run in the foreground until SIGTERM/SIGINT (what ``start`` launches in a new session)."""
    from lumina_sandbox.servicenow.instance import Instance
    from lumina_sandbox.servicenow.server import ServiceNowServer

    directory = sandbox_dir(state_dir)
    private_dir(directory)
    started = time.perf_counter()
    instance = Instance.generate(seed=seed, counts=counts)
    seeded = time.perf_counter() - started
    server = ServiceNowServer(
        instance, port, directory, control_key=common.read_control_key(directory), require_client_cert=mutual_tls
    )
    common.serve(
        server,
        directory,
        lambda running: {
            **instance.auth.credentials.as_dict(),
            "instance_url": running.base_url,
            "ca_file": "ca.pem",
            "client_cert_file": "client.pem",
            "mutual_tls": mutual_tls,
        },
        {"seed": seed, "counts": instance.generated, "seed_seconds": round(seeded, 2), "mutual_tls": mutual_tls},
        on_exit=instance.close,
    )


def start(
    port: int,
    state_dir: Path,
    seed: int = 7,
    counts: dict[str, int] | None = None,
    mutual_tls: bool = False,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start the sandbox detached unless it already runs; returns its state (``base_url``, ``pid``, ...)."""
    arguments = ["--seed", str(seed), *(["--mutual-tls"] if mutual_tls else [])]
    for name, count in (counts or {}).items():
        arguments += ["--scale", f"{name}={count}"]
    return common.start(SYSTEM, port, state_dir, arguments, port_setting=SERVICENOW_PORT, timeout=timeout)


def stop(state_dir: Path) -> bool:
    return common.stop(state_dir, SYSTEM)


def status(state_dir: Path) -> dict[str, Any] | None:
    return common.status(state_dir, SYSTEM)
