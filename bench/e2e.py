"""``make bench``: Salesforce Accounts through the whole pipeline, against dlt and the physical limit.

    .venv/bin/python -m bench.e2e [--sizes 1000000 5000000] [--pipeline-sizes 1000000 5000000] [--profile DIR]

For each size a detached sandbox org with that many Accounts is started (HTTPS on loopback); the lake is
moto's S3 server on a free loopback port, the warehouse a fresh schema in the local Postgres. Then:

1. ours: the ``salesforce_account`` DAG of ``dags/`` (plan, extract, transform, validate, load with merge),
   each task a real Airflow task instance in a process of its own (``bench/airflow_task.py``), with its
   wall time and peak RSS;
2. dlt (every size of ``--peer-sizes``; both merge strategies at the first, the faster at the others): the
   same org into the same Postgres, merged on ``Id`` (``bench/dlt_peer.py``);
3. the physical limit (the same sizes): the same Bulk bytes fetched unparsed plus a server-side COPY into
   a table with a primary key (``bench/limit.py``);
4. the parse time of a ``dags/`` folder with 100 generated pipelines (``bench/parse_time.py``);
5. unless ``--skip-incremental``: ``bench/incremental.py`` in a child (a run of 2,000 changes through a
   real scheduler against dlt's incremental merge, and the capacity in runs per hour).

Before each measured phase it waits (up to ``--phase-wait`` seconds; ``--initial-wait`` before the first)
until the 1-minute load average is below ``--quiet-load``, and records the load it started under.
Results: ``bench/results/latest.json``; a table, the ratios and every target's verdict are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import environment_summary, free_port
from bench.report import print_report, summarise

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "latest.json"
DAG_ID = "salesforce_account"
TASKS = ("plan", "extract", "transform", "validate", "load")
SANDBOX_PORT = 9567  # --sandbox-port: two benchmark runs on one machine must not share an org
OTHER_OBJECTS = {"Contact": 10, "Opportunity": 10, "Case": 10, "Lead": 10, "Invoice__c": 5, "AccountHistory": 10}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_until_quiet(threshold: float, max_wait: float) -> dict[str, float]:
    """Wait until the 1-minute load average is below ``threshold`` (at most ``max_wait`` s)."""
    started = time.monotonic()
    load = load_average()
    while load >= threshold and time.monotonic() - started < max_wait:
        time.sleep(5)
        load = load_average()
    return {"load_1m": load, "waited_s": round(time.monotonic() - started)}


class Bench:
    """The servers, the throwaway Airflow home and the child processes of one benchmark run."""

    def __init__(self, workdir: Path, postgres: str, profile: Path | None) -> None:
        from sqlalchemy.engine import make_url

        from lumina_integration.protection.keys import generate_keys, keys_connection

        self.workdir, self.profile = workdir, profile
        self.pg = make_url(postgres)
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        home = workdir / "airflow"
        home.mkdir()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "great_expectations=WARNING",
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": "us-east-1",
            # The transform pseudonymises the PII classes of the policy with these (fresh keys per run).
            "AIRFLOW_CONN_LUMINA_PII_KEYS": json.dumps(keys_connection(generate_keys())),
            "GX_ANALYTICS_ENABLED": "False",
            "PYTHONPATH": str(ROOT),
            # The Arrow memory pool the Dockerfile and the Makefile set for every task (README "Deploying").
            "ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "jemalloc"),
        }
        self.s3_port = free_port()

    # -- environment ----------------------------------------------------------------------------------------

    def start(self) -> None:
        from lumina_sandbox import s3_server

        log("migrating a throwaway Airflow metadata DB (SQLite)")
        self._run([sys.executable, "-m", "airflow", "db", "migrate"], "airflow-migrate")
        endpoint = s3_server.start(self.s3_port, self.workdir / "s3")
        # The lake the plan step checks the connection against (`make bench` exports the demo's LUMINA_S3_PORT).
        self.env["LUMINA_S3_ENDPOINT"] = endpoint
        self.env["AIRFLOW_CONN_LUMINA_LAKE"] = json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        )
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        s3.create_bucket(Bucket="lumina-lake")
        log(f"lake: moto S3 server at {endpoint}")

    def stop(self) -> None:
        from lumina_sandbox import s3_server

        s3_server.stop(self.s3_port, self.workdir / "s3")

    def warehouse(self, schema: str, conn_id: str = "lumina_warehouse") -> None:
        """The Airflow connection ``conn_id`` (in the children's environment) to ``schema`` of the Postgres."""
        self.env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
            {
                "conn_type": "postgres",
                "host": self.pg.host or "127.0.0.1",
                "port": self.pg.port or 5432,
                "login": self.pg.username or "postgres",
                "password": self.pg.password or "",
                "schema": self.pg.database or "postgres",
                "extra": {"warehouse_schema": schema},
            }
        )

    def dsn(self) -> str:
        return self.pg.set(drivername="postgresql").render_as_string(hide_password=False)

    def drop_schema(self, schema: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            # dlt keeps its merge staging tables in a schema of its own beside the dataset.
            for name in (schema, f"{schema}_staging"):
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    # -- children -------------------------------------------------------------------------------------------

    def _run(self, command: list[str], name: str, stdin: str | None = None) -> str:
        """Run a child with its output in ``logs/<name>.log``; returns its last line."""
        path = self.logs / f"{name}.log"
        with path.open("w") as out:
            done = subprocess.run(
                command, input=stdin, stdout=out, stderr=subprocess.STDOUT, text=True, env=self.env, cwd=ROOT
            )
        lines = path.read_text().strip().splitlines()
        if done.returncode:
            tail = "\n".join(lines[-40:])
            raise RuntimeError(f"{name} failed ({done.returncode}); last lines of {path}:\n{tail}")
        # The child's result is its last JSON line (a profiler may print after it).
        return next((line for line in reversed(lines) if line.startswith("{")), "")

    def _python(self, module: str, args: list[str], name: str, stdin: str | None = None) -> dict[str, Any]:
        command = [sys.executable, "-m", module, *args]
        if self.profile is not None:
            self.profile.mkdir(parents=True, exist_ok=True)
            out = self.profile / f"{name}.txt"
            spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
            command = [spy, "record", "--format", "raw", "--rate", "50", "--subprocesses", "-o", str(out), "--"]
            command += [sys.executable, "-m", module, *args]
        result: dict[str, Any] = json.loads(self._run(command, name, stdin))
        return result

    # -- phases ---------------------------------------------------------------------------------------------

    def pipeline(self, size: int) -> dict[str, Any]:
        """The DAG's five tasks in order, each in a fresh process; wall time and peak RSS per task."""
        run_id = self._python("bench.airflow_task", ["create-run", DAG_ID], f"create-run-{size}")["run_id"]
        tasks, started = {}, time.perf_counter()
        for task in TASKS:
            tasks[task] = self._python("bench.airflow_task", ["run", DAG_ID, run_id, task], f"{task}-{size}")
            log(f"  {task}: {tasks[task]['seconds']} s, peak RSS {tasks[task]['peak_rss_mb']} MB")
        wall = time.perf_counter() - started
        return {"tasks": tasks, "wall_seconds_with_process_starts": round(wall, 2), "run_id": run_id}

    def dlt(self, schema: str, connection: str, strategy: str) -> dict[str, Any]:
        workdir = self.workdir / f"dlt-{strategy}"
        args = [schema, str(workdir), "--strategy", strategy, "--postgres", self.dsn()]
        result = self._python("bench.dlt_peer", args, f"dlt-{strategy}", stdin=connection)
        shutil.rmtree(workdir, ignore_errors=True)
        return result

    def limit(self, schema: str, connection: str) -> dict[str, Any]:
        return self._python("bench.limit", [schema, str(self.workdir), self.dsn()], "limit", stdin=connection)

    def parse_time(self) -> dict[str, Any]:
        return self._python("bench.parse_time", [str(self.workdir / "parse")], "parse-time")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows of one statement on the benchmark's Postgres."""
        import psycopg

        with psycopg.connect(self.dsn()) as conn:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]

    def warehouse_rows(self, schema: str) -> dict[str, int]:
        """The customer table's live and soft-deleted rows."""
        rows = self.query(
            "SELECT COUNT(*) FILTER (WHERE NOT _is_deleted), COUNT(*) FILTER (WHERE _is_deleted) "
            f'FROM "{schema}".customer'
        )
        return {"live": int(rows[0][0]), "deleted": int(rows[0][1])} if rows else {"live": 0, "deleted": 0}


def measure_size(bench: Bench, size: int, args: argparse.Namespace, first: bool) -> dict[str, Any]:
    from lumina_sandbox.salesforce import runner
    from lumina_sandbox.salesforce.demo import airflow_connection

    out: dict[str, Any] = {"accounts": size, "load": {}}
    state_dir = bench.workdir / f"org-{size}"
    log(f"seeding a sandbox org with {size:,} Accounts")
    state = runner.start(args.sandbox_port, state_dir, 7, {"Account": size, **OTHER_OBJECTS}, 20, timeout=1800)
    out["seed_seconds"] = state["seed_seconds"]
    connection = json.dumps(airflow_connection(state_dir))
    bench.env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = connection
    schemas = []
    try:
        if size in args.pipeline_sizes:
            schema = f"bench_ours_{uuid.uuid4().hex[:8]}"
            schemas.append(schema)
            bench.warehouse(schema)
            out["load"]["pipeline"] = wait_until_quiet(args.quiet_load, args.initial_wait if first else args.phase_wait)
            log(f"our pipeline at {size:,} (load {out['load']['pipeline']['load_1m']})")
            out["pipeline"] = bench.pipeline(size)
            out["pipeline"]["warehouse_rows"] = bench.warehouse_rows(schema)
        if not args.skip_peers and size in args.peer_sizes:
            # Both merge strategies at the first size; at the others dlt's faster one of those.
            strategies = args.dlt_strategies if first or not args.best_dlt_strategy else [args.best_dlt_strategy]
            for strategy in strategies:
                schema = f"bench_dlt_{uuid.uuid4().hex[:8]}"
                schemas.append(schema)
                key = f"dlt_{strategy}"
                out["load"][key] = wait_until_quiet(args.quiet_load, args.phase_wait)
                log(f"dlt ({strategy}) at {size:,} (load {out['load'][key]['load_1m']})")
                out[key] = bench.dlt(schema, connection, strategy)
                log(f"  {out[key]['rows_per_s']:,} rows/s")
            if first:
                args.best_dlt_strategy = max(strategies, key=lambda s: out[f"dlt_{s}"]["rows_per_s"])
            schema = f"bench_limit_{uuid.uuid4().hex[:8]}"
            schemas.append(schema)
            out["load"]["limit"] = wait_until_quiet(args.quiet_load, args.phase_wait)
            log(f"physical limit at {size:,} (load {out['load']['limit']['load_1m']})")
            out["limit"] = bench.limit(schema, connection)
            log(f"  {out['limit']['rows_per_s']:,} rows/s")
    finally:
        runner.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        for schema in schemas:
            bench.drop_schema(schema)
    return out


def run_incremental(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``bench/incremental.py`` in a child (its own org, lake, schemas and Airflow): its result."""
    import shlex

    output = workdir / "incremental.json"
    log("incremental run, dlt's incremental merge and capacity (bench/incremental.py)")
    command = [sys.executable, "-m", "bench.incremental", "--output", str(output), *shlex.split(args.incremental_args)]
    if args.skip_peers:
        command.append("--skip-peers")
    subprocess.run(command, check=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--pipeline-sizes", type=int, nargs="*", default=None, help="default: every size")
    parser.add_argument("--dlt-strategies", nargs="+", default=["delete-insert", "upsert"])
    parser.add_argument(
        "--peer-sizes", type=int, nargs="*", default=None, help="dlt and the limit; default: every size"
    )
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument(
        "--skip-incremental",
        action="store_true",
        help="without the incremental run and capacity (bench/incremental.py)",
    )
    parser.add_argument("--incremental-args", default="", help="passed to bench.incremental, e.g. '--accounts 200000'")
    parser.add_argument("--quiet-load", type=float, default=0.7)
    parser.add_argument("--initial-wait", type=float, default=1200)
    parser.add_argument("--phase-wait", type=float, default=90)
    parser.add_argument("--postgres", default=os.environ.get("LUMINA_TEST_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--profile", type=Path, help="record each child with py-spy into this folder")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT)
    parser.add_argument("--keep-logs", action="store_true", help="keep the children's logs (printed at the end)")
    args = parser.parse_args()
    if args.pipeline_sizes is None:
        args.pipeline_sizes = args.sizes
    if args.peer_sizes is None:
        args.peer_sizes = args.sizes
    args.best_dlt_strategy = None

    disk_free_gb = shutil.disk_usage(tempfile.gettempdir()).free / 1e9
    need_gb = max(args.sizes) / 1e6 * 3 + 2
    if disk_free_gb < need_gb:
        sys.exit(f"{disk_free_gb:.0f} GB free for temporary files; {need_gb:.0f} GB needed at {max(args.sizes):,}")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="lumina-bench-"))
    bench = Bench(workdir, args.postgres, args.profile)
    sizes: list[dict[str, Any]] = []
    try:
        bench.start()
        for number, size in enumerate(args.sizes):
            sizes.append(measure_size(bench, size, args, first=number == 0))
        log("parse time of a dags/ folder with 100 generated pipelines")
        parse = bench.parse_time()
        incremental = None if args.skip_incremental else run_incremental(workdir, args)
    except BaseException:
        bench.stop()
        # The children's logs are the only account of what failed: keep them (the lake goes).
        log(f"failed; the logs stay in {bench.logs}")
        shutil.rmtree(workdir / "s3", ignore_errors=True)
        raise
    bench.stop()
    if args.keep_logs:
        shutil.rmtree(workdir / "s3", ignore_errors=True)
        log(f"the logs stay in {bench.logs}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    results = summarise(sizes, parse, environment_summary(), args, incremental)
    results["bench_seconds"] = round(time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    log(f"results written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")


if __name__ == "__main__":
    main()
