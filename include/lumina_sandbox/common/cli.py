"""The ``python -m lumina_sandbox.<system> start|stop|status|serve`` argument helpers every sandbox shares."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lumina_integration.environment import state_dir
from lumina_sandbox.common import runner

ACTIONS = ("start", "stop", "status", "serve")


def parser(prog: str, description: str | None, default_port: int, actions: tuple[str, ...] = ACTIONS) -> Any:
    """An argument parser with ``action``, ``--port`` (default: the system's env setting) and ``--state-dir``."""
    result = argparse.ArgumentParser(prog=prog, description=description)
    result.add_argument("action", choices=list(actions))
    result.add_argument("--port", type=int, default=default_port)
    result.add_argument("--state-dir", type=Path, default=state_dir())  # LUMINA_STATE_DIR
    return result


def scale(values: list[str]) -> dict[str, int]:
    """``--scale NAME=COUNT`` values as ``{NAME: COUNT}``."""
    counts = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name or not count.isdigit():
            raise SystemExit(f"--scale takes NAME=count, got {value!r}")
        counts[name] = int(count)
    return counts


def run_common(args: Any, system: str, start: Callable[[], dict[str, Any]], serve: Callable[[], None]) -> bool:
    """Handle ``start``/``stop``/``status``/``serve``; False for an action the system handles itself."""
    if args.action == "start":
        print(start()["base_url"])
    elif args.action == "stop":
        print("stopped" if runner.stop(args.state_dir, system) else "not running")
    elif args.action == "status":
        found = runner.status(args.state_dir, system)
        print(f"running at {found['base_url']} (pid {found['pid']})" if found else "not running")
    elif args.action == "serve":
        serve()
    else:
        return False
    return True
