"""A real S3 endpoint on loopback (moto's server), started once and shared by demo, UI and tests.

``python -m lumina_sandbox.s3_server start`` starts it detached (idempotent: the server this state
directory started on the port is reused) and ``stop`` ends it (without ``--port``: every one this state
directory started). Data lives in the server's memory only. The port is ``LUMINA_S3_PORT`` (default 9555)
and the state directory ``LUMINA_STATE_DIR``; see ``lumina_integration.environment``.

Something else listening on the port (another checkout's sandbox, typically) is refused, not reused:
staging into it would mix two environments' lakes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from lumina_integration.environment import LOOPBACK, s3_port, state_dir
from lumina_integration.private import private_dir

DEFAULT_PORT = s3_port()
HOST = LOOPBACK


def endpoint_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{port}"


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _pid_file(state: Path, port: int) -> Path:
    return state / f"s3-{port}.pid"


def _ours(state: Path, port: int) -> bool:
    """Whether the server on ``port`` is the one this state directory started (its process is alive)."""
    pid_file = _pid_file(state, port)
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def start(port: int, state: Path) -> str:
    """Start the server unless this state directory's one already answers on ``port``; returns its URL."""
    if is_listening(port):
        if _ours(state, port):
            return endpoint_url(port)
        raise RuntimeError(
            f"port {port} is in use by a server this checkout did not start (another checkout's S3 sandbox?); "
            f"set LUMINA_S3_PORT to a free port, or stop that server"
        )
    private_dir(state)
    log = (state / f"s3-{port}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the make target that started it
    )
    _pid_file(state, port).write_text(str(process.pid))
    deadline = time.monotonic() + 30
    while not is_listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the S3 sandbox did not start on port {port}; see {log.name}")
        time.sleep(0.1)
    return endpoint_url(port)


def stop(port: int | None, state: Path) -> bool:
    """Stop the server on ``port`` this state directory started (None: all of them); False if none was."""
    pid_files = [_pid_file(state, port)] if port is not None else sorted(state.glob("s3-*.pid"))
    stopped = False
    for pid_file in pid_files:
        if not pid_file.exists():
            continue
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
        stopped = True
    return stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--port", type=int, default=None, help=f"default: LUMINA_S3_PORT ({DEFAULT_PORT}); stop: all")
    parser.add_argument("--state-dir", type=Path, default=state_dir())
    args = parser.parse_args()
    if args.action == "start":
        print(start(args.port or DEFAULT_PORT, args.state_dir))
    else:
        print("stopped" if stop(args.port, args.state_dir) else "not running")


if __name__ == "__main__":
    main()
