"""Randomized change capture: random source operations interleaved with real DAG runs, faults, kills,
retries, backfills and maintenance runs; after every run the warehouse equals the org for everything
below the committed watermark.

Settings (environment): ``LUMINA_CDC_EXAMPLES`` sequences of at most ``LUMINA_CDC_STEPS`` steps each.
The defaults are CI's quick setting; ``make soak`` runs thousands of steps. A failure prints the
shrunk sequence of steps and a ``@reproduce_failure`` blob.

What "equal below the watermark" means (``compare.exact``): every org record whose SystemModstamp is
below the pipeline's committed watermark, live or in the recycle bin, is in the warehouse with the same
compared columns (live) or deleted; nothing else is live there; no key twice. Left out while a
maintenance run has not yet had the chance to see them: ids gone from the org entirely (until a
reconcile), formula values whose inputs changed (until a refresh), the column-only backfill of a field
added mid-life (until a refresh), and late commits (until a run's window covers their stamps).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("LUMINA_CDC_EXAMPLES", "2"))
STEPS = int(os.environ.get("LUMINA_CDC_STEPS", "14"))
SMALL_ORG = {"Account": 40, "Contact": 30, "Opportunity": 4, "Case": 4, "Lead": 2, "User": 3, "Invoice__c": 2}
PIPELINES = {"salesforce_account": "Account", "salesforce_contact": "Contact"}
LOOKBACK = timedelta(minutes=10)
FAULTS = ("none", "none", "none", "storm", "expire", "drop", "kill")
KILL_POINTS = [
    ("extract", "extract.after_manifest"),
    ("extract", "staging.part_uploaded"),
    ("load", "load.copy"),
    ("load", "load.before_commit"),
    ("load", "load.after_commit"),
]


@pytest.fixture(scope="module")
def small_org() -> Iterator[Any]:
    from lumina_sandbox.salesforce.org import Org
    from lumina_sandbox.salesforce.server import SandboxServer

    with SandboxServer(Org.generate(seed=11, counts=SMALL_ORG)) as server:
        yield server


class ChangeCapture(RuleBasedStateMachine):
    """The org, the pipelines and what the comparison must leave out until maintenance runs."""

    env: Any = None  # (pipelines fixture, server), set by the test

    def __init__(self) -> None:
        super().__init__()
        self.p, server = self.env
        self.org = server.org
        self.late: dict[str, dict[str, datetime]] = {dag: {} for dag in PIPELINES}
        self.gone = dict.fromkeys(PIPELINES, False)  # hard deletes no reconcile has seen
        self.formulas_stale = False  # an account renamed: contacts' Account_Name__c until a refresh
        self.segment_stale = False  # Customer_Segment__c rolled out: its backfill until a refresh
        self.scheduled: set[tuple[str, datetime]] = set()
        self.started = self.org.now()
        self.runs = 0

    @initialize()
    def fresh_org_and_warehouse(self) -> None:
        from airflow import settings as airflow_settings
        from airflow.models.dagrun import DagRun
        from airflow_runs import close_breaker

        self.org.reset()
        self.org.faults.clear()
        close_breaker()
        with self.p.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.p.schema}" CASCADE')
        session = airflow_settings.Session()
        dag_ids = [d for d in self.p.bag.dags if d.startswith(tuple(PIPELINES))]
        for run in session.query(DagRun).filter(DagRun.dag_id.in_(dag_ids)):
            session.delete(run)
        session.commit()
        self.started = self.org.now()
        for dag_id in PIPELINES:
            self._run(dag_id, "manual", "none")

    # -- the comparison ------------------------------------------------------------------------------
    def check(self, dag_id: str) -> None:
        watermark = self.p.watermark(dag_id)
        skip: tuple[str, ...] = ()
        if dag_id == "salesforce_contact" and self.formulas_stale:
            skip = ("customer_name",)
        if dag_id == "salesforce_account" and self.segment_stale:
            skip = ("segment",)
        result = self.p.exact(
            dag_id,
            below=watermark,
            ignore_gone=self.gone[dag_id],
            skip_columns=skip,
            skip_ids=frozenset(self.late[dag_id]),
        )
        assert result.equal, f"after run {self.runs}: {result.describe()}"

    def _ids(self, data: Any, sobject: str, deleted: bool = False, most: int = 4) -> list[str]:
        live = self.org.ids(sobject)
        pool = sorted(self.org.ids(sobject, include_deleted=True) - live if deleted else live)
        if not pool:
            return []
        return data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True))

    def _fresh(self, sobject: str, ids: list[str]) -> None:
        """These records changed now: no longer late commits."""
        for dag_id, name in PIPELINES.items():
            if name == sobject:
                for i in ids:
                    self.late[dag_id].pop(i, None)

    # -- runs ----------------------------------------------------------------------------------------
    def _run(self, dag_id: str, run_type: str, fault: str, data: Any = None) -> None:
        org, workers = self.org, None
        interval = None
        if run_type == "scheduled":
            interval = self.p.last_interval()
            if (dag_id, interval[0]) in self.scheduled:
                run_type, interval = "manual", None  # that interval ran already: catch up instead
            else:
                self.scheduled.add((dag_id, interval[0]))
        elif run_type == "backfill":
            span = max(int((org.now() - self.started).total_seconds() // 900), 1)
            start = self.started + timedelta(seconds=900 * data.draw(st.integers(0, span - 1)))
            start = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
            interval = (start, start + timedelta(minutes=15))
            if (dag_id, interval[0]) in self.scheduled:
                return
            self.scheduled.add((dag_id, interval[0]))
        if fault == "storm":
            org.faults.add("any", status=429, retry_after=1, times=2)
            org.faults.add("any", status=503, retry_after=1, times=2, after=3)
        elif fault == "expire":
            org.faults.add("query", "expire_session", after=1)
        elif fault == "drop":
            org.faults.add("query", "drop")
        elif fault == "kill":
            task_id, point = data.draw(st.sampled_from(KILL_POINTS))
            workers = {task_id: point}
        event(f"{run_type} run, fault: {fault}")
        run = self.p.run(dag_id, run_type, interval=interval, workers=workers)
        org.faults.clear()
        self.runs += 1
        assert run.state == "success", f"{dag_id} {run_type} run with fault {fault}: {run.states()}"
        if workers:
            # A failpoint on a path the run does not take (a COPY or a part upload of nothing) never fires.
            assert len(run.killed) <= 1
            event("worker killed, task retried" if run.killed else "failpoint not reached (nothing staged)")
        from lumina_integration.window import Window

        window = Window.from_xcom(run.xcom("plan")["window"])
        self.late[dag_id] = {i: stamp for i, stamp in self.late[dag_id].items() if not window.contains(stamp)}
        self.check(dag_id)

    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        run_type=st.sampled_from(["scheduled", "scheduled", "manual", "backfill"]),
        fault=st.sampled_from(FAULTS),
        minutes=st.integers(0, 20),
        data=st.data(),
    )
    def run_pipeline(self, dag_id: str, run_type: str, fault: str, minutes: int, data: Any) -> None:
        self.org.advance(60 * minutes + 61)  # past the safety lag
        self._run(dag_id, run_type, fault, data)

    @rule(dag_id=st.sampled_from(sorted(PIPELINES)))
    def reconcile(self, dag_id: str) -> None:
        self._run_maintenance(f"{dag_id}__reconcile")
        self.gone[dag_id] = False
        self.check(dag_id)

    @rule(dag_id=st.sampled_from(sorted(PIPELINES)))
    def refresh(self, dag_id: str) -> None:
        self._run_maintenance(f"{dag_id}__refresh")
        if dag_id == "salesforce_contact":
            self.formulas_stale = False
        else:
            self.segment_stale = False
        self.check(dag_id)

    def _run_maintenance(self, dag_id: str) -> None:
        run = self.p.run(dag_id)
        self.runs += 1
        assert run.state == "success", f"{dag_id}: {run.states()}"

    # -- source operations -----------------------------------------------------------------------------
    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), n=st.integers(1, 3))
    def create(self, sobject: str, n: int) -> None:
        if sobject == "Account":
            self.org.create("Account", [{"Name": f"Random {self.runs}-{i}", "Region__c": "EMEA"} for i in range(n)])
        else:
            parents = sorted(self.org.ids("Account"))
            records = [
                {"LastName": f"Random {self.runs}-{i}", "AccountId": parents[i % len(parents)]} for i in range(n)
            ]
            self.org.create("Contact", records)

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def update(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject)
        field = "Phone" if sobject == "Account" else "Title"
        self.org.update(sobject, [{"Id": i, field: f"v{self.runs}-{data.draw(st.integers(0, 9))}"} for i in ids])
        self._fresh(sobject, ids)

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), on_watermark=st.booleans(), data=st.data())
    def update_with_a_tied_or_late_stamp(self, sobject: str, on_watermark: bool, data: Any) -> None:
        """One stamp for several records: the watermark itself (a tie on the boundary) or a commit that
        lands late, up to 9 minutes behind the watermark (inside the lookback)."""
        dag_id = next(d for d, o in PIPELINES.items() if o == sobject)
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        stamp = watermark if on_watermark else watermark - timedelta(seconds=data.draw(st.integers(1, 540)))
        current = {r["Id"]: r["SystemModstamp"] for r in self.org.truth(sobject, ["Id", "SystemModstamp"])}
        from lumina_sandbox.salesforce.compare import normal

        # A record's stamp never goes backwards: only records last stamped at or before it qualify.
        ids = [i for i in self._ids(data, sobject) if normal(current[i]) <= stamp]
        if not ids:
            return
        field = "Phone" if sobject == "Account" else "Title"
        self.org.update(sobject, [{"Id": i, field: f"tie{self.runs}"} for i in ids], modstamp=stamp)
        self._fresh(sobject, ids)
        event("late commit" if stamp < watermark else "tie on the watermark")
        if stamp < watermark:
            self.late[dag_id].update(dict.fromkeys(ids, stamp))

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def soft_delete(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject, most=2)
        if sobject == "Account":  # an account with contacts stays: its deletion would cascade
            ids = [i for i in ids if i not in self._parents()]
        if ids:
            self.org.delete(sobject, ids)
            self._fresh(sobject, ids)

    def _parents(self) -> set[str]:
        return {r["AccountId"] for r in self.org.truth("Contact", ["AccountId"], include_deleted=True)}

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def undelete(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject, deleted=True, most=2)
        if ids:
            event("undelete")
            self.org.undelete(sobject, ids)
            self._fresh(sobject, ids)

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), deleted=st.booleans(), data=st.data())
    def hard_delete(self, sobject: str, deleted: bool, data: Any) -> None:
        ids = self._ids(data, sobject, deleted=deleted, most=2)
        if sobject == "Account":
            ids = [i for i in ids if i not in self._parents()]
        if ids:
            event("hard delete")
            self.org.purge(sobject, ids)
            self._fresh(sobject, ids)
            self.gone[next(d for d, o in PIPELINES.items() if o == sobject)] = True

    @rule(data=st.data())
    def rename_account(self, data: Any) -> None:
        """A formula input: the contacts' Account_Name__c changes, their stamps do not."""
        parents = sorted(self._parents() & self.org.ids("Account"))
        if parents:
            account = data.draw(st.sampled_from(parents))
            self.org.update("Account", [{"Id": account, "Name": f"Renamed {self.runs}"}])
            self._fresh("Account", [account])
            self.formulas_stale = True

    @precondition(lambda self: not self.org.sobject("Account").find("Customer_Segment__c"))
    @rule()
    def add_field(self) -> None:
        self.org.add_field(
            "Account",
            {"name": "Customer_Segment__c", "type": "picklist", "picklistValues": ["Enterprise", "SMB"]},
            value=lambda record: "Enterprise" if (record.get("AnnualRevenue") or 0) > 5e7 else "SMB",
        )
        self.segment_stale = True

    @rule(minutes=st.integers(1, 30))
    def time_passes(self, minutes: int) -> None:
        self.org.advance(60 * minutes)


def test_change_capture_matches_the_source(pipelines: Any, small_org: Any) -> None:
    from lumina_sandbox.salesforce.connection import airflow_connection

    previous = os.environ.get("AIRFLOW_CONN_SALESFORCE_DEFAULT")
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(
        airflow_connection(small_org.credentials.as_dict(), small_org.ca_path)
    )
    pipelines.org = small_org.org
    ChangeCapture.env = (pipelines, small_org)
    try:
        run_state_machine_as_test(
            ChangeCapture,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            ),
        )
    finally:
        if previous is not None:
            os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = previous
        small_org.org.faults.clear()
