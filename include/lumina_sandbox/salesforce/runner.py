"""The detached sandbox for demos and benchmarks: ``start`` (idempotent), ``stop``, ``status`` and ``serve``.

State lives in ``<state-dir>/salesforce/``: ``ca.pem``, ``credentials.json`` and ``control.key`` (mode 0600),
``server.json`` (pid, port, base_url, seeding time), ``server.log``. ``start`` reuses a sandbox that is already
running from the same state directory and port, like ``lumina_sandbox.s3_server``.
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
from pathlib import Path
from typing import Any

from lumina_integration.environment import LOOPBACK, salesforce_port

HOST = LOOPBACK
DEFAULT_PORT = salesforce_port()  # LUMINA_SALESFORCE_PORT
STATE_FILE = "server.json"


def sandbox_dir(state_dir: Path) -> Path:
    """``<state-dir>/salesforce`` (a path that already ends in ``salesforce`` is taken as is)."""
    return state_dir if state_dir.name == "salesforce" else state_dir / "salesforce"


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _alive(pid: int) -> bool:
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
    if not _alive(int(state.get("pid", 0))) or not state.get("ready"):
        return None
    return state


def serve(port: int, state_dir: Path, seed: int, counts: dict[str, int], wide_fields: int) -> None:
    """Run in the foreground until SIGTERM/SIGINT (what ``start`` launches in a new session)."""
    import uvicorn

    from lumina_sandbox.salesforce.org import Org
    from lumina_sandbox.salesforce.server import SandboxServer, bind

    directory = sandbox_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    org = Org.generate(seed=seed, counts=counts, wide_fields=wide_fields)
    seeded = time.perf_counter() - started
    key = (directory / "control.key").read_text().strip() if (directory / "control.key").exists() else None
    server = SandboxServer(org, port, directory, control_key=key)
    sock = bind(port)
    config = server.config(sock)
    write_private(directory / "control.key", server.control_key)
    credentials = {**org.credentials.as_dict(), "instance_url": server.base_url, "ca_file": "ca.pem"}
    write_private(directory / "credentials.json", json.dumps(credentials, indent=2))
    state = {
        "pid": os.getpid(),
        "port": server.port,
        "base_url": server.base_url,
        "seed": seed,
        "counts": org.generated,
        "seed_seconds": round(seeded, 2),
        "ready": True,
    }
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2))
    uvicorn_server = uvicorn.Server(config)
    try:
        uvicorn_server.run(sockets=[sock])
    finally:
        with contextlib.suppress(FileNotFoundError):
            (directory / STATE_FILE).unlink()
        org.close()


def start(
    port: int,
    state_dir: Path,
    seed: int = 7,
    counts: dict[str, int] | None = None,
    wide_fields: int = 450,
    timeout: float = 600,
) -> dict[str, Any]:
    """Start the sandbox detached unless it already runs; returns its state (``base_url``, ``pid``, ...)."""
    directory = sandbox_dir(state_dir)
    state = read_state(directory)
    if state is not None and state.get("port") == port and is_listening(port):
        return state
    if state is not None and is_listening(int(state.get("port", 0))):
        # A second sandbox would overwrite this one's state and credentials while it keeps running.
        raise RuntimeError(
            f"this state directory's Salesforce sandbox already runs on port {state['port']}, not {port}; "
            "stop it first (`make stop`) or set LUMINA_SALESFORCE_PORT to its port"
        )
    if is_listening(port):
        raise RuntimeError(f"port {port} is in use by something that is not this Salesforce sandbox")
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (directory / STATE_FILE).unlink()
    command = [
        sys.executable,
        "-m",
        "lumina_sandbox.salesforce",
        "serve",
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--seed",
        str(seed),
        "--wide-fields",
        str(wide_fields),
    ]
    for name, count in (counts or {}).items():
        command += ["--scale", f"{name}={count}"]
    log = (directory / "server.log").open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(directory)
        if state is not None and is_listening(port):
            return state
        if process.poll() is not None:
            raise RuntimeError(f"the Salesforce sandbox exited early; see {directory / 'server.log'}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Salesforce sandbox did not start within {timeout:.0f}s")
        time.sleep(0.2)


def stop(state_dir: Path) -> bool:
    """Stop the recorded sandbox; False when none was running."""
    directory = sandbox_dir(state_dir)
    path = directory / STATE_FILE
    if not path.exists():
        return False
    try:
        pid = int(json.loads(path.read_text()).get("pid", 0))
    except ValueError:
        pid = 0
    stopped = False
    if pid and _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        stopped = True
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return stopped


def status(state_dir: Path) -> dict[str, Any] | None:
    state = read_state(sandbox_dir(state_dir))
    if state is not None and is_listening(int(state["port"])):
        return state
    return None
