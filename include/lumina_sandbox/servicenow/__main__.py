"""``python -m lumina_sandbox.servicenow start|stop|status|serve|bench``: the detached ServiceNow sandbox.

``serve`` runs in the foreground on ``--port`` (default ``LUMINA_SERVICENOW_PORT``, 9557) with its state in
``--state-dir``/servicenow (default ``LUMINA_STATE_DIR``); ``--scale incident=100000`` sets generated counts;
``--mutual-tls`` requires the client certificate; ``bench`` prints the sandbox's own figures.
"""

from __future__ import annotations

import json

from lumina_sandbox.common import cli
from lumina_sandbox.servicenow import runner


def main() -> None:
    parser = cli.parser("python -m lumina_sandbox.servicenow", __doc__, runner.DEFAULT_PORT, (*cli.ACTIONS, "bench"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", action="append", default=[], metavar="TABLE=COUNT")
    parser.add_argument("--mutual-tls", action="store_true", help="require the sandbox CA's client certificate")
    parser.add_argument("--incidents", type=int, default=100_000, help="bench: incidents to generate")
    parser.add_argument("--page", type=int, default=10_000, help="bench: rows per Table API page")
    args = parser.parse_args()
    counts = cli.scale(args.scale)
    handled = cli.run_common(
        args,
        runner.SYSTEM,
        lambda: runner.start(args.port, args.state_dir, args.seed, counts, args.mutual_tls),
        lambda: runner.serve(args.port, args.state_dir, args.seed, counts, args.mutual_tls),
    )
    if not handled:
        from lumina_sandbox.servicenow import bench

        print(json.dumps(bench.run(args.incidents, args.page), indent=2))


if __name__ == "__main__":
    main()
