"""What every randomized change-capture test shares, whatever the source: the settings, the statistics, and a
state machine base that runs a pipeline (scheduled, manual or backfill; with a fault or a worker killed at a
failpoint and retried), tracks which changes no run has read yet, and checks the warehouse against the source's
truth after every run.

A source's test subclasses :class:`ChangeCaptureMachine` with its pipelines, its faults (``inject``), its truth
(``compare``) and its source operations as rules. Rules whose strategies name the subclass's pipelines are
declared there (a decorator's arguments are fixed when the class is made) and call the base's steps.

Settings (environment): ``LUMINA_CDC_EXAMPLES`` sequences of at most ``LUMINA_CDC_STEPS`` steps each, for every
source's test. The defaults are CI's quick setting; ``make soak`` runs thousands of steps.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

EXAMPLES = int(os.environ.get("LUMINA_CDC_EXAMPLES", "2"))
STEPS = int(os.environ.get("LUMINA_CDC_STEPS", "14"))
# Faults a run is drawn with; each source says what they are (``inject``): "storm" (429s and 503s with
# Retry-After), "expire" (the session or token ends mid-read), "drop" (a connection cut mid-page), "kill".
FAULTS = ("none", "none", "none", "storm", "expire", "drop", "kill")
KILL_POINTS = [
    ("extract", "extract.after_manifest"),
    ("extract", "staging.part_uploaded"),
    ("load", "load.copy"),
    ("load", "load.before_commit"),
    ("load", "load.after_commit"),
]
INTERVAL_S = 900  # the pipelines' cron: */15

# What fired over one test: events (steps), the sequences that saw each, records involved.
STATS: dict[str, Counter[str]] = {"events": Counter(), "sequences": Counter(), "records": Counter()}
_THIS_SEQUENCE: set[str] = set()


def event(label: str, *, records: str | None = None, count: int = 0) -> None:
    """A hypothesis event (``--hypothesis-show-statistics``) that is also counted in ``STATS``."""
    hypothesis_event(label)
    STATS["events"][label] += 1
    _THIS_SEQUENCE.add(label)
    if records:
        STATS["records"][records] += count


def write_stats(path: Any) -> str:
    """``STATS`` as JSON in ``path``; returns the text."""
    body = {"examples": EXAMPLES, "steps": STEPS, **{k: dict(sorted(v.items())) for k, v in STATS.items()}}
    text = json.dumps(body, indent=2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")
    return text


class Verdict(Protocol):
    """A comparison's outcome (``compare.exact`` of a sandbox)."""

    @property
    def equal(self) -> bool: ...

    def describe(self) -> str: ...


class ChangeCaptureMachine(RuleBasedStateMachine):
    """The source, the pipelines, and what the comparison must leave out until a run reads it.

    Subclasses set ``PIPELINES`` (dag id -> the source object it reads) and ``TABLES`` (dag id -> its
    warehouse table), and implement ``source`` (the sandbox state: ``now()``, ``advance(seconds)``),
    ``inject``/``clear_faults`` and ``compare``.
    """

    PIPELINES: ClassVar[dict[str, str]] = {}
    TABLES: ClassVar[dict[str, str]] = {}
    LOOKBACK: ClassVar[timedelta] = timedelta(minutes=10)  # the pipelines' window.lookback
    CONN_ID: ClassVar[str] = ""  # the source's Airflow connection (its circuit breaker is closed per sequence)
    env: Any = None  # (pipelines fixture, sandbox server), set by the test

    def __init__(self) -> None:
        super().__init__()
        self.p, self.server = self.env
        # Records whose last change no run has read yet although it is below the watermark: late commits
        # (inside the lookback: the next window covers them) and changes stamped below it (missed updates).
        self.late: dict[str, dict[str, datetime]] = {dag: {} for dag in self.PIPELINES}
        self.missed: dict[str, set[str]] = {dag: set() for dag in self.PIPELINES}  # updates below the lookback
        self.gone = dict.fromkeys(self.PIPELINES, False)  # deletes the warehouse cannot see until a reconcile
        self.scheduled: set[tuple[str, datetime]] = set()
        self.started = self.source.now()
        self.runs = 0
        _THIS_SEQUENCE.clear()

    def teardown(self) -> None:
        STATS["sequences"].update(_THIS_SEQUENCE)
        STATS["sequences"]["(sequences run)"] += 1
        _THIS_SEQUENCE.clear()

    # -- what a source says ---------------------------------------------------------------------------
    @property
    def source(self) -> Any:
        raise NotImplementedError

    def inject(self, fault: str) -> None:
        """Arm the sandbox with ``fault`` ("storm", "expire", "drop") for the next run."""
        raise NotImplementedError

    def clear_faults(self) -> None:
        raise NotImplementedError

    def compare(self, dag_id: str, watermark: datetime | None) -> Verdict:
        """The warehouse against the source for ``dag_id``, below ``watermark``, leaving out what ``late``,
        ``gone`` and the source's own stale flags say no run could have read yet."""
        raise NotImplementedError

    def inspect_run(self, dag_id: str, plan: dict[str, Any]) -> None:
        """Source-specific checks of a successful run's plan (before the comparison)."""

    def change_now(self, dag_id: str, data: Any) -> dict[str, datetime]:
        """Change a few of ``dag_id``'s records at the source's current time (marking them ``fresh``);
        returns their new stamps."""
        raise NotImplementedError

    # -- the state between sequences ------------------------------------------------------------------
    def fresh_warehouse(self) -> None:
        """Drop the warehouse schema and this machine's DAG runs from the metadata DB; close the breaker."""
        from airflow import settings as airflow_settings
        from airflow.models.dagrun import DagRun
        from airflow_runs import close_breaker

        close_breaker(self.CONN_ID)
        with self.p.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.p.schema}" CASCADE')
        session = airflow_settings.Session()
        dag_ids = [d for d in self.p.bag.dags if d.startswith(tuple(self.PIPELINES))]
        for run in session.query(DagRun).filter(DagRun.dag_id.in_(dag_ids)):
            session.delete(run)
        session.commit()

    # -- the comparison -------------------------------------------------------------------------------
    def check(self, dag_id: str) -> None:
        result = self.compare(dag_id, self.p.watermark(dag_id))
        assert result.equal, f"after run {self.runs}: {result.describe()}"

    def fingerprint(self, dag_id: str) -> tuple[Any, ...]:
        """Everything a run could change: the pipeline's table, its state row, the audit rows."""
        table = self.TABLES[dag_id]
        rows = self.p.rows(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {{s}}.{table} t"
        )
        state = self.p.rows("SELECT watermark, run_key FROM {s}.lumina_state WHERE pipeline_id = :p", p=dag_id)
        audit = self.p.rows("SELECT count(*) FROM {s}.lumina_audit")
        return rows[0], tuple(state), audit[0]

    @staticmethod
    def draw_ids(
        data: Any, stamps: dict[str, datetime], most: int = 4, at_or_before: datetime | None = None
    ) -> list[str]:
        """A few of the records ``stamps`` names (id -> last stamp); ``at_or_before``: only those last stamped
        then or earlier (a change stamped in the past must not move a record's stamp backwards)."""
        pool = sorted(i for i, s in stamps.items() if at_or_before is None or s <= at_or_before)
        if not pool:
            return []
        return list(data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True)))

    def dag_of(self, source_object: str) -> str:
        return next(d for d, o in self.PIPELINES.items() if o == source_object)

    def fresh(self, source_object: str, ids: list[str]) -> None:
        """These records changed now: no longer late commits, nor missed updates."""
        for dag_id, name in self.PIPELINES.items():
            if name == source_object:
                for i in ids:
                    self.late[dag_id].pop(i, None)
                superseded = self.missed[dag_id] & set(ids)
                if superseded:
                    self.missed[dag_id] -= superseded
                    STATS["records"]["missed updates superseded by a later change"] += len(superseded)

    # -- runs -----------------------------------------------------------------------------------------
    def run_dag(
        self,
        dag_id: str,
        run_type: str,
        fault: str,
        data: Any = None,
        *,
        interval: tuple[datetime, datetime] | None = None,
        conf: dict[str, Any] | None = None,
        label: str | None = None,
        unread: dict[str, datetime] | None = None,
    ) -> Any:
        """One run of ``dag_id`` with ``fault``; it must succeed, then the comparison must hold. Returns the
        run (None when a backfill's interval ran already).

        ``scheduled``: the last complete 15-minute interval (a manual catch-up when that one ran already);
        ``backfill``: a drawn interval since the sequence began (skipped when it ran already).
        ``unread``: records the run changes while it reads (page hooks) with stamps inside its window that
        it may have paged past already: late for the next run, whatever this one's window covers."""
        workers = None
        if interval is not None:
            pass  # the caller chose it (and recorded it in self.scheduled)
        elif run_type == "scheduled":
            interval = self.p.last_interval()
            if (dag_id, interval[0]) in self.scheduled:
                run_type, interval = "manual", None  # that interval ran already: catch up instead
            else:
                self.scheduled.add((dag_id, interval[0]))
        elif run_type == "backfill":
            span = max(int((self.source.now() - self.started).total_seconds() // INTERVAL_S), 1)
            start = self.started + timedelta(seconds=INTERVAL_S * data.draw(st.integers(0, span - 1)))
            start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
            interval = (start, start + timedelta(seconds=INTERVAL_S))
            if (dag_id, interval[0]) in self.scheduled:
                return None
            self.scheduled.add((dag_id, interval[0]))
        if fault == "kill":
            task_id, point = data.draw(st.sampled_from(KILL_POINTS))
            workers = {task_id: point}
        elif fault != "none":
            self.inject(fault)
        event(f"{label or run_type + ' run'}, fault: {fault}")
        run = self.p.run(dag_id, run_type, interval=interval, workers=workers, conf=conf)
        self.clear_faults()
        self.runs += 1
        assert run.state == "success", f"{dag_id} {label or run_type} run with fault {fault}: {run.states()}"
        if workers:
            # A failpoint on a path the run does not take (a COPY or a part upload of nothing) never fires.
            assert len(run.killed) <= 1
            event("worker killed, task retried" if run.killed else "failpoint not reached (nothing staged)")
        self.after_run(dag_id, run, unread)
        return run

    def after_run(self, dag_id: str, run: Any, unread: dict[str, datetime] | None = None) -> None:
        """What the run's window covered is no longer late; then the comparison."""
        from lumina_integration.window import Window

        plan = run.xcom("plan")
        self.inspect_run(dag_id, plan)
        window = Window.from_xcom(plan["window"])
        covered = {i for i, stamp in self.late[dag_id].items() if window.contains(stamp)}
        repaired = covered & self.missed[dag_id]
        if repaired:
            event(
                "missed updates read by a window over their stamps",
                records="missed updates read by a window over their stamps",
                count=len(repaired),
            )
            self.missed[dag_id] -= repaired
        self.late[dag_id] = {i: stamp for i, stamp in self.late[dag_id].items() if i not in covered}
        self.late[dag_id].update(unread or {})
        self.check(dag_id)

    def run_maintenance(self, dag_id: str) -> Any:
        run = self.p.run(dag_id)
        self.runs += 1
        assert run.state == "success", f"{dag_id}: {run.states()}"
        return run

    def clock_steps_back(self, dag_id: str, beyond: bool, minutes: int, change: bool, data: Any) -> None:
        """The source's clock steps back behind the watermark (an NTP step, a restored host): by more than the
        lookback (``beyond``), or inside it. Changes made meanwhile are stamped by that clock. Beyond the
        lookback a continuing run must refuse to plan (issue 9, item 4: it read empty windows and said
        nothing) and change nothing; inside it, it reads what it can. Then the clock is right again and
        runs resume."""
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        now = self.source.now()
        behind = watermark - (self.LOOKBACK + timedelta(minutes=minutes) if beyond else timedelta(minutes=minutes % 9))
        back = (now - behind).total_seconds()
        before, alerts = self.fingerprint(dag_id), len(self.p.alerts.messages())
        self.source.advance(-back)
        if change:
            stamps = self.change_now(dag_id, data)
            if stamps:
                self.late[dag_id].update(stamps)
                if beyond:
                    self.missed[dag_id].update(stamps)
                    event(
                        "changes while the clock was behind, below the lookback",
                        records="missed updates made",
                        count=len(stamps),
                    )
        run = self.p.run(dag_id)  # manual: continues from the watermark
        self.runs += 1
        if beyond:
            event("source clock behind the watermark by more than the lookback")
            plan = run.task_instance("plan")
            assert run.state == "failed" and str(plan.state) == "failed", (
                f"{dag_id}: the source clock {self.source.now().isoformat()} is {back:.0f} s back, behind the "
                f"watermark {watermark.isoformat()} by more than the lookback, and the run went on: {run.states()}, "
                f"plan: {run.xcom('plan')}"
            )
            assert plan.try_number == 1, "a clock behind the watermark is not retried"
            assert self.fingerprint(dag_id) == before, "a refused run changed the warehouse"
            [alert] = [m["text"] for m in self.p.alerts.messages()[alerts:]]
            assert f"{dag_id}.plan failed" in alert and "lookback" in alert and "clock" in alert, alert
        else:
            event("source clock behind the watermark inside the lookback")
            assert run.state == "success", f"{dag_id} with the clock {back:.0f} s back: {run.states()}"
            self.after_run(dag_id, run)
        self.source.advance(back + 61)  # right again (and past the safety lag)
        self.run_dag(dag_id, "manual", "none", label="run after the clock is right again")

    def reconciled(self, dag_id: str) -> tuple[int, int]:
        """After a reconcile (it compares versions: every record whose stamp the warehouse does not hold is
        read again), nothing is left out any more. Returns (missed, late) it repaired."""
        missed, late = len(self.missed[dag_id]), len(self.late[dag_id])
        self.gone[dag_id] = False
        self.late[dag_id], self.missed[dag_id] = {}, set()
        return missed, late


def run_machine(
    machine: type[ChangeCaptureMachine],
    env: tuple[Any, Any],
    stats_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run ``machine`` at the configured setting; print and write the statistics (``$LUMINA_CDC_STATS``,
    else ``stats_name`` in the test's tmp dir) whatever the outcome."""
    machine.env = env
    for counts in STATS.values():
        counts.clear()
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            ),
        )
    finally:
        path = stats_path(stats_name, tmp_path)
        text = write_stats(path)
        with capsys.disabled():
            print(f"\nchange-capture statistics ({path}):\n{text}")


def stats_path(stats_name: str, tmp_path: Path) -> Path:
    """``$LUMINA_CDC_STATS`` names the Salesforce test's file; the other sources' go beside it, suffixed."""
    given = os.environ.get("LUMINA_CDC_STATS")
    if not given:
        return tmp_path / stats_name
    path = Path(given)
    suffix = stats_name.removeprefix("cdc-stats").removesuffix(".json")
    return path.with_name(f"{path.stem}{suffix}{path.suffix}") if suffix else path
