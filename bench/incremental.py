"""``make bench-incremental``: a small run as the scheduler runs it, against dlt, and how many fit in an hour.

    .venv/bin/python -m bench.incremental [--accounts 1000000] [--changed 2000] [--copies 4] [--rounds 3]

Most production runs are not first loads but windows of a few thousand changes, where what a task costs
before its operator starts dominates. So this benchmark runs Airflow as a deployment does
(``bench/airflow_stack.py``: scheduler with the LocalExecutor at the Makefile's parallelism of 4,
dag-processor, api-server; every task a process the executor starts) over a copy of ``dags/`` in which the
``salesforce_account`` spec differs in one line (``schedule: "@yearly"``, so that no scheduled run
interferes), plus ``--copies - 1`` copies of it writing to warehouse schemas of their own. A sampler
(``bench/process_sampler.py``) reads CPU and peak RSS of every process from ``/proc`` throughout.

1. first load: the scheduler's run of ``salesforce_account`` over an org of ``--accounts`` Accounts (wall,
   and each task's peak RSS as a LocalExecutor task process, without the harness of ``bench/e2e.py``);
2. dlt first-loads the same org with its incremental cursor on ``SystemModstamp`` (``bench/dlt_peer.py``);
3. ``--changed`` Accounts are updated in the org (stamped 90 s ago, inside the safety lag's reach);
4. ours: a run triggered through the REST API; wall time from the trigger to the committed watermark
   (polled in the warehouse), where the seconds go (queued, process start and DAG parse, operator, per
   task, from the metadata DB and the task logs);
5. dlt: its incremental run of the same changes as a fresh process (interpreter start included, as ours);
6. capacity: the main schema is cloned for each copy, then ``--rounds`` rounds of ``--changed`` fresh
   changes, every copy triggered at once; pipelines per hour, the cores' busy share, the executor slots'
   occupancy, CPU seconds by component, and the limiting resource named.

Results: ``bench/results/incremental.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.airflow_stack import AirflowStack
from bench.common import environment_summary
from bench.e2e import DEFAULT_POSTGRES, OTHER_OBJECTS, ROOT, TASKS, Bench, log
from bench.process_sampler import ProcessSampler

RESULTS = ROOT / "bench" / "results" / "incremental.json"
PIPELINE = "salesforce_account"
SPEC = Path("crm") / f"{PIPELINE}.dag.yaml"
SCHEDULE_LINE = 'schedule: "*/15 * * * *"'
SANDBOX_PORT = 19610  # not make bench's 9567: both may run on one machine
PARALLELISM = 4  # the Makefile's AIRFLOW__CORE__PARALLELISM
CHANGE_LAG = timedelta(seconds=90)  # the changes' stamp behind now: past the spec's 1 min safety lag
CHANGED_EMPLOYEES = 424_242  # the value every changed Account gets (the seed never makes it)
BUSY = 0.85  # a resource at this share or more of its capacity is the one that limits


# -- the DAG folder ---------------------------------------------------------------------------------------------


def copy_name(number: int) -> str:
    return PIPELINE if number == 0 else f"{PIPELINE}_c{number}"


def copy_warehouse(number: int) -> str:
    """The warehouse connection of copy ``number`` (0: the pipeline's own)."""
    return "lumina_warehouse" if number == 0 else f"lumina_warehouse_c{number}"


def build_dags(target: Path, copies: int) -> list[str]:
    """A copy of ``dags/`` with the pipeline unscheduled in effect, and ``copies - 1`` copies of it."""
    shutil.copytree(ROOT / "dags", target, ignore=shutil.ignore_patterns("__pycache__"))
    spec = (target / SPEC).read_text()
    if SCHEDULE_LINE not in spec:
        raise RuntimeError(f"{SPEC} no longer has {SCHEDULE_LINE!r}: update bench/incremental.py")
    spec = spec.replace(SCHEDULE_LINE, 'schedule: "@yearly"')
    (target / SPEC).write_text(spec)
    for number in range(1, copies):
        copy = spec + f"load:\n  warehouse_conn_id: {copy_warehouse(number)}\n"
        (target / SPEC.parent / f"{copy_name(number)}.dag.yaml").write_text(copy)
    return [copy_name(n) for n in range(copies)]


def data_protection(target: Path, copies: int) -> Path:
    """``include/data_protection.yaml`` with the copies' warehouse connections declared in its region."""
    settings = yaml.safe_load((ROOT / "include" / "data_protection.yaml").read_text())
    region = settings["warehouses"][copy_warehouse(0)]
    for number in range(1, copies):
        settings["warehouses"][copy_warehouse(number)] = dict(region)
    path = target / "data_protection.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


# -- the warehouse ----------------------------------------------------------------------------------------------


WATERMARK = 'SELECT watermark FROM "{schema}".lumina_state WHERE pipeline_id = %s'


def watermark(bench: Bench, schema: str, pipeline: str) -> Any:
    rows = bench.query(WATERMARK.format(schema=schema), pipeline)
    return rows[0][0] if rows else None


def clone_schema(bench: Bench, source: str, target: str, pipeline: str, copy: str) -> float:
    """Every table of ``source`` into ``target``, the pipeline's rows renamed to the copy's; seconds."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(bench.dsn()) as conn:
        conn.execute(f'CREATE SCHEMA "{target}"')
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (source,),
            )
        ]
        for table in tables:
            conn.execute(f'CREATE TABLE "{target}"."{table}" (LIKE "{source}"."{table}" INCLUDING ALL)')
            conn.execute(f'INSERT INTO "{target}"."{table}" OVERRIDING SYSTEM VALUE SELECT * FROM "{source}"."{table}"')
        keyed = conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = 'pipeline_id'",
            (target,),
        ).fetchall()
        for (table,) in keyed:
            conn.execute(f'UPDATE "{target}"."{table}" SET pipeline_id = %s WHERE pipeline_id = %s', (copy, pipeline))
    return round(time.perf_counter() - started, 2)


class CommitWatch:
    """Polls the warehouse for the pipeline's watermark to move: the instant the load's transaction is visible."""

    def __init__(self, bench: Bench, schema: str, pipeline: str, poll: float = 0.05) -> None:
        self.bench, self.schema, self.pipeline, self.poll = bench, schema, pipeline, poll
        self.before = watermark(bench, schema, pipeline)
        self.committed_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(self.bench.dsn(), autocommit=True) as conn:
            sql = WATERMARK.format(schema=self.schema)
            while not self._stop.is_set():
                row = conn.execute(sql, (self.pipeline,)).fetchone()
                if row and row[0] != self.before:
                    self.committed_at = time.perf_counter()
                    return
                self._stop.wait(self.poll)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# -- where a run's seconds go -----------------------------------------------------------------------------------


def _log_events(path: Path) -> list[dict[str, Any]]:
    events = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and "timestamp" in event:
                events.append(event)
    return events


def _instant(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))


def _first(events: list[dict[str, Any]], text: str, after: datetime | None = None) -> datetime | None:
    return next(
        (_instant(e) for e in events if e.get("event") == text and (after is None or _instant(e) >= after)), None
    )


def task_phases(stack: AirflowStack, dag_id: str, run_id: str, task: dict[str, Any], task_id: str) -> dict[str, Any]:
    """One task's seconds: queued -> process running -> DAG parsed -> operator starts -> ends -> task ends.

    The metadata DB gives queued, start (the supervisor has forked the task process) and end. The task's log
    (Airflow 3's JSON lines) gives the rest: the runner's "Pre Execute" group holds the DAG file's parse
    (up to "Worker startup parse complete"); the operator runs from the group's end to "Post Execute".
    """
    events = _log_events(stack.task_log(dag_id, run_id, task_id, task["try_number"] or 1))
    pre = _first(events, "::group::Pre Execute")
    parsed = _first(events, "Worker startup parse complete")
    operator_start = _first(events, "::endgroup::", parsed)
    operator_end = _first(events, "::group::Post Execute", operator_start)
    return {
        "queued_to_start_s": _seconds(task["queued"], task["start"]),
        "start_to_parse_s": _seconds(task["start"], pre),
        "parse_s": _seconds(pre, parsed),
        "parse_to_operator_s": _seconds(parsed, operator_start),
        "operator_s": _seconds(operator_start, operator_end),
        "operator_end_to_end_s": _seconds(operator_end, task["end"]),
        "start_to_end_s": _seconds(task["start"], task["end"]),
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 2) if start and end else None


def run_breakdown(stack: AirflowStack, dag_id: str, run_id: str, sampler: ProcessSampler) -> dict[str, Any]:
    timing = stack.timings(dag_id, run_id)
    run, tasks = timing["run"], timing["tasks"]
    breakdown: dict[str, Any] = {}
    previous_end = run["start"]
    for task_id in TASKS:
        task = tasks[task_id]
        phases = {"waiting_for_upstream_s": _seconds(previous_end, task["queued"])}
        phases.update(task_phases(stack, dag_id, run_id, task, task_id))
        if task["pid"]:
            phases["peak_rss_mb"] = sampler.peak_rss_of(task["pid"])
        breakdown[task_id] = phases
        previous_end = task["end"]
    return {
        "queued_to_start_s": _seconds(run["queued"], run["start"]),
        "run_s": _seconds(run["start"], run["end"]),
        "state": run["state"],
        "tasks": breakdown,
    }


# -- the phases -------------------------------------------------------------------------------------------------


class Incremental:
    """One benchmark run: the org, the stack, the sampler, and the schemas to drop at the end."""

    def __init__(self, bench: Bench, args: argparse.Namespace) -> None:
        self.bench, self.args = bench, args
        self.pipelines = build_dags(bench.workdir / "dags", args.copies)
        self.schemas = {name: f"bench_incr_{uuid.uuid4().hex[:8]}" for name in self.pipelines}
        bench.env["AIRFLOW__CORE__DAGS_FOLDER"] = str(bench.workdir / "dags")
        bench.env["LUMINA_DATA_PROTECTION"] = str(data_protection(bench.workdir, args.copies))
        for number, name in enumerate(self.pipelines):
            bench.warehouse(self.schemas[name], conn_id=copy_warehouse(number))
        self.dlt_schema = f"bench_incr_dlt_{uuid.uuid4().hex[:8]}"
        self.dlt_dir = bench.workdir / "dlt"
        self.control: Any = None
        self.changed_ids: list[str] = []

    def change(self, count: int) -> list[str]:
        """``count`` live Accounts not changed before in this benchmark, updated in the org, stamped 90 s ago."""
        ids = [
            r[0]
            for r in self.bench.query(
                f'SELECT source_id FROM "{self.schemas[PIPELINE]}".customer WHERE NOT _is_deleted '
                "AND NOT (source_id = ANY(%s)) ORDER BY source_id LIMIT %s",
                self.changed_ids,
                count,
            )
        ]
        stamp = datetime.now(UTC) - CHANGE_LAG
        # Employees, not a PII field: the warehouse holds the value itself (phones are pseudonymised).
        self.control.update("Account", [{"Id": i, "NumberOfEmployees": CHANGED_EMPLOYEES} for i in ids], modstamp=stamp)
        self.changed_ids += ids
        return ids

    def dlt(self, incremental_run: bool) -> dict[str, Any]:
        args = [self.dlt_schema, str(self.dlt_dir), "--strategy", "delete-insert", "--incremental"]
        args += ["--postgres", self.bench.dsn()]
        name = "dlt-incremental" if incremental_run else "dlt-first-load"
        started = time.perf_counter()
        result = self.bench._python(
            "bench.dlt_peer", args, name, stdin=self.bench.env["AIRFLOW_CONN_SALESFORCE_DEFAULT"]
        )
        result["process_wall_s"] = round(time.perf_counter() - started, 2)
        return result

    def audit(self, pipeline: str, run_id: str) -> dict[str, Any]:
        """The run's audit row (written in the load's transaction)."""
        schema = self.schemas[pipeline]
        rows = self.bench.query(
            f'SELECT rows_staged, rows_inserted, rows_updated, rows_unchanged FROM "{schema}".lumina_audit '
            "WHERE pipeline_id = %s AND run_id = %s",
            pipeline,
            run_id,
        )
        if not rows:
            raise RuntimeError(f"no audit row for {pipeline} {run_id}")
        staged, inserted, updated, unchanged = rows[-1]
        return {"rows_staged": staged, "rows_inserted": inserted, "rows_updated": updated, "rows_unchanged": unchanged}


def scheduled_first_load(stack: AirflowStack, dag_id: str, timeout: float) -> str:
    """Unpause, and trigger a run unless the scheduler made one of the latest @yearly tick; wait for it."""
    stack.unpause(dag_id)
    deadline = time.monotonic() + 5
    while not (runs := stack.runs(dag_id)) and time.monotonic() < deadline:
        time.sleep(1)
    run_id = str(runs[0]["dag_run_id"]) if runs else stack.trigger(dag_id)
    state = stack.wait_run(dag_id, run_id, timeout)
    if state != "success":
        raise RuntimeError(
            f"the first run of {dag_id} ended {state} (task logs under {stack.env['AIRFLOW_HOME']}/logs)"
        )
    return run_id


def triggered_run(stack: AirflowStack, run: Incremental, pipeline: str) -> dict[str, Any]:
    """A run triggered now; seconds from the trigger to the committed watermark and to the run's end."""
    watch = CommitWatch(run.bench, run.schemas[pipeline], pipeline)
    started = time.perf_counter()
    run_id = stack.trigger(pipeline)
    state = stack.wait_run(pipeline, run_id, timeout=600, poll=0.2)
    ended = time.perf_counter()
    watch.stop()
    if state != "success" or watch.committed_at is None:
        raise RuntimeError(f"{pipeline} {run_id} ended {state}, watermark committed: {watch.committed_at is not None}")
    return {
        "run_id": run_id,
        "trigger_to_commit_s": round(watch.committed_at - started, 2),
        "trigger_to_run_end_s": round(ended - started, 2),
    }


def limiting_resource(cpu_busy_share: float, slots: float) -> str:
    if cpu_busy_share >= BUSY:
        return f"CPU: the {os.cpu_count()} cores {cpu_busy_share:.0%} busy"
    if slots >= BUSY:
        return f"executor slots: {slots:.0%} of the {PARALLELISM} LocalExecutor slots occupied"
    return (
        f"neither CPU ({cpu_busy_share:.0%} busy) nor slots ({slots:.0%}): the time between tasks "
        "(scheduler loop, process start) in each run's chain of five tasks"
    )


def capacity(stack: AirflowStack, run: Incremental, sampler: ProcessSampler) -> dict[str, Any]:
    copies = run.pipelines[1:]
    clones = {c: clone_schema(run.bench, run.schemas[PIPELINE], run.schemas[c], PIPELINE, c) for c in copies}
    log(f"  cloned the warehouse for {len(copies)} copies in {sum(clones.values()):.1f} s")
    for copy in copies:  # each copy's unpause makes one scheduled run: a warm-up, not measured
        scheduled_first_load(stack, copy, 600)
    rounds = []
    for number in range(run.args.rounds):
        run.change(run.args.changed)
        mark = sampler.mark()
        started = time.perf_counter()
        ids = {p: stack.trigger(p) for p in run.pipelines}
        states = {p: stack.wait_run(p, r, timeout=600, poll=0.5) for p, r in ids.items()}
        wall = time.perf_counter() - started
        window = sampler.window(mark)
        if any(s != "success" for s in states.values()):
            raise RuntimeError(f"capacity round {number}: {states}")
        busy_slot_s = 0.0
        walls = []
        for pipeline, run_id in ids.items():
            timing = stack.timings(pipeline, run_id)
            walls.append(_seconds(timing["run"]["queued"], timing["run"]["end"]) or 0.0)
            busy_slot_s += sum(_seconds(t["start"], t["end"]) or 0.0 for t in timing["tasks"].values())
        rounds.append({"wall_s": round(wall, 2), "run_walls_s": walls, "slot_s": round(busy_slot_s, 2), **window})
        log(f"  round {number + 1}: {len(ids)} runs in {wall:.1f} s, cores {window['cpu_busy_share']:.0%} busy")
    wall = sum(r["wall_s"] for r in rounds)
    runs_done = len(run.pipelines) * len(rounds)
    slots = sum(r["slot_s"] for r in rounds) / (PARALLELISM * wall)
    cpu: dict[str, float] = {}
    for r in rounds:
        for name, seconds in r["cpu_seconds_by_component"].items():
            cpu[name] = round(cpu.get(name, 0.0) + seconds, 2)
    busy = sum((r["cpu_busy_share"] * r["wall_s"]) for r in rounds) / wall
    all_walls = sorted(w for r in rounds for w in r["run_walls_s"])
    return {
        "pipelines": len(run.pipelines),
        "rounds": rounds,
        "runs": runs_done,
        "wall_s": round(wall, 2),
        "pipelines_per_hour": round(runs_done / wall * 3600),
        "run_wall_median_s": round(statistics.median(all_walls), 2),
        "run_wall_max_s": round(all_walls[-1], 2),
        "cpu_busy_share": round(busy, 3),
        "slot_occupancy": round(slots, 3),
        "cpu_seconds_by_component": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
        "cpu_seconds_per_run": round(sum(cpu.values()) / runs_done, 2),
        "limited_by": limiting_resource(busy, slots),
        "clone_seconds": clones,
    }


def measure(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    from lumina_sandbox.salesforce import runner
    from lumina_sandbox.salesforce.control import SandboxControl
    from lumina_sandbox.salesforce.demo import airflow_connection

    run = Incremental(bench, args)
    state_dir = bench.workdir / "org"
    log(f"seeding a sandbox org with {args.accounts:,} Accounts")
    state = runner.start(args.sandbox_port, state_dir, 7, {"Account": args.accounts, **OTHER_OBJECTS}, 20, timeout=1800)
    bench.env["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(airflow_connection(state_dir))
    run.control = SandboxControl.from_state_dir(state_dir)
    settings = dict(item.split("=", 1) for item in args.airflow_setting)
    stack = AirflowStack(bench.env, bench.logs, PARALLELISM, settings)
    out: dict[str, Any] = {"accounts": args.accounts, "changed": args.changed, "seed_seconds": state["seed_seconds"]}
    try:
        with ProcessSampler() as sampler:
            log("starting the scheduler, dag-processor and api-server (LocalExecutor, parallelism 4)")
            started = time.perf_counter()
            stack.start()
            out["pools"] = stack.create_pools(ROOT / "airflow_settings.yaml")
            stack.wait_for_dags(run.pipelines)
            out["stack_start_s"] = round(time.perf_counter() - started, 2)

            log(f"first load of {args.accounts:,} Accounts, as the scheduler runs it")
            mark = sampler.mark()
            first = scheduled_first_load(stack, PIPELINE, 300 + args.accounts / 5000)
            out["first_load"] = {**run_breakdown(stack, PIPELINE, first, sampler), **sampler.window(mark)}
            out["first_load"]["warehouse_rows"] = bench.query(
                f'SELECT COUNT(*) FROM "{run.schemas[PIPELINE]}".customer'
            )[0][0]
            peaks = {t: p.get("peak_rss_mb") for t, p in out["first_load"]["tasks"].items()}
            log(f"  {out['first_load']['run_s']} s, task peak RSS under the LocalExecutor: {peaks}")

            if not args.skip_peers:
                log("dlt: first load with its incremental cursor")
                out["dlt_first_load"] = run.dlt(incremental_run=False)
                log(f"  {out['dlt_first_load']['process_wall_s']} s")

            ids = run.change(args.changed)
            log(f"changed {len(ids):,} Accounts; ours: a run triggered through the REST API")
            mark = sampler.mark()
            ours = triggered_run(stack, run, PIPELINE)
            ours.update(run_breakdown(stack, PIPELINE, ours["run_id"], sampler))
            ours.update(sampler.window(mark))
            ours["audit"] = run.audit(PIPELINE, ours["run_id"])
            ((repaired,),) = bench.query(
                f'SELECT COUNT(*) FROM "{run.schemas[PIPELINE]}".customer '
                "WHERE source_id = ANY(%s) AND employee_count = %s",
                ids,
                CHANGED_EMPLOYEES,
            )
            ours["changed_rows_in_warehouse"] = repaired
            out["ours"] = ours
            log(f"  trigger -> committed watermark {ours['trigger_to_commit_s']} s ({ours['audit']})")
            if repaired != len(ids):
                raise RuntimeError(f"{repaired} of the {len(ids)} changed Accounts reached the warehouse")

            if not args.skip_peers:
                log("dlt: incremental run of the same changes, a fresh process")
                out["dlt"] = run.dlt(incremental_run=True)
                log(f"  {out['dlt']['process_wall_s']} s, {out['dlt']['rows_read']:,} rows read")
                out["ours_over_dlt"] = round(ours["trigger_to_commit_s"] / out["dlt"]["process_wall_s"], 2)

            if args.copies > 1 and args.rounds:
                log(f"capacity: {args.copies} pipelines, {args.rounds} rounds of {args.changed:,} changes each")
                out["capacity"] = capacity(stack, run, sampler)
                log(f"  {out['capacity']['pipelines_per_hour']} pipelines/hour; {out['capacity']['limited_by']}")
    finally:
        stack.stop()
        runner.stop(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        for schema in [*run.schemas.values(), run.dlt_schema]:
            bench.drop_schema(schema)
    return out


COLUMNS = (
    ("upstream", "waiting_for_upstream_s"),
    ("queued", "queued_to_start_s"),
    ("start", "start_to_parse_s"),
    ("parse", "parse_s"),
    ("operator", "operator_s"),
    ("after", "operator_end_to_end_s"),
    ("RSS MB", "peak_rss_mb"),
)


def print_tasks(tasks: dict[str, Any]) -> None:
    print(f"  {'task':<10}" + "".join(f"{title:>10}" for title, _ in COLUMNS))
    for task, phases in tasks.items():
        cells = [phases.get(key) for _, key in COLUMNS]
        print(f"  {task:<10}" + "".join(f"{'-' if c is None else c:>10}" for c in cells))


def print_report(result: dict[str, Any]) -> None:
    ours, first = result["ours"], result["first_load"]
    print(f"\nFirst load of {result['accounts']:,} Accounts as the scheduler runs it: {first['run_s']} s")
    print_tasks(first["tasks"])
    print(f"\nIncremental run: {result['changed']:,} changed of {result['accounts']:,} Accounts")
    print(f"  ours: trigger -> committed watermark {ours['trigger_to_commit_s']} s (run {ours['run_s']} s)")
    print_tasks(ours["tasks"])
    if "dlt" in result:
        verdict = "meets" if result["ours_over_dlt"] <= 1 else "misses"
        print(f"  dlt: {result['dlt']['process_wall_s']} s as a fresh process")
        print(f"  ours / dlt = {result['ours_over_dlt']} ({verdict} the aim of <= 1)")
    if "capacity" in result:
        c = result["capacity"]
        print(
            f"\nCapacity: {c['pipelines_per_hour']} incremental pipelines/hour "
            f"({c['runs']} runs of {c['pipelines']} pipelines)"
        )
        print(f"  limited by {c['limited_by']}")
        print(f"  CPU s per run {c['cpu_seconds_per_run']}: {c['cpu_seconds_by_component']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=2_000)
    parser.add_argument("--copies", type=int, default=4, help="pipelines in the capacity phase (1: no capacity phase)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--postgres", default=os.environ.get("LUMINA_TEST_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--sandbox-port", type=int, default=SANDBOX_PORT)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--airflow-setting", action="append", default=[], metavar="AIRFLOW__SECTION__KEY=VALUE", help="for a trial"
    )
    args = parser.parse_args()
    # A SIGTERM (a timeout, Ctrl-C's cousin) still stops Airflow's components and the org on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="lumina-bench-incremental-"))
    bench = Bench(workdir, args.postgres, None)
    try:
        bench.start()
        result = measure(bench, args)
    except BaseException:
        log(f"failed; the logs stay in {workdir}")
        bench.stop()
        raise
    bench.stop()
    if args.keep_logs:
        log(f"the logs stay in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    result["machine"] = environment_summary()
    result["parallelism"] = PARALLELISM
    result["airflow_settings"] = dict(item.split("=", 1) for item in args.airflow_setting)
    result["bench_seconds"] = round(time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_report(result)
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
