"""Randomized change capture against the ServiceNow sandbox: random changes to incidents (an audited table)
and companies (not audited) interleaved with real DAG runs of ``servicenow_incident`` and
``servicenow_core_company``, faults, kills, retries, backfills, reconciles and clock steps; after every run
the warehouse equals the instance for everything below the committed watermark (``compare.exact``).

The ServiceNow classes of trouble are rules here:

- ties: many records written in one second (``sys_updated_on`` keeps whole seconds) across page boundaries
  (the pipelines page 5 records at a time, so a second's records span pages: keyset paging on
  ``(sys_updated_on, sys_id)`` must neither skip nor repeat one), and writes stamped with the watermark's
  own second after the run that ended there (the boundary tie) or inside the lookback (late commits);
- a record updated, created or deleted while its window is being paged (page hooks fire between two
  pages; ``sysparm_offset`` paging would skip a row here);
- deletes between runs: audited (``sys_audit_delete``: the next run tombstones them) and unaudited (a
  table cleaner, or a table that is not audited: only the ``__reconcile`` DAG's sys_id comparison sees
  them, so the comparison leaves such ids out until a reconcile has run);
- 429 bursts with ``Retry-After`` and 503s, OAuth token expiry mid-read (the token is revoked: one new
  token, then the read goes on), a connection dropped mid-page, and a worker killed at any failpoint;
- the instance's clock stepping back behind the watermark (beyond the lookback the plan must refuse).

Runs authenticate with OAuth (password grant or client credentials, drawn per sequence), so a token
expiry is a real one. Settings and statistics as for Salesforce (``cdc_machine.py``); the statistics go to
``cdc-stats-servicenow.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from cdc_machine import FAULTS, ChangeCaptureMachine, event, run_machine
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

pytestmark = pytest.mark.integration

COUNTS = {"core_company": 12, "sys_user": 8, "incident": 40, "sc_req_item": 4, "change_request": 4}
PIPELINES = {"servicenow_incident": "incident", "servicenow_core_company": "core_company"}
PAGE_SIZE = 5  # records per Table API request: a window of a few changes spans pages
OPTIONS = {dag_id: {"page_size": PAGE_SIZE} for dag_id in PIPELINES}
AUTH_MODES = ("oauth_password", "oauth_client_credentials")
# The field each table's updates change (compared: subject <- short_description, phone <- phone).
FIELD = {"incident": "short_description", "core_company": "phone"}

_VARIANTS: dict[str, Any] = {}


def small_page_dags() -> dict[str, Any]:
    """The two pipelines' DAGs with ``page_size: 5`` in their specs' source options."""
    from spec_variants import pipeline_dags

    if not _VARIANTS:
        for dag_id, options in OPTIONS.items():
            _VARIANTS.update(pipeline_dags(dag_id, options))
    return _VARIANTS


@pytest.fixture(scope="module")
def small_instance() -> Iterator[Any]:
    from lumina_sandbox.servicenow.instance import Instance
    from lumina_sandbox.servicenow.server import ServiceNowServer

    with ServiceNowServer(Instance.generate(seed=11, counts=COUNTS)) as server:
        yield server


def connection(server: Any, auth: str) -> dict[str, Any]:
    from lumina_sandbox.servicenow.connection import airflow_connection

    credentials = {**server.credentials.as_dict(), "instance_url": server.base_url}
    return airflow_connection(credentials, server.ca_path, auth=auth)


class ServiceNowChangeCapture(ChangeCaptureMachine):
    """The instance, the two pipelines and what the comparison leaves out until a run can see it."""

    PIPELINES = PIPELINES
    TABLES = {"servicenow_incident": "support_case", "servicenow_core_company": "customer"}
    CONN_ID = "servicenow_default"

    def __init__(self) -> None:
        self.instance = self.env[1].instance
        super().__init__()
        self.auth = AUTH_MODES[0]

    @property
    def source(self) -> Any:
        return self.instance

    def inject(self, fault: str) -> None:
        faults = self.instance.faults
        if fault == "storm":
            faults.add("any", status=429, retry_after=1, times=3)
            faults.add("table", status=503, retry_after=1, times=2, after=2)
        elif fault == "expire":
            faults.add("table", "expire_session", after=1)  # the token is revoked after the first page
        elif fault == "drop":
            faults.add("table", "drop", after=1)

    def clear_faults(self) -> None:
        self.instance.faults.clear()
        self.instance.hooks.clear()

    def compare(self, dag_id: str, watermark: datetime | None) -> Any:
        from lumina_sandbox.servicenow import compare

        return compare.exact(
            self.p.engine,
            self.p.schema,
            self.instance,
            dag_id,
            below=watermark,
            ignore_gone=self.gone[dag_id],
            skip_ids=frozenset(self.late[dag_id]),
        )

    @initialize(auth=st.sampled_from(AUTH_MODES))
    def fresh_instance_and_warehouse(self, auth: str) -> None:
        self.instance.reset()
        self.fresh_warehouse()
        self.auth = auth
        os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = json.dumps(connection(self.server, auth))
        event(f"auth: {auth}")
        self.started = self.instance.now()
        for dag_id in PIPELINES:
            self.run_dag(dag_id, "manual", "none")

    # -- helpers ---------------------------------------------------------------------------------------
    def _stamps(self, table: str) -> dict[str, datetime]:
        from lumina_sandbox.servicenow.compare import normal

        return {str(r["sys_id"]): normal(r["sys_updated_on"]) for r in self.instance.truth(table)}

    def _ids(self, data: Any, table: str, most: int = 4, at_or_before: datetime | None = None) -> list[str]:
        return self.draw_ids(data, self._stamps(table), most, at_or_before)

    def _new_records(self, table: str, n: int) -> list[dict[str, Any]]:
        if table == "incident":
            companies = sorted(self.instance.ids_of("core_company"))
            return [
                {"short_description": f"Random {self.runs}-{i}", "company": companies[i % len(companies)]}
                for i in range(n)
            ]
        return [{"name": f"Random company {self.runs}-{i}", "phone": f"+1 555 01{i:02d}"} for i in range(n)]

    def _changes(self, table: str, ids: list[str], tag: str) -> list[dict[str, Any]]:
        return [{"sys_id": i, FIELD[table]: f"{tag}{self.runs}-{n}"} for n, i in enumerate(ids)]

    def change_now(self, dag_id: str, data: Any) -> dict[str, datetime]:
        table = PIPELINES[dag_id]
        now = self.instance.now()
        ids = self._ids(data, table, at_or_before=now)
        if not ids:
            return {}
        self.instance.update(table, self._changes(table, ids, "behind"))
        self.fresh(table, ids)
        return dict.fromkeys(ids, now)

    # -- runs ----------------------------------------------------------------------------------------
    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        run_type=st.sampled_from(["scheduled", "scheduled", "manual", "backfill"]),
        fault=st.sampled_from(FAULTS),
        minutes=st.integers(0, 20),
        data=st.data(),
    )
    def run_pipeline(self, dag_id: str, run_type: str, fault: str, minutes: int, data: Any) -> None:
        self.instance.advance(60 * minutes + 61)  # past the safety lag
        self.run_dag(dag_id, run_type, fault, data)

    @precondition(lambda self: any(self.gone.values()) or any(self.late.values()))
    @rule(dag_id=st.sampled_from(sorted(PIPELINES)))
    def reconcile(self, dag_id: str) -> None:
        """sys_id and version comparison: unaudited deletes, late and missed changes all equal after it. Drawn
        only when there is something only it would find, so that short sequences spend their runs elsewhere."""
        self.run_maintenance(f"{dag_id}__reconcile")
        if self.gone[dag_id]:
            event("reconcile after unaudited deletes")
        self.reconciled(dag_id)
        self.check(dag_id)

    @rule(
        dag_id=st.sampled_from(sorted(PIPELINES)),
        beyond=st.booleans(),
        minutes=st.integers(2, 180),
        change=st.booleans(),
        data=st.data(),
    )
    def source_clock_steps_back(self, dag_id: str, beyond: bool, minutes: int, change: bool, data: Any) -> None:
        """The instance's clock steps back behind the watermark (``ChangeCaptureMachine.clock_steps_back``)."""
        self.clock_steps_back(dag_id, beyond, minutes, change, data)

    @rule(
        page=st.integers(2, 3),
        extra=st.integers(1, PAGE_SIZE),
        late=st.booleans(),
        fault=st.sampled_from(("none", "none", "storm", "expire")),
        data=st.data(),
    )
    def write_while_a_window_is_paged(self, page: int, extra: int, late: bool, fault: str, data: Any) -> None:
        """Incidents change while the incident window is paged: ``(page - 1) * 5 + extra`` records written first
        so the window spans pages, then, when the ``page``-th page is asked for, some records are updated (ones
        already read and ones not yet), one is created and one deleted (audited), all stamped after the
        window's end; with ``late``, one more update stamped inside the window (a late commit, perhaps
        behind the keyset position already: only a later window must see it)."""
        dag_id, table = "servicenow_incident", "incident"
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        everyone = sorted(self.instance.ids_of(table))
        # Enough changes in the window that the page-th page is asked for: (page - 1) full pages and more.
        changed = (page - 1) * PAGE_SIZE + extra
        batch = data.draw(st.lists(st.sampled_from(everyone), min_size=changed, max_size=changed, unique=True))
        self.instance.update(table, self._changes(table, batch, "paged"))
        self.fresh(table, batch)
        self.instance.advance(61)
        moved = data.draw(st.lists(st.sampled_from(everyone), min_size=1, max_size=4, unique=True))
        doomed = data.draw(st.sampled_from(everyone))
        moved = [i for i in moved if i != doomed]
        spec: dict[str, Any] = {
            "table": table,
            "page": page,
            "update": self._changes(table, moved, "mid-page"),
            "delete": [doomed],
            "create": self._new_records(table, 1),
        }
        hooks = [self.instance.add_page_hook(spec)]
        unread: dict[str, datetime] = {}
        if late:
            stamp = watermark + timedelta(seconds=1)
            behind = [i for i in self._ids(data, table, most=1, at_or_before=stamp) if i not in {doomed, *moved}]
            if behind:
                late_spec = {"table": table, "page": page, "update": self._changes(table, behind, "late-mid-page")}
                hooks.append(self.instance.add_page_hook({**late_spec, "stamp": stamp.isoformat()}))
                unread = dict.fromkeys(behind, stamp)
                self.fresh(table, behind)
        self.fresh(table, [*moved, doomed])
        self.run_dag(dag_id, "manual", fault, data, label="window paged while records change", unread=unread)
        assert all(h.fired for h in hooks), f"the window was not paged {page} times: {[h.as_dict() for h in hooks]}"
        event(f"records changed before page {page} of the window" + (" (one late)" if unread else ""))

    # -- source operations ---------------------------------------------------------------------------
    @rule(table=st.sampled_from(sorted(PIPELINES.values())), n=st.integers(1, 3))
    def create(self, table: str, n: int) -> None:
        self.instance.create(table, self._new_records(table, n))

    @rule(table=st.sampled_from(sorted(PIPELINES.values())), data=st.data())
    def update(self, table: str, data: Any) -> None:
        ids = self._ids(data, table)
        self.instance.update(table, self._changes(table, ids, "v"))
        self.fresh(table, ids)

    @rule(
        table=st.sampled_from(sorted(PIPELINES.values())),
        when=st.sampled_from(["now", "now", "watermark", "late"]),
        n=st.integers(2, 3 * PAGE_SIZE),
        create=st.booleans(),
        data=st.data(),
    )
    def writes_in_one_second(self, table: str, when: str, n: int, create: bool, data: Any) -> None:
        """``n`` records written in one second (``sys_updated_on`` ties), more than a page of them at times:
        ``now``; the watermark's own second (the boundary tie: written after the run that ended there); or
        a second up to 9 minutes behind the watermark (late commits inside the lookback)."""
        dag_id = self.dag_of(table)
        watermark = self.p.watermark(dag_id)
        if watermark is None:
            return
        stamp = {
            "now": self.instance.now(),
            "watermark": watermark,
            "late": watermark - timedelta(seconds=data.draw(st.integers(1, 540))),
        }[when]
        ids = self._ids(data, table, most=n, at_or_before=stamp)
        if ids:
            self.instance.update(table, self._changes(table, ids, "tie"), stamp=stamp)
            self.fresh(table, ids)
        made = self.instance.create(table, self._new_records(table, 1), stamp=stamp) if create else []
        if when != "now":
            self.late[dag_id].update(dict.fromkeys([*ids, *made], stamp))
        many = "more than a page of" if len(ids) + len(made) > PAGE_SIZE else "a few"
        event(f"{many} records tied in one second: {when}")

    @rule(table=st.sampled_from(sorted(PIPELINES.values())), audited=st.booleans(), data=st.data())
    def delete(self, table: str, audited: bool, data: Any) -> None:
        """An audited delete (incidents: a ``sys_audit_delete`` row the next run tombstones) or an unaudited
        one (a table cleaner on incidents, any delete of a company): only a reconcile sees it."""
        ids = self._ids(data, table, most=2)
        if table == "core_company":
            audited = False
            referenced = {r["company"] for r in self.instance.truth("incident", ["company"])}
            ids = [i for i in ids if i not in referenced]
        if not ids:
            return
        self.instance.delete(table, ids, audit=audited)
        self.fresh(table, ids)
        if not audited:
            self.gone[self.dag_of(table)] = True
        event(f"{'audited' if audited else 'unaudited'} delete of {table}")

    @rule(minutes=st.integers(1, 40))
    def time_passes(self, minutes: int) -> None:
        """The clock moves on (past 30 minutes: every OAuth access token the workers were given has expired)."""
        self.instance.advance(60 * minutes)


def test_servicenow_change_capture_matches_the_instance(
    warehouse_runs: Any, small_instance: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from spec_variants import ENV

    previous = os.environ.get("AIRFLOW_CONN_SERVICENOW_DEFAULT")
    warehouse_runs.org = small_instance.instance
    warehouse_runs.variants = small_page_dags()
    os.environ[ENV] = json.dumps(OPTIONS)  # worker processes build the same small-page DAGs
    try:
        run_machine(
            ServiceNowChangeCapture, (warehouse_runs, small_instance), "cdc-stats-servicenow.json", tmp_path, capsys
        )
    finally:
        if previous is None:
            os.environ.pop("AIRFLOW_CONN_SERVICENOW_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_SERVICENOW_DEFAULT"] = previous
        os.environ.pop(ENV, None)
        warehouse_runs.variants = {}
        small_instance.instance.faults.clear()
        small_instance.instance.hooks.clear()
