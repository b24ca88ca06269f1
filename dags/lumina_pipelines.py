"""Airflow DAG loader: builds one DAG per pipeline spec (``dags/<domain>/<pipeline>.dag.yaml``).

Data teams edit the YAML specs, never this file. An invalid spec does not hide the others: it is
reported as an import error of this file naming the spec's file, line and field.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import get_parsing_context

from lumina_integration.factory.dag_builder import load_pipeline_dags

# A task process parses this file to run one task: it gets only that pipeline's DAGs (the dag-processor,
# which parses for every DAG, gets them all).
globals().update(load_pipeline_dags(Path(__file__).parent, only_dag_id=get_parsing_context().dag_id))
