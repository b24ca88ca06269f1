"""A task process parsing dags/ to run one task builds only the DAGs of that task's pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lumina_integration.factory.dag_builder import load_pipeline_dags
from lumina_integration.paths import DAGS_DIR

PIPELINE_DAGS = {
    "salesforce_account",
    "salesforce_account__reconcile",
    "salesforce_account__refresh",
    "salesforce_account__resync",
}


def test_only_the_pipeline_that_makes_the_dag_is_built() -> None:
    everything = load_pipeline_dags(DAGS_DIR)
    assert set(everything) >= PIPELINE_DAGS and len(everything) > len(PIPELINE_DAGS)
    for wanted in ("salesforce_account", "salesforce_account__reconcile"):
        assert set(load_pipeline_dags(DAGS_DIR, only_dag_id=wanted)) == PIPELINE_DAGS
    # A prefix of another pipeline's id is not that pipeline (salesforce_account is not salesforce_acc).
    assert load_pipeline_dags(DAGS_DIR, only_dag_id="salesforce_acc") == {}


def test_an_invalid_spec_is_still_reported_to_a_task_of_another_pipeline(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    (dags / "crm").mkdir(parents=True)
    for name in ("_defaults.yaml", "crm/_defaults.yaml", "crm/salesforce_account.dag.yaml"):
        (dags / name).write_text((DAGS_DIR / name).read_text())
    (dags / "crm" / "broken.dag.yaml").write_text("schedule: 5\n")
    loaded = load_pipeline_dags(dags, only_dag_id="salesforce_account")
    assert set(loaded) == PIPELINE_DAGS | {"lumina_invalid_pipeline_specs"}
    [error] = loaded["lumina_invalid_pipeline_specs"].spec_errors
    assert "broken.dag.yaml:1: schedule: Value error, expected a cron expression" in error


def test_the_dag_file_reads_airflows_parsing_context() -> None:
    # What Airflow's task runner sets before it parses the file of the task it runs.
    script = (
        "import runpy; names = runpy.run_path({path!r}); "
        "print(sorted(k for k, v in names.items() if type(v).__name__ == 'DAG'))"
    ).format(path=str(DAGS_DIR / "lumina_pipelines.py"))
    env = {**os.environ, "_AIRFLOW_PARSING_CONTEXT_DAG_ID": "salesforce_account__refresh"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(sorted(PIPELINE_DAGS))  # after Airflow's own log lines
