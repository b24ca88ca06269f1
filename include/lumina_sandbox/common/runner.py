"""The detached mode of a sandbox (demos, benchmarks, ``make``): ``start`` (idempotent), ``stop``, ``status`` and
the ``serve`` side that ``start`` launches as ``python -m lumina_sandbox.<system> serve`` in a new session.

State lives in ``<state-dir>/<system>/`` (the state dir is ``LUMINA_STATE_DIR``): ``ca.pem`` (and ``client.pem``
for mutual TLS), ``credentials.json`` and ``control.key`` (mode 0600), ``server.json`` (pid, port, base_url,
what was seeded), ``server.log``. ``start`` reuses a sandbox already running from the same state directory and
port, like ``lumina_sandbox.s3_server``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lumina_integration.environment import LOOPBACK
from lumina_integration.private import private_dir
from lumina_sandbox.common.server import ThreadedServer, bind

HOST = LOOPBACK
STATE_FILE = "server.json"
CREDENTIALS_FILE = "credentials.json"
CONTROL_KEY_FILE = "control.key"


def sandbox_dir(state_dir: Path, system: str) -> Path:
    """``<state-dir>/<system>`` (a path that already ends in ``system`` is taken as is)."""
    return state_dir if state_dir.name == system else state_dir / system


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only (credentials, the control key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(directory: Path) -> dict[str, Any] | None:
    """The recorded state of a running sandbox, or None (nothing recorded, or its process is gone)."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        return None
    if not alive(int(state.get("pid", 0))) or not state.get("ready"):
        return None
    return state


def read_control_key(directory: Path) -> str | None:
    """The control key a previous run left (kept across restarts so clients keep working), or None."""
    path = directory / CONTROL_KEY_FILE
    return path.read_text().strip() if path.exists() else None


def serve(
    server: ThreadedServer,
    directory: Path,
    credentials: Callable[[ThreadedServer], Mapping[str, Any]],
    state: Mapping[str, Any],
    on_exit: Callable[[], None] | None = None,
) -> None:
    """Serve ``server`` in the foreground until SIGTERM/SIGINT, recording its files in ``directory``.

    ``credentials(server)`` (called once the base URL is known) is written to ``credentials.json``; ``state``
    is added to ``server.json``.
    """
    import uvicorn

    sock = bind(server.port)
    config = server.config(sock)
    write_private(directory / CONTROL_KEY_FILE, server.control_key)
    write_private(directory / CREDENTIALS_FILE, json.dumps(dict(credentials(server)), indent=2))
    record = {"pid": os.getpid(), "port": server.port, "base_url": server.base_url, **state, "ready": True}
    (directory / STATE_FILE).write_text(json.dumps(record, indent=2))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        with contextlib.suppress(FileNotFoundError):
            (directory / STATE_FILE).unlink()
        if on_exit is not None:
            on_exit()


def start(
    system: str,
    port: int,
    state_dir: Path,
    arguments: list[str],
    *,
    port_setting: str,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start ``python -m lumina_sandbox.<system> serve --port P --state-dir D <arguments>`` detached unless it
    already runs; returns its state (``base_url``, ``pid``, ...). ``port_setting`` names the env setting."""
    label = system.capitalize() if system.islower() else system
    directory = sandbox_dir(state_dir, system)
    state = read_state(directory)
    if state is not None and state.get("port") == port and is_listening(port):
        return state
    if state is not None and is_listening(int(state.get("port", 0))):
        # A second sandbox would overwrite this one's state and credentials while it keeps running.
        raise RuntimeError(
            f"this state directory's {label} sandbox already runs on port {state['port']}, not {port}; "
            f"stop it first (`make stop`) or set {port_setting} to its port"
        )
    if is_listening(port):
        raise RuntimeError(f"port {port} is in use by something that is not this {label} sandbox")
    private_dir(directory)
    with contextlib.suppress(FileNotFoundError):
        (directory / STATE_FILE).unlink()
    command = [sys.executable, "-m", f"lumina_sandbox.{system}", "serve", "--port", str(port)]
    command += ["--state-dir", str(state_dir), *arguments]
    log = (directory / "server.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(directory)
        if state is not None and is_listening(port):
            return state
        if process.poll() is not None:
            raise RuntimeError(f"the {label} sandbox exited early; see {directory / 'server.log'}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {label} sandbox did not start within {timeout:.0f}s")
        time.sleep(0.2)


def stop(state_dir: Path, system: str) -> bool:
    """Stop the recorded sandbox; False when none was running."""
    directory = sandbox_dir(state_dir, system)
    path = directory / STATE_FILE
    if not path.exists():
        return False
    try:
        pid = int(json.loads(path.read_text()).get("pid", 0))
    except ValueError:
        pid = 0
    stopped = False
    if pid and alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        stopped = True
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return stopped


def status(state_dir: Path, system: str) -> dict[str, Any] | None:
    """The state of the running sandbox (listening on its recorded port), or None."""
    state = read_state(sandbox_dir(state_dir, system))
    if state is not None and is_listening(int(state["port"])):
        return state
    return None
