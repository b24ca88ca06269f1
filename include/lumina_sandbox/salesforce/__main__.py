"""``python -m lumina_sandbox.salesforce start|stop|status|serve|bench|connect``: the detached Salesforce sandbox.

``connect`` starts the demo org (or reuses the running one) and stores its ``salesforce_default``
connection in Airflow's metadata database, for ``make ui``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lumina_integration.environment import state_dir
from lumina_sandbox.salesforce import runner


def _scale(values: list[str]) -> dict[str, int]:
    counts = {}
    for value in values:
        name, _, count = value.partition("=")
        if not name or not count.isdigit():
            raise SystemExit(f"--scale takes Object=count, got {value!r}")
        counts[name] = int(count)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lumina_sandbox.salesforce", description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "status", "serve", "bench", "connect"])
    parser.add_argument("--port", type=int, default=runner.DEFAULT_PORT)
    parser.add_argument("--state-dir", type=Path, default=state_dir())  # LUMINA_STATE_DIR
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--wide-fields", type=int, default=450)
    parser.add_argument("--scale", action="append", default=[], metavar="OBJECT=COUNT")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="bench: Accounts to seed")
    parser.add_argument("--rest-records", type=int, default=200_000, help="bench: records paged over REST")
    args = parser.parse_args()
    if args.action == "start":
        state = runner.start(args.port, args.state_dir, args.seed, _scale(args.scale), args.wide_fields)
        print(state["base_url"])
    elif args.action == "stop":
        print("stopped" if runner.stop(args.state_dir) else "not running")
    elif args.action == "status":
        found = runner.status(args.state_dir)
        print(f"running at {found['base_url']} (pid {found['pid']})" if found else "not running")
    elif args.action == "connect":
        from lumina_sandbox.salesforce import demo

        control = demo.start(args.state_dir)
        print(f"{demo.CONN_ID} -> {control.base_url}")
    elif args.action == "serve":
        runner.serve(args.port, args.state_dir, args.seed, _scale(args.scale), args.wide_fields)
    else:
        from lumina_sandbox.salesforce import bench

        print(json.dumps(bench.run(args.accounts, args.rest_records, args.port), indent=2))


if __name__ == "__main__":
    main()
