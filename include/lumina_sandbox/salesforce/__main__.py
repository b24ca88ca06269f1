"""``python -m lumina_sandbox.salesforce start|stop|status|serve|bench|connect``: the detached Salesforce sandbox.

``connect`` starts the demo org (or reuses the running one) and stores its ``salesforce_default``
connection in Airflow's metadata database, for ``make ui``.
"""

from __future__ import annotations

import json

from lumina_sandbox.common import cli
from lumina_sandbox.salesforce import runner


def main() -> None:
    parser = cli.parser(
        "python -m lumina_sandbox.salesforce", __doc__, runner.DEFAULT_PORT, (*cli.ACTIONS, "bench", "connect")
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--wide-fields", type=int, default=450)
    parser.add_argument("--scale", action="append", default=[], metavar="OBJECT=COUNT")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="bench: Accounts to seed")
    parser.add_argument("--rest-records", type=int, default=200_000, help="bench: records paged over REST")
    args = parser.parse_args()
    counts = cli.scale(args.scale)
    handled = cli.run_common(
        args,
        runner.SYSTEM,
        lambda: runner.start(args.port, args.state_dir, args.seed, counts, args.wide_fields),
        lambda: runner.serve(args.port, args.state_dir, args.seed, counts, args.wide_fields),
    )
    if handled:
        return
    if args.action == "connect":
        from lumina_sandbox.salesforce import demo

        control = demo.start(args.state_dir)
        print(f"{demo.CONN_ID} -> {control.base_url}")
    else:
        from lumina_sandbox.salesforce import bench

        print(json.dumps(bench.run(args.accounts, args.rest_records, args.port), indent=2))


if __name__ == "__main__":
    main()
