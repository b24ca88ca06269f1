"""Every pipeline spec builds its DAG, with our policies, without heavy imports, quickly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from itertools import pairwise
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import CronDataIntervalTimetable

from lumina_integration.factory.specs import SPEC_SUFFIX, spec_files

DAGS_DIR = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
STEPS = ["plan", "extract", "transform", "validate", "load"]
HEAVY = ["pyarrow", "pandas", "great_expectations", "duckdb", "psycopg", "numpy"]


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(bag: DagBag) -> None:
    assert bag.import_errors == {}


def test_every_spec_built_its_dag(bag: DagBag) -> None:
    expected = {p.name.removesuffix(SPEC_SUFFIX) for p in spec_files(DAGS_DIR)}
    assert expected, "the demo specs are missing"
    assert expected <= set(bag.dags)


@pytest.mark.parametrize("dag_id", sorted(p.name.removesuffix(SPEC_SUFFIX) for p in spec_files(DAGS_DIR)))
def test_pipeline_policies(bag: DagBag, dag_id: str) -> None:
    dag = bag.dags[dag_id]
    assert [t.task_id for t in dag.topological_sort()] == STEPS
    for upstream, downstream in pairwise(STEPS):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    prefixes = {tag.split(":", 1)[0] for tag in dag.tags}
    assert {"domain", "source", "owner", "entity"} <= prefixes
    assert isinstance(dag.timetable, CronDataIntervalTimetable), "runs must own a data interval"
    assert dag.doc_md and dag_id in dag.doc_md
    for task in dag.tasks:
        assert task.owner not in ("", "airflow"), f"{task.task_id} has no real owner"
        assert task.retries >= 1
        assert task.retry_exponential_backoff
    assert dag.get_task("load").outlets, "load must emit an Asset event"


def test_every_dag_has_an_owner_tags_retries_and_a_failure_alert(bag: DagBag) -> None:
    from lumina_integration.alerts import FailureAlert

    for dag_id, dag in bag.dags.items():
        assert {tag.split(":", 1)[0] for tag in dag.tags} >= {"domain", "source", "owner"}, dag_id
        for task in dag.tasks:
            assert task.owner not in ("", "airflow") and task.retries >= 1, f"{dag_id}.{task.task_id}"
            alerts = [c for c in task.on_failure_callback or [] if isinstance(c, FailureAlert)]
            assert [a.slack_webhook_conn_id for a in alerts] == ["lumina_alerts"], f"{dag_id}.{task.task_id}"


def _parse_in_fresh_interpreter(dags_dir: Path) -> dict[str, object]:
    script = textwrap.dedent(
        f"""
        import json, sys, time
        from airflow.dag_processing.dagbag import DagBag
        before = set(sys.modules)
        started = time.process_time()
        bag = DagBag(dag_folder={str(dags_dir)!r})
        elapsed = time.process_time() - started
        loaded = sorted(m.split(".")[0] for m in set(sys.modules) - before)
        print(json.dumps({{"seconds": elapsed, "loaded": loaded, "dags": len(bag.dags),
                           "errors": len(bag.import_errors)}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_parse_is_fast_and_light() -> None:
    result = _parse_in_fresh_interpreter(DAGS_DIR)
    assert result["errors"] == 0 and result["dags"] >= len(spec_files(DAGS_DIR))
    heavy = sorted(set(HEAVY) & set(result["loaded"]))  # type: ignore[arg-type]
    assert heavy == [], f"parsing dags/ imported {heavy}; import them inside execute()"
    # CPU seconds, not wall time: the budget holds on a loaded CI machine (about 0.6 s of CPU today).
    assert result["seconds"] < 2.0  # type: ignore[operator]


GOOD_SPEC = """\
owner: test-team
schedule: "@hourly"
start_date: 2026-01-01
source:
  type: file_drop
  conn_id: lumina_landing
  object: s3://landing/x/
mapping: crm_accounts_customer
"""


def test_bad_spec_is_an_import_error_naming_file_line_and_field(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    (dags / "sales").mkdir(parents=True)
    (dags / "loader.py").write_text((DAGS_DIR / "lumina_pipelines.py").read_text())
    (dags / "sales" / "good_one.dag.yaml").write_text(GOOD_SPEC)
    bad = GOOD_SPEC.replace("  conn_id: lumina_landing\n", "  conn_id: lumina_landing\n  colour: red\n")
    (dags / "sales" / "bad_one.dag.yaml").write_text(bad)
    bag = DagBag(dag_folder=str(dags))
    assert "good_one" in bag.dags, "a bad spec must not hide the good ones"
    assert "bad_one" not in bag.dags
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("loader.py")
    assert "dags/sales/bad_one.dag.yaml:7: source.colour: unknown key" in message
