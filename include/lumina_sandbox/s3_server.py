"""A real S3 endpoint on loopback (moto's server), started once and shared by demo, UI and tests.

``python -m lumina_sandbox.s3_server start`` starts it detached (idempotent: an already running
server on the port is reused) and ``stop`` ends it. Data lives in the server's memory only.
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

DEFAULT_PORT = int(os.environ.get("LUMINA_S3_PORT", "9555"))
HOST = "127.0.0.1"


def endpoint_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{port}"


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def start(port: int, state_dir: Path) -> str:
    """Start the server unless one already answers on ``port``; returns its endpoint URL."""
    if is_listening(port):
        return endpoint_url(port)
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / f"s3-{port}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the make target that started it
    )
    (state_dir / f"s3-{port}.pid").write_text(str(process.pid))
    deadline = time.monotonic() + 30
    while not is_listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the S3 sandbox did not start on port {port}; see {log.name}")
        time.sleep(0.1)
    return endpoint_url(port)


def stop(port: int, state_dir: Path) -> bool:
    pid_file = state_dir / f"s3-{port}.pid"
    if not pid_file.exists():
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    pid_file.unlink()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-dir", type=Path, default=Path(".lumina"))
    args = parser.parse_args()
    if args.action == "start":
        print(start(args.port, args.state_dir))
    else:
        print("stopped" if stop(args.port, args.state_dir) else "not running")


if __name__ == "__main__":
    main()
