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
added mid-life (until a refresh), and late commits (until a run's window covers their stamps, or a reconcile:
it compares versions, so it re-reads every record whose stamp the warehouse does not hold).

The classes of issue 9 are rules here: windows and backfills a month back and more (past the
deleted-records endpoint's horizon), a wide object (the accounts get hundreds of fields mid-life, with
``transport: rest`` drawn for the account pipeline), changes stamped below ``watermark - lookback`` (missed
updates: only a window over their stamps or a reconcile sees them), and the source clock stepping back
behind the watermark (by more than the lookback, plan must refuse to run and change nothing).

How often each rule's cases fired: ``STATS``, printed at the end and written as JSON to
``$LUMINA_CDC_STATS`` (default ``cdc-stats.json`` in the test's tmp dir).

What is not Salesforce's (running a pipeline with a fault or a kill, which changes are still unread, the
statistics) is ``cdc_machine.py``, shared with the ServiceNow and Jira machines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from cdc_machine import FAULTS, STATS, ChangeCaptureMachine, event, run_machine
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

pytestmark = pytest.mark.integration

SMALL_ORG = {"Account": 40, "Contact": 30, "Opportunity": 4, "Case": 4, "Lead": 2, "User": 3, "Invoice__c": 2}
PIPELINES = {"salesforce_account": "Account", "salesforce_contact": "Contact"}
LOOKBACK = timedelta(minutes=10)
# A month back and more: older than the deleted-records endpoint reaches (30 days by the org's clock).
OLD_DAYS = (31, 59)
# The account object's fields rolled out mid-life: ~460 fields, a SELECT too long for a GET (Salesforce: 414).
WIDE_FIELDS = 420
TRANSPORTS = ("auto", "rest")  # the account pipeline's source.options.transport, drawn per sequence


_VARIANTS: dict[str, dict[str, Any]] = {}


def transport_variants() -> dict[str, dict[str, Any]]:
    """Per transport, the account pipeline's DAGs to run instead of the DAGs folder's (``auto``: none)."""
    from spec_variants import pipeline_dags

    if not _VARIANTS:
        _VARIANTS.update({"auto": {}, "rest": pipeline_dags("salesforce_account", {"transport": "rest"})})
    return _VARIANTS


@pytest.fixture(scope="module")
def small_org() -> Iterator[Any]:
    from lumina_sandbox.salesforce.org import Org
    from lumina_sandbox.salesforce.server import SandboxServer

    with SandboxServer(Org.generate(seed=11, counts=SMALL_ORG)) as server:
        yield server


class ChangeCapture(ChangeCaptureMachine):
    """The org, the pipelines and what the comparison must leave out until maintenance runs."""

    PIPELINES = PIPELINES
    TABLES = {"salesforce_account": "customer", "salesforce_contact": "contact"}
    CONN_ID = "salesforce_default"
    LOOKBACK = LOOKBACK

    def __init__(self) -> None:
        self.org = self.env[1].org
        super().__init__()
        self.formulas_stale = False  # an account renamed: contacts' Account_Name__c until a refresh
        self.segment_stale = False  # Customer_Segment__c rolled out: its backfill until a refresh
        self.wide = False  # the account object's many fields rolled out
        self.transport = "auto"

    @property
    def source(self) -> Any:
        return self.org

    def inject(self, fault: str) -> None:
        org = self.org
        if fault == "storm":
            org.faults.add("any", status=429, retry_after=1, times=2)
            org.faults.add("any", status=503, retry_after=1, times=2, after=3)
        elif fault == "expire":
            org.faults.add("query", "expire_session", after=1)
        elif fault == "drop":
            org.faults.add("query", "drop")

    def clear_faults(self) -> None:
        self.org.faults.clear()

    @initialize(transport=st.sampled_from(TRANSPORTS))
    def fresh_org_and_warehouse(self, transport: str) -> None:
        from spec_variants import ENV

        self.org.reset()
        self.org.faults.clear()
        self.fresh_warehouse()
        # The account pipeline as shipped (auto) or with `transport: rest` in its spec's source.options;
        # worker processes read the same choice from the environment.
        self.transport = transport
        self.p.variants = transport_variants()[transport]
        if transport == "auto":
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = json.dumps({"salesforce_account": {"transport": transport}})
        event(f"account pipeline transport: {transport}")
        self.started = self.org.now()
        for dag_id in PIPELINES:
            self.run_dag(dag_id, "manual", "none")

    # -- the comparison ------------------------------------------------------------------------------
    def compare(self, dag_id: str, watermark: datetime | None) -> Any:
        skip: tuple[str, ...] = ()
        if dag_id == "salesforce_contact" and self.formulas_stale:
            skip = ("customer_name",)
        if dag_id == "salesforce_account" and self.segment_stale:
            skip = ("segment",)
        return self.p.exact(
            dag_id,
            below=watermark,
            ignore_gone=self.gone[dag_id],
            skip_columns=skip,
            skip_ids=frozenset(self.late[dag_id]),
        )

    def inspect_run(self, dag_id: str, plan: dict[str, Any]) -> None:
        if dag_id == "salesforce_account" and self.wide:
            # Plan and extract take one transport decision: a SELECT too long for a GET goes over Bulk,
            # whatever the spec configures (issue 9, item 1: with `transport: rest` it went out as a GET: 414).
            assert plan["estimate"]["transport"] == "bulk", plan["estimate"]
            event(f"wide account read, transport: {self.transport}")

    def _ids(self, data: Any, sobject: str, deleted: bool = False, most: int = 4) -> list[str]:
        live = self.org.ids(sobject)
        pool = sorted(self.org.ids(sobject, include_deleted=True) - live if deleted else live)
        if not pool:
            return []
        return data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=most, unique=True))

    def _stamped_at_or_before(self, sobject: str, ids: list[str], stamp: datetime) -> list[str]:
        """Of ``ids``, those last stamped at or before ``stamp``: a record's stamp never goes backwards."""
        from lumina_sandbox.salesforce.compare import normal

        current = {r["Id"]: r["SystemModstamp"] for r in self.org.truth(sobject, ["Id", "SystemModstamp"])}
        return [i for i in ids if normal(current[i]) <= stamp]

    # -- runs ----------------------------------------------------------------------------------------
    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        run_type=st.sampled_from(["scheduled", "scheduled", "manual", "backfill"]),
        fault=st.sampled_from(FAULTS),
        minutes=st.integers(0, 20),
        data=st.data(),
    )
    def run_pipeline(self, dag_id: str, run_type: str, fault: str, minutes: int, data: Any) -> None:
        self.org.advance(60 * minutes + 61)  # past the safety lag
        self.run_dag(dag_id, run_type, fault, data)

    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        requested=st.booleans(),
        aim=st.booleans(),
        fault=st.sampled_from(FAULTS),
        data=st.data(),
    )
    def run_a_month_back(self, dag_id: str, requested: bool, aim: bool, fault: str, data: Any) -> None:
        """A backfill of a 15-minute interval, or a manual run with a requested window, 31-60 days back:
        older than the deleted-records endpoint reaches (issue 9, item 2: extract failed on every retry).
        ``aim``: over the stamp of a change that no run has read yet, if there is one that old."""
        now = self.org.now()
        oldest, newest = now - timedelta(days=OLD_DAYS[1] + 1), now - timedelta(days=OLD_DAYS[0])
        targets = sorted(s for s in self.late[dag_id].values() if oldest <= s < newest)
        if aim and targets:
            moment = data.draw(st.sampled_from(targets))
        else:
            moment = now - timedelta(days=data.draw(st.integers(*OLD_DAYS)), seconds=data.draw(st.integers(0, 86399)))
        if requested:
            start = moment - timedelta(seconds=data.draw(st.integers(0, 43200)))
            end = moment + timedelta(seconds=data.draw(st.integers(1, 43200)))
            conf = {"window_start": start.isoformat(), "window_end": end.isoformat()}
            self.run_dag(dag_id, "manual", fault, data, conf=conf, label="requested window a month back")
            return
        start = moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)
        if (dag_id, start) in self.scheduled:
            return
        self.scheduled.add((dag_id, start))
        interval = (start, start + timedelta(minutes=15))
        self.run_dag(dag_id, "backfill", fault, data, interval=interval, label="backfill a month back")

    @rule(dag_id=st.sampled_from(sorted(PIPELINES)))
    def reconcile(self, dag_id: str) -> None:
        self.run_maintenance(f"{dag_id}__reconcile")
        if dag_id == "salesforce_account" and self.wide and (self.late[dag_id] or self.missed[dag_id]):
            event(f"reconcile re-reads on the wide account, transport: {self.transport}")
        # Reconcile compares versions (Id, SystemModstamp): every record whose stamp the warehouse does not
        # hold is read again, so nothing is left out any more: hard deletes, late commits, missed updates.
        missed, late = self.reconciled(dag_id)
        self.check(dag_id)
        if missed:
            event("reconcile after missed updates", records="missed updates equal after a reconcile", count=missed)
        if late > missed:
            STATS["records"]["other unread changes equal after a reconcile"] += late - missed

    @rule(dag_id=st.sampled_from(sorted(PIPELINES)))
    def refresh(self, dag_id: str) -> None:
        self.run_maintenance(f"{dag_id}__refresh")
        if dag_id == "salesforce_contact":
            self.formulas_stale = False
        else:
            self.segment_stale = False
        self.check(dag_id)

    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        beyond=st.booleans(),
        minutes=st.integers(2, 180),
        change=st.booleans(),
        data=st.data(),
    )
    def source_clock_steps_back(self, dag_id: str, beyond: bool, minutes: int, change: bool, data: Any) -> None:
        """The org's clock steps back behind the watermark, by more than the lookback (``beyond``) or inside
        it (``ChangeCaptureMachine.clock_steps_back``; issue 9, item 4)."""
        self.clock_steps_back(dag_id, beyond, minutes, change, data)

    def change_now(self, dag_id: str, data: Any) -> dict[str, datetime]:
        sobject = PIPELINES[dag_id]
        ids = self._stamped_at_or_before(sobject, self._ids(data, sobject), self.org.now())
        if not ids:
            return {}
        field = "Phone" if sobject == "Account" else "Title"
        self.org.update(sobject, [{"Id": i, field: f"behind{self.runs}"} for i in ids])
        self.fresh(sobject, ids)
        from lumina_sandbox.salesforce.compare import normal

        stamps = {r["Id"]: normal(r["SystemModstamp"]) for r in self.org.truth(sobject, ["Id", "SystemModstamp"])}
        return {i: stamps[i] for i in ids}

    # -- source operations -----------------------------------------------------------------------------
    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), n=st.integers(1, 3))
    def create(self, sobject: str, n: int) -> None:
        self.org.create(sobject, self._new_records(sobject, n))

    def _new_records(self, sobject: str, n: int) -> list[dict[str, Any]]:
        if sobject == "Account":
            return [{"Name": f"Random {self.runs}-{i}", "Region__c": "EMEA"} for i in range(n)]
        parents = sorted(self.org.ids("Account"))
        return [{"LastName": f"Random {self.runs}-{i}", "AccountId": parents[i % len(parents)]} for i in range(n)]

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def update(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject)
        field = "Phone" if sobject == "Account" else "Title"
        self.org.update(sobject, [{"Id": i, field: f"v{self.runs}-{data.draw(st.integers(0, 9))}"} for i in ids])
        self.fresh(sobject, ids)

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), on_watermark=st.booleans(), data=st.data())
    def update_with_a_tied_or_late_stamp(self, sobject: str, on_watermark: bool, data: Any) -> None:
        """One stamp for several records: the watermark itself (a tie on the boundary) or a commit that
        lands late, up to 9 minutes behind the watermark (inside the lookback)."""
        dag_id = self.dag_of(sobject)
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        stamp = watermark if on_watermark else watermark - timedelta(seconds=data.draw(st.integers(1, 540)))
        ids = self._stamped_at_or_before(sobject, self._ids(data, sobject), stamp)
        if not ids:
            return
        field = "Phone" if sobject == "Account" else "Title"
        self.org.update(sobject, [{"Id": i, field: f"tie{self.runs}"} for i in ids], modstamp=stamp)
        self.fresh(sobject, ids)
        event("late commit" if stamp < watermark else "tie on the watermark")
        if stamp < watermark:
            self.late[dag_id].update(dict.fromkeys(ids, stamp))

    @rule(
        sobject=st.sampled_from(sorted(PIPELINES.values())),
        a_month_back=st.booleans(),
        create=st.booleans(),
        data=st.data(),
    )
    def change_stamped_below_the_lookback(self, sobject: str, a_month_back: bool, create: bool, data: Any) -> None:
        """A change whose stamp lands below ``watermark - lookback``: a commit later than the lookback
        reaches (up to 3 h behind it), or a month and more back (a migration replaying history). No
        continuing run reads it again; a window over its stamp (a backfill) or a reconcile must (issue 9,
        item 4: reconcile compared ids only, so such updates were lost for good). ``create``: new
        records stamped so (gaps: ids the warehouse lacks), else updates of existing ones."""
        dag_id = self.dag_of(sobject)
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        if a_month_back:
            back = timedelta(days=data.draw(st.integers(*OLD_DAYS)), seconds=data.draw(st.integers(0, 86399)))
            stamp = self.org.now() - back
        else:
            stamp = watermark - LOOKBACK - timedelta(seconds=data.draw(st.integers(1, 3 * 3600)))
        stamp = stamp.replace(microsecond=0)
        when = "a month back" if a_month_back else "just below the lookback"
        if create:
            ids = self.org.create(sobject, self._new_records(sobject, data.draw(st.integers(1, 2))), modstamp=stamp)
            event(f"records created stamped {when}", records="gaps made (created below the lookback)", count=len(ids))
        else:
            ids = self._stamped_at_or_before(sobject, self._ids(data, sobject), stamp)
            if not ids:
                return
            field = "Phone" if sobject == "Account" else "Title"
            self.org.update(sobject, [{"Id": i, field: f"missed{self.runs}"} for i in ids], modstamp=stamp)
            self.fresh(sobject, ids)
            self.missed[dag_id].update(ids)
            event(f"missed update stamped {when}", records="missed updates made", count=len(ids))
        self.late[dag_id].update(dict.fromkeys(ids, stamp))

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def soft_delete(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject, most=2)
        if sobject == "Account":  # an account with contacts stays: its deletion would cascade
            ids = [i for i in ids if i not in self._parents()]
        if ids:
            self.org.delete(sobject, ids)
            self.fresh(sobject, ids)

    def _parents(self) -> set[str]:
        return {r["AccountId"] for r in self.org.truth("Contact", ["AccountId"], include_deleted=True)}

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def undelete(self, sobject: str, data: Any) -> None:
        ids = self._ids(data, sobject, deleted=True, most=2)
        if ids:
            event("undelete")
            self.org.undelete(sobject, ids)
            self.fresh(sobject, ids)

    @rule(sobject=st.sampled_from(sorted(PIPELINES.values())), deleted=st.booleans(), data=st.data())
    def hard_delete(self, sobject: str, deleted: bool, data: Any) -> None:
        ids = self._ids(data, sobject, deleted=deleted, most=2)
        if sobject == "Account":
            ids = [i for i in ids if i not in self._parents()]
        if ids:
            event("hard delete")
            self.org.purge(sobject, ids)
            self.fresh(sobject, ids)
            self.gone[self.dag_of(sobject)] = True

    @rule(data=st.data())
    def rename_account(self, data: Any) -> None:
        """A formula input: the contacts' Account_Name__c changes, their stamps do not."""
        parents = sorted(self._parents() & self.org.ids("Account"))
        if parents:
            account = data.draw(st.sampled_from(parents))
            self.org.update("Account", [{"Id": account, "Name": f"Renamed {self.runs}"}])
            self.fresh("Account", [account])
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

    @precondition(lambda self: not self.wide)
    @rule()
    def roll_out_hundreds_of_fields(self) -> None:
        """The account object becomes a wide one (~460 fields, like the org's Invoice__c): every SELECT of
        all its fields is too long for a GET request line, so no read of it may go over REST."""
        from lumina_sandbox.salesforce.catalog import wide_field

        for number in range(1, WIDE_FIELDS + 1):
            made = wide_field(number)
            self.org.add_field("Account", {"name": made.name, "type": made.type, "picklistValues": list(made.picklist)})
        self.wide = True
        event(f"account object made wide, transport: {self.transport}")

    @rule(minutes=st.integers(1, 30))
    def time_passes(self, minutes: int) -> None:
        self.org.advance(60 * minutes)


def test_change_capture_matches_the_source(
    pipelines: Any, small_org: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from spec_variants import ENV

    from lumina_sandbox.salesforce.connection import airflow_connection

    previous = os.environ.get("AIRFLOW_CONN_SALESFORCE_DEFAULT")
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(
        airflow_connection(small_org.credentials.as_dict(), small_org.ca_path)
    )
    pipelines.org = small_org.org
    try:
        run_machine(ChangeCapture, (pipelines, small_org), "cdc-stats.json", tmp_path, capsys)
    finally:
        if previous is not None:
            os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = previous
        os.environ.pop(ENV, None)
        pipelines.variants = {}
        small_org.org.faults.clear()
