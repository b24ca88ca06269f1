"""The detached Salesforce sandbox for demos and benchmarks: ``start`` (idempotent), ``stop``, ``status``, ``serve``.

State lives in ``<state-dir>/salesforce/`` (see ``lumina_sandbox.common.runner``): ``ca.pem``,
``credentials.json`` and ``control.key`` (mode 0600), ``server.json`` (pid, port, base_url, seeding time),
``server.log``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lumina_integration.environment import LOOPBACK, SALESFORCE_PORT, salesforce_port
from lumina_integration.private import private_dir
from lumina_sandbox.common import runner as common
from lumina_sandbox.common.runner import STATE_FILE, is_listening, read_state, write_private

__all__ = ["DEFAULT_PORT", "HOST", "STATE_FILE", "is_listening", "read_state", "sandbox_dir", "write_private"]

HOST = LOOPBACK
DEFAULT_PORT = salesforce_port()  # LUMINA_SALESFORCE_PORT
SYSTEM = "salesforce"


def sandbox_dir(state_dir: Path) -> Path:
    """``<state-dir>/salesforce`` (a path that already ends in ``salesforce`` is taken as is)."""
    return common.sandbox_dir(state_dir, SYSTEM)


def serve(port: int, state_dir: Path, seed: int, counts: dict[str, int], wide_fields: int) -> None:
    """Run in the foreground until SIGTERM/SIGINT (what ``start`` launches in a new session)."""
    from lumina_sandbox.salesforce.org import Org
    from lumina_sandbox.salesforce.server import SandboxServer

    directory = sandbox_dir(state_dir)
    private_dir(directory)
    started = time.perf_counter()
    org = Org.generate(seed=seed, counts=counts, wide_fields=wide_fields)
    seeded = time.perf_counter() - started
    server = SandboxServer(org, port, directory, control_key=common.read_control_key(directory))
    common.serve(
        server,
        directory,
        lambda running: {**org.credentials.as_dict(), "instance_url": running.base_url, "ca_file": "ca.pem"},
        {"seed": seed, "counts": org.generated, "seed_seconds": round(seeded, 2)},
        on_exit=org.close,
    )


def start(
    port: int,
    state_dir: Path,
    seed: int = 7,
    counts: dict[str, int] | None = None,
    wide_fields: int = 450,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start the sandbox detached unless it already runs; returns its state (``base_url``, ``pid``, ...)."""
    arguments = ["--seed", str(seed), "--wide-fields", str(wide_fields)]
    for name, count in (counts or {}).items():
        arguments += ["--scale", f"{name}={count}"]
    return common.start(SYSTEM, port, state_dir, arguments, port_setting=SALESFORCE_PORT, timeout=timeout)


def stop(state_dir: Path) -> bool:
    """Stop the recorded sandbox; False when none was running."""
    return common.stop(state_dir, SYSTEM)


def status(state_dir: Path) -> dict[str, Any] | None:
    return common.status(state_dir, SYSTEM)
