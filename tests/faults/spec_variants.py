"""A pipeline's DAGs as they would be if its spec's ``source.options`` held more (a user editing the YAML).

The randomized change-capture tests run, e.g., the account pipeline with ``transport: rest`` (drawn per
sequence) and the ServiceNow and Jira pipelines with small pages (so that a window spans several). The DAGs are
built by the project's own factory from the very spec file in the DAGs folder with only the options changed
(checked as ``lumina lint`` checks them), so every step runs exactly as it would for that YAML. Worker processes
(``task_process.py``) build the same variants from ``LUMINA_FAULTS_SOURCE_OPTIONS`` (``{"<pipeline dag id>":
{option: value}}``), which they inherit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "LUMINA_FAULTS_SOURCE_OPTIONS"


def loaded_spec(dag_id: str) -> Any:
    """The ``LoadedSpec`` (path and validated spec) of pipeline ``dag_id`` in the DAGs folder."""
    from lumina_integration.factory.specs import LoadedSpec, iter_specs

    dags_dir = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    found = [i for i in iter_specs(dags_dir) if isinstance(i, LoadedSpec) and i.spec.dag_id == dag_id]
    if not found:
        raise LookupError(f"no valid pipeline spec with dag_id {dag_id!r} under {dags_dir.name}/")
    return found[0]


def pipeline_dags(dag_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """The incremental and maintenance DAGs of spec ``dag_id`` with ``options`` over its ``source.options``."""
    from lumina_integration.factory.dag_builder import build_dag, build_maintenance_dags, check_pipeline
    from lumina_integration.factory.spec import PipelineSpec
    from lumina_integration.factory.specs import LoadedSpec

    dags_dir = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    found = loaded_spec(dag_id)
    data = found.spec.model_dump(mode="json")
    data["source"]["options"] = {**data["source"]["options"], **options}
    loaded = LoadedSpec(found.path, PipelineSpec.model_validate(data))
    mapping = check_pipeline(loaded, dags_dir)  # the options are validated as lint validates them
    shown = loaded.path.relative_to(dags_dir.parent)
    dags = [build_dag(loaded.spec, mapping, shown), *build_maintenance_dags(loaded.spec, mapping, shown)]
    return {dag.dag_id: dag for dag in dags}


def from_environment() -> dict[str, Any]:
    """The variants ``LUMINA_FAULTS_SOURCE_OPTIONS`` asks for, by dag id (none when it is unset)."""
    dags: dict[str, Any] = {}
    for dag_id, options in json.loads(os.environ.get(ENV) or "{}").items():
        dags.update(pipeline_dags(dag_id, options))
    return dags
