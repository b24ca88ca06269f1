"""``python -m lumina_sandbox.jira start|stop|status|serve|bench``: the detached Jira sandbox.

``serve`` runs in the foreground on ``--port`` (default ``LUMINA_JIRA_PORT``, 9558) with its state in
``--state-dir``/jira (default ``LUMINA_STATE_DIR``); ``--scale issues=100000`` sets the generated count;
``--deployment datacenter`` serves Data Center's API instead of Cloud's; ``bench`` prints the sandbox's figures.
"""

from __future__ import annotations

import json

from lumina_sandbox.common import cli
from lumina_sandbox.jira import runner


def main() -> None:
    parser = cli.parser("python -m lumina_sandbox.jira", __doc__, runner.DEFAULT_PORT, (*cli.ACTIONS, "bench"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", action="append", default=[], metavar="issues=COUNT")
    parser.add_argument("--deployment", choices=["cloud", "datacenter"], default="cloud")
    parser.add_argument("--issues", type=int, default=100_000, help="bench: issues to generate")
    parser.add_argument("--page", type=int, default=100, help="bench: issues per search page")
    args = parser.parse_args()
    counts = cli.scale(args.scale)
    handled = cli.run_common(
        args,
        runner.SYSTEM,
        lambda: runner.start(args.port, args.state_dir, args.seed, counts, args.deployment),
        lambda: runner.serve(args.port, args.state_dir, args.seed, counts, args.deployment),
    )
    if not handled:
        from lumina_sandbox.jira import bench

        print(json.dumps(bench.run(args.issues, args.page), indent=2))


if __name__ == "__main__":
    main()
