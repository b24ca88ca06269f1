"""Randomized change capture against the Jira sandbox (Cloud): random issue changes interleaved with real DAG
runs of ``jira_issues``, faults, kills, retries, backfills, reconciles and clock steps; after every run the
warehouse equals the site for everything below the committed watermark (``compare.exact``).

The Jira classes of trouble are rules here:

- JQL compares ``updated`` at the minute: issues written within the watermark's own minute (before it: late
  commits the lookback must catch; after it: the next window's, which a strict ``>`` on the minute would
  skip), many at one instant or in one minute across page boundaries (the pipeline pages 5 issues at a time:
  the ``(updated, id)`` dedupe of a closed lower minute must neither skip nor repeat one);
- an issue updated, created or deleted while the window is paged (page hooks between two pages; an update
  moves the issue behind the search's cursor), and a late write stamped inside the window meanwhile;
- deleted issues: Jira has no deleted feed, so only the ``__reconcile`` DAG's id comparison finds them (the
  comparison leaves ids the site no longer has out until a reconcile has run);
- 429 bursts with ``Retry-After`` and 503s, the OAuth token revoked mid-read (one new token, then the read
  goes on), a connection dropped mid-page, an expired ``nextPageToken`` (the search restarts from the last
  minute it read), a worker killed at any failpoint;
- the site's clock stepping back behind the watermark (beyond the lookback the plan must refuse).

Runs authenticate with OAuth 2.0 client credentials, so a token expiry is a real one. Settings and statistics
as for Salesforce (``cdc_machine.py``); the statistics go to ``cdc-stats-jira.json``.
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

ISSUES = 40
DAG = "jira_issues"
PIPELINES = {DAG: "issues"}
PAGE_SIZE = 5  # issues per search page: a window of a few changes spans pages
OPTIONS = {DAG: {"page_size": PAGE_SIZE}}
# Jira's own: the search's nextPageToken expires between two pages of one read.
JIRA_FAULTS = (*FAULTS, "page_token")
PROJECTS = ("ENG", "OPS", "WEB")
MINUTE = timedelta(minutes=1)

_VARIANTS: dict[str, Any] = {}


def small_page_dags() -> dict[str, Any]:
    """The issue pipeline's DAGs with ``page_size: 5`` in its spec's source options."""
    from spec_variants import pipeline_dags

    if not _VARIANTS:
        _VARIANTS.update(pipeline_dags(DAG, OPTIONS[DAG]))
    return _VARIANTS


@pytest.fixture(scope="module")
def small_site() -> Iterator[Any]:
    from lumina_sandbox.jira.instance import Instance
    from lumina_sandbox.jira.server import JiraServer

    with JiraServer(Instance.generate(seed=11, counts={"issues": ISSUES})) as server:
        yield server


def connection(server: Any) -> dict[str, Any]:
    from lumina_sandbox.jira.connection import airflow_connection

    return airflow_connection(server.control.credentials(), server.ca_path, auth="oauth2")


class JiraChangeCapture(ChangeCaptureMachine):
    """The site, the issue pipeline and what the comparison leaves out until a run can see it."""

    PIPELINES = PIPELINES
    TABLES = {DAG: "work_item"}
    CONN_ID = "jira_default"

    def __init__(self) -> None:
        self.site = self.env[1].instance
        super().__init__()
        self.token_refusals: int | None = None  # the site's refused page tokens before a "page_token" run

    @property
    def source(self) -> Any:
        return self.site

    def inject(self, fault: str) -> None:
        faults = self.site.faults
        if fault == "storm":
            faults.add("any", status=429, retry_after=1, times=3)
            faults.add("search", status=503, retry_after=1, times=2, after=2)
        elif fault == "expire":
            faults.add("search", "expire_session", after=1)  # the OAuth token is revoked after the first page
        elif fault == "drop":
            faults.add("search", "drop", after=1)
        elif fault == "page_token":
            self.token_refusals = self.site.tokens.refused
            self.site.tokens.expire_next(1)  # the read's first nextPageToken is stale when it arrives

    def clear_faults(self) -> None:
        self.site.faults.clear()
        self.site.hooks.clear()
        if self.token_refusals is not None:
            refused = self.site.tokens.refused - self.token_refusals
            event("nextPageToken expired mid-read" if refused else "one page: no nextPageToken to expire")
            self.token_refusals = None
        self.site.tokens.expire_next(0)

    def compare(self, dag_id: str, watermark: datetime | None) -> Any:
        from lumina_sandbox.jira import compare

        return compare.exact(
            self.p.engine,
            self.p.schema,
            self.site,
            dag_id,
            below=watermark,
            ignore_gone=self.gone[dag_id],
            skip_ids=frozenset(self.late[dag_id]),
        )

    @initialize()
    def fresh_site_and_warehouse(self) -> None:
        self.site.reset()
        self.fresh_warehouse()
        os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = json.dumps(connection(self.server))
        self.started = self.site.now()
        self.run_dag(DAG, "manual", "none")

    # -- helpers ---------------------------------------------------------------------------------------
    def _stamps(self) -> dict[str, datetime]:
        from lumina_sandbox.jira.times import from_ms

        return {str(r["id"]): from_ms(r["updated"]) for r in self.site.truth("issues")}

    def _ids(self, data: Any, most: int = 4, at_or_before: datetime | None = None) -> list[str]:
        return self.draw_ids(data, self._stamps(), most, at_or_before)

    def _update(self, ids: list[str], tag: str, stamp: datetime | None = None) -> None:
        for n, issue in enumerate(ids):
            self.site.writer.update_issue(issue, {"summary": f"{tag}{self.runs}-{n}"}, stamp=stamp)
        self.fresh("issues", ids)

    def _new(self, n: int) -> list[dict[str, Any]]:
        return [{"project": PROJECTS[i % len(PROJECTS)], "summary": f"Random {self.runs}-{i}"} for i in range(n)]

    def change_now(self, dag_id: str, data: Any) -> dict[str, datetime]:
        now = self.site.now()
        ids = self._ids(data, at_or_before=now)
        self._update(ids, "behind")
        return dict.fromkeys(ids, now)

    # -- runs ----------------------------------------------------------------------------------------
    @rule(
        run_type=st.sampled_from(["scheduled", "scheduled", "manual", "backfill"]),
        fault=st.sampled_from(JIRA_FAULTS),
        minutes=st.integers(0, 20),
        data=st.data(),
    )
    def run_pipeline(self, run_type: str, fault: str, minutes: int, data: Any) -> None:
        self.site.advance(60 * minutes + 61)  # past the safety lag
        self.run_dag(DAG, run_type, fault, data)

    @precondition(lambda self: self.gone[DAG] or bool(self.late[DAG]))
    @rule()
    def reconcile(self) -> None:
        """Id and version comparison: deleted issues, late and missed changes all equal after it. Drawn only
        when there is something only it would find, so that short sequences spend their runs elsewhere."""
        self.run_maintenance(f"{DAG}__reconcile")
        if self.gone[DAG]:
            event("reconcile after deletes")
        self.reconciled(DAG)
        self.check(DAG)

    @rule(beyond=st.booleans(), minutes=st.integers(2, 180), change=st.booleans(), data=st.data())
    def source_clock_steps_back(self, beyond: bool, minutes: int, change: bool, data: Any) -> None:
        """The site's clock steps back behind the watermark (``ChangeCaptureMachine.clock_steps_back``)."""
        self.clock_steps_back(DAG, beyond, minutes, change, data)

    @rule(
        page=st.integers(2, 3),
        extra=st.integers(1, PAGE_SIZE),
        late=st.booleans(),
        fault=st.sampled_from(("none", "none", "storm", "expire", "page_token")),
        data=st.data(),
    )
    def write_while_the_window_is_paged(self, page: int, extra: int, late: bool, fault: str, data: Any) -> None:
        """Issues change while the window is paged: ``(page - 1) * 5 + extra`` issues written first so the
        window spans pages, then, when the ``page``-th search page is asked for, some are updated (ones already read and
        ones not yet), one created and one deleted, all stamped after the window's end; with ``late``, one
        more update stamped one second after the watermark (inside the window, in a minute the search may
        have read already: only a later window must see it)."""
        watermark = self.p.watermark(DAG)
        if watermark is None:
            return
        everyone = sorted(self._stamps())
        # Enough changes in the window that the page-th page is asked for: (page - 1) full pages and more.
        changed = (page - 1) * PAGE_SIZE + extra
        batch = data.draw(st.lists(st.sampled_from(everyone), min_size=changed, max_size=changed, unique=True))
        self._update(batch, "paged")
        self.site.advance(61)
        moved = data.draw(st.lists(st.sampled_from(everyone), min_size=1, max_size=4, unique=True))
        doomed = data.draw(st.sampled_from(everyone))
        moved = [i for i in moved if i != doomed]
        changes = [{"id": i, "summary": f"mid-page{self.runs}-{n}"} for n, i in enumerate(moved)]
        spec = {"table": "issues", "page": page, "update": changes, "delete": [doomed], "create": self._new(1)}
        hooks = [self.site.add_page_hook(spec)]
        unread: dict[str, datetime] = {}
        if late:
            stamp = watermark + timedelta(seconds=1)
            behind = [i for i in self._ids(data, most=1, at_or_before=stamp) if i not in {doomed, *moved}]
            if behind:
                update = [{"id": i, "summary": f"late-mid-page{self.runs}"} for i in behind]
                hooks.append(
                    self.site.add_page_hook(
                        {"table": "issues", "page": page, "update": update, "stamp": stamp.isoformat()}
                    )
                )
                unread = dict.fromkeys(behind, stamp)
                self.fresh("issues", behind)
        self.fresh("issues", [*moved, doomed])
        self.gone[DAG] = True  # the deleted issue: only a reconcile finds it
        self.run_dag(DAG, "manual", fault, data, label="window paged while issues change", unread=unread)
        assert all(h.fired for h in hooks), f"the window was not paged {page} times: {[h.as_dict() for h in hooks]}"
        event(f"issues changed before page {page} of the window" + (" (one late)" if unread else ""))

    # -- source operations ---------------------------------------------------------------------------
    @rule(n=st.integers(1, 3))
    def create(self, n: int) -> None:
        for values in self._new(n):
            self.site.writer.create_issue(values)

    @rule(data=st.data())
    def update(self, data: Any) -> None:
        self._update(self._ids(data), "v")

    @rule(
        when=st.sampled_from(["now", "watermark minute", "watermark minute", "late"]),
        one_instant=st.booleans(),
        n=st.integers(2, 3 * PAGE_SIZE),
        create=st.booleans(),
        data=st.data(),
    )
    def writes_in_one_minute(self, when: str, one_instant: bool, n: int, create: bool, data: Any) -> None:
        """``n`` issues written in one minute (JQL's resolution), at one instant (``updated`` ties) or spread
        over it, more than a page of them at times: the current minute; the watermark's minute (before the
        watermark: late commits; after it: writes a strict ``>`` on the minute would skip); or a minute up
        to 9 minutes behind the watermark (late commits inside the lookback)."""
        watermark = self.p.watermark(DAG)
        if watermark is None:
            return
        base = {
            "now": self.site.now(),
            "watermark minute": watermark,
            "late": watermark - timedelta(seconds=data.draw(st.integers(60, 540))),
        }[when]
        minute = base.replace(second=0, microsecond=0)
        ids = self._ids(data, most=n, at_or_before=minute)
        made = len(ids) + (1 if create else 0)

        def stamp() -> datetime:
            if one_instant:
                return base
            return minute + timedelta(milliseconds=data.draw(st.integers(0, 59_999)))

        stamps = {}
        for n_, issue in enumerate(ids):
            stamps[issue] = stamp()
            self.site.writer.update_issue(issue, {"summary": f"minute{self.runs}-{n_}"}, stamp=stamps[issue])
        self.fresh("issues", ids)
        if create:
            at = stamp()
            stamps[self.site.writer.create_issue(self._new(1)[0], stamp=at)["id"]] = at
        if when != "now":
            self.late[DAG].update({i: s for i, s in stamps.items() if s < watermark})
        if when == "watermark minute":
            after = sum(1 for s in stamps.values() if s >= watermark)
            event(f"issues written in the watermark's minute: {'after' if after else 'before'} it")
        kind = "at one instant" if one_instant else "in one minute"
        event(f"{'more than a page of' if made > PAGE_SIZE else 'a few'} issues {kind}: {when}")

    @rule(data=st.data())
    def delete(self, data: Any) -> None:
        """Deleted issues vanish (no deleted feed): only a reconcile finds them."""
        ids = self._ids(data, most=2)
        if ids:
            self.site.writer.delete_issues(ids)
            self.fresh("issues", ids)
            self.gone[DAG] = True
            event("issues deleted")

    @rule(minutes=st.integers(1, 70))
    def time_passes(self, minutes: int) -> None:
        """The clock moves on (past an hour: every OAuth access token the workers were given has expired)."""
        self.site.advance(60 * minutes)


def test_jira_change_capture_matches_the_site(
    warehouse_runs: Any, small_site: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from spec_variants import ENV

    previous = os.environ.get("AIRFLOW_CONN_JIRA_DEFAULT")
    warehouse_runs.org = small_site.instance
    warehouse_runs.variants = small_page_dags()
    os.environ[ENV] = json.dumps(OPTIONS)  # worker processes build the same small-page DAGs
    try:
        run_machine(JiraChangeCapture, (warehouse_runs, small_site), "cdc-stats-jira.json", tmp_path, capsys)
    finally:
        if previous is None:
            os.environ.pop("AIRFLOW_CONN_JIRA_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_JIRA_DEFAULT"] = previous
        os.environ.pop(ENV, None)
        warehouse_runs.variants = {}
        small_site.instance.faults.clear()
        small_site.instance.hooks.clear()
