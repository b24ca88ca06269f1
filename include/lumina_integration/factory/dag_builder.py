"""Build one Airflow DAG per pipeline spec: ``plan >> extract >> transform >> validate >> load``.

Invalid specs do not stop the valid ones from loading: they are collected into one placeholder
DAG whose validation fails, which Airflow records as an import error of the loader file listing
each bad spec's file, line and field (Airflow keys import errors by Python file, so this is how
a YAML file's error reaches the UI's "DAG import errors" list without hiding the other DAGs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, CronTriggerTimetable, Param

from lumina_integration.alerts import failure_alerts
from lumina_integration.factory.spec import PipelineSpec
from lumina_integration.factory.specs import LoadedSpec, defaults_origin, iter_specs, shown_path
from lumina_integration.hooks.registry import adapter_info, check_object, maintenance_gaps, options_model
from lumina_integration.operators.extract import ExtractOperator
from lumina_integration.operators.load import LoadOperator, entity_asset_uri
from lumina_integration.operators.plan import PlanOperator, RunMode
from lumina_integration.operators.transform import TransformOperator
from lumina_integration.operators.validate import ValidateOperator
from lumina_integration.protection.access import dag_access_control
from lumina_integration.protection.residency import residency_problems
from lumina_integration.transforms.mapping import Mapping, load_mapping
from lumina_integration.yaml_models import FieldProblem, YamlModelError, compose_yaml, field_line, validate_yaml_data


def run_params() -> dict[str, Param]:
    """The manual-window params, new objects for each DAG.

    Airflow resolves a run's conf into the DAG's own ``Param`` objects in place (``Param.resolve`` sets
    ``value``), so params shared between DAGs, or kept on a DAG between runs in one process, would carry
    one run's window into the next. Each DAG gets its own, and the plan reads the window from the run's
    conf, never from the params' values.
    """
    return {
        "window_start": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Manual runs: reprocess from this instant (ISO 8601). "
            "Leave empty to continue from the watermark.",
        ),
        "window_end": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Manual runs: reprocess up to this instant (exclusive). Empty: up to the source's clock.",
        ),
    }


class PipelineSpecError(ValueError):
    """One or more pipeline spec files are invalid (each line names file, line and field)."""


class InvalidSpecsDag(DAG):
    """Placeholder whose validation fails with every spec error; it is never bagged or run."""

    spec_errors: list[str]

    def validate(self) -> None:
        raise PipelineSpecError(
            "Invalid pipeline specs (other pipelines loaded normally):\n" + "\n".join(self.spec_errors)
        )


def check_pipeline(loaded: LoadedSpec, dags_dir: Path) -> Mapping:
    """Checks that need more than the spec's own fields: the adapter, its object and options, the mapping.

    Every problem found is reported (each with its line), not just the first; the object and the
    options are checked with the same functions the run applies, so what lint accepts the run does not
    refuse by shape (names unknown to the source are still found only by the run's discovery).
    """
    spec, shown = loaded.spec, shown_path(loaded.path, dags_dir)

    def problem(loc: list[str | int], message: str) -> FieldProblem:
        return FieldProblem(field_line(loaded.path, loc), ".".join(map(str, loc)), message)

    try:
        info = adapter_info(spec.source.type)
    except LookupError as exc:
        raise YamlModelError(shown, [problem(["source", "type"], str(exc))]) from exc
    problems: list[FieldProblem] = []
    for kind in ("reconcile", "refresh"):
        if getattr(spec.maintenance, kind) and kind not in info.maintenance:
            message = f"the {spec.source.type} adapter has no {kind} runs (it offers {list(info.maintenance)})"
            problems.append(problem(["maintenance", kind], message))
    # Every run the registration offers (the __resync DAG, the scheduled kinds) must be one its hook class
    # implements, judged on the class: otherwise the run would fail only when it runs.
    for kind, why in maintenance_gaps(spec.source.type).items():
        scheduled = kind in ("reconcile", "refresh") and getattr(spec.maintenance, kind)
        message = f"the {spec.source.type} adapter is registered with {kind} runs, but {why}"
        problems.append(problem(["maintenance", kind] if scheduled else ["source", "type"], message))
    try:
        check_object(spec.source.type, spec.source.object)
    except ValueError as exc:
        problems.append(problem(["source", "object"], str(exc)))
    try:
        validate_yaml_data(options_model(spec.source.type), spec.source.options, None, shown)
    except YamlModelError as exc:
        for p in exc.problems:
            loc: list[str | int] = ["source", "options", *(int(k) if k.isdigit() else k for k in p.field.split("."))]
            problems.append(problem(loc, p.message))
    problems += _residency(loaded, dags_dir)
    mapping: Mapping | None = None
    try:
        mapping = load_mapping(spec.mapping)
    except LookupError as exc:
        problems.append(problem(["mapping"], str(exc)))
    if problems or mapping is None:
        raise YamlModelError(shown, problems)
    return mapping


def _residency(loaded: LoadedSpec, dags_dir: Path) -> list[FieldProblem]:
    """Residency problems (see :mod:`lumina_integration.protection.residency`), each on the line of the first
    field concerned that the spec file itself sets; a region inherited from a folder names its file and line."""
    found = residency_problems(loaded.spec)
    if not found:
        return []
    data = compose_yaml(loaded.path.read_text(encoding="utf-8"), loaded.path)[0] or {}

    def in_file(loc: tuple[str, ...]) -> bool:
        node = data
        for key in loc:
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True

    origin = None if "region" in data else defaults_origin(loaded.path, dags_dir, "region")
    suffix = f" (region set in {origin[0]}:{origin[1]})" if origin else ""
    problems = []
    for problem in found:
        loc = next((f for f in problem.fields if in_file(f)), ("region",))
        problems.append(FieldProblem(field_line(loaded.path, list(loc)), ".".join(loc), problem.message + suffix))
    return problems


def _doc_md(spec: PipelineSpec, mapping: Mapping, shown: Path) -> str:
    return "\n".join(
        [
            f"### {spec.dag_id}",
            spec.description or "",
            "",
            "| | |",
            "|---|---|",
            f"| Source | `{spec.source.type}` `{spec.source.object}` via connection `{spec.source.conn_id}` |",
            f"| Mapping | `include/mappings/{spec.mapping}.yaml` |",
            f"| Entity | `{mapping.entity}` v{mapping.entity_version} |",
            f"| Window | lookback {spec.window.lookback}, safety lag {spec.window.safety_lag} |",
            f"| Validation | policy `{spec.validation.policy}` |",
            f"| Load | `{spec.load.warehouse_conn_id}`, deletes `{spec.load.deletes}` |",
            f"| Lake | `s3://{spec.staging.bucket}/` via `{spec.staging.conn_id}` |",
            f"| Region | {f'`{spec.region}`' if spec.region else 'not declared'} |",
            f"| Defined in | `{shown}` |",
            "",
            "Manual runs continue from the watermark; give `window_start`/`window_end` to reprocess a window "
            "without moving the watermark. Backfills reprocess their data intervals and never move it.",
        ]
    )


MAINTENANCE_DOCS = {
    "reconcile": "Compares every live record's (id, change stamp) in the source with the warehouse's: ids the "
    "source no longer has (hard deletes, purged recycle bins) become tombstones; ids the warehouse lacks, and "
    "records whose stamp is newer than the warehouse's (updates stamped below the lookback), are read and loaded. "
    "File drops: every file version the ledger lacks is read, whatever its LastModified.",
    "resync": "Manual only. Reads the whole object as of the source's clock and rewrites its rows in one "
    "transaction: every row read replaces the warehouse's, even one with a newer stamp (after a source clock "
    "stepped back), and rows of this source it did not read become tombstones. Rows another run loaded since "
    "the resync began reading keep the usual cursor guard. The watermark does not move.",
    "refresh": "Re-reads the id and the formula fields (values that change without a cursor bump) of every live "
    "record, plus mapped fields no load has filled yet (a column-only backfill), and updates only the rows "
    "whose values differ.",
}


def _steps(dag: DAG, spec: PipelineSpec, mapping: Mapping, mode: RunMode) -> None:
    """``plan >> extract >> transform >> validate >> load`` for one run mode, inside ``dag``."""
    pipeline = spec.model_dump(mode="json")
    pool = adapter_info(spec.source.type).pool
    source_calls: dict[str, Any] = {"pool": pool} if pool else {}
    with dag:
        plan = PlanOperator(task_id="plan", pipeline=pipeline, mode=mode, **source_calls)
        extract = ExtractOperator(task_id="extract", pipeline=pipeline, **source_calls)
        transform = TransformOperator(task_id="transform", pipeline=pipeline)
        validate = ValidateOperator(task_id="validate", pipeline=pipeline)
        load = LoadOperator(
            task_id="load",
            pipeline=pipeline,
            outlets=[Asset(name=f"warehouse.{mapping.entity}", uri=entity_asset_uri(mapping.entity))],
        )
        plan >> extract >> transform >> validate >> load


def _dag_kwargs(spec: PipelineSpec, mapping: Mapping) -> dict[str, Any]:
    tags = [
        f"domain:{spec.domain}",
        f"source:{spec.source.type}",
        f"owner:{spec.owner}",
        f"entity:{mapping.entity}",
    ]
    return {
        "start_date": datetime.combine(spec.start_date, datetime.min.time(), tzinfo=UTC),
        "tags": sorted(set(tags + spec.tags)),
        # Read only by the FAB auth manager: who may see and run this pipeline's DAGs (docs/protection/access.md).
        "access_control": dag_access_control(spec.access_control, spec.domain),
        "default_args": {
            "owner": spec.owner,
            "retries": spec.retries,
            "retry_delay": spec.retry_delay,
            "retry_exponential_backoff": True,
            "max_retry_delay": spec.max_retry_delay,
            "on_failure_callback": failure_alerts(spec.alerts.slack_webhook_conn_id),
        },
    }


def build_dag(spec: PipelineSpec, mapping: Mapping, shown: Path) -> DAG:
    dag = DAG(
        dag_id=spec.dag_id,
        description=(spec.description or f"{spec.source.type} {spec.source.object} -> {mapping.entity}")[:200],
        doc_md=_doc_md(spec, mapping, shown),
        # Runs own a data interval: backfills reprocess exactly their interval.
        schedule=CronDataIntervalTimetable(spec.schedule, timezone="UTC"),
        catchup=spec.catchup,
        max_active_runs=spec.max_active_runs,
        params=run_params(),
        **_dag_kwargs(spec, mapping),
    )
    _steps(dag, spec, mapping, "incremental")
    return dag


def _can_resync(spec: PipelineSpec, mapping: Mapping) -> bool:
    """The adapter reads whole objects, and the mapping says which warehouse rows are this source's."""
    if "resync" not in adapter_info(spec.source.type).maintenance:
        return False
    try:
        mapping.source_key()
    except ValueError:
        return False
    return True


def build_maintenance_dags(spec: PipelineSpec, mapping: Mapping, shown: Path) -> list[DAG]:
    """``<dag_id>__reconcile`` and ``<dag_id>__refresh`` for the kinds the spec schedules, and
    ``<dag_id>__resync`` (manual only) for every pipeline whose adapter reads whole objects."""
    dags = []
    kinds: tuple[RunMode, ...] = ("reconcile", "refresh", "resync")
    for kind in kinds:
        schedule = None if kind == "resync" else getattr(spec.maintenance, kind)
        if not (schedule or (kind == "resync" and _can_resync(spec, mapping))):
            continue
        dag = DAG(
            dag_id=f"{spec.dag_id}__{kind}",
            description=f"{kind} of {spec.dag_id} ({spec.source.object} -> {mapping.entity})",
            doc_md="\n\n".join([f"### {spec.dag_id}__{kind}", MAINTENANCE_DOCS[kind], _doc_md(spec, mapping, shown)]),
            # No data interval: each run looks at the whole object as of the source's clock.
            schedule=CronTriggerTimetable(schedule, timezone="UTC") if schedule else None,
            catchup=False,
            max_active_runs=1,
            **_dag_kwargs(spec, mapping),
        )
        _steps(dag, spec, mapping, kind)
        dags.append(dag)
    return dags


def _builds(spec: PipelineSpec, dag_id: str) -> bool:
    """Whether ``spec`` makes ``dag_id``: its own DAG or one of its maintenance DAGs (``<dag_id>__<kind>``)."""
    return dag_id == spec.dag_id or dag_id.startswith(f"{spec.dag_id}__")


def load_pipeline_dags(dags_dir: Path, only_dag_id: str | None = None) -> dict[str, DAG]:
    """Every valid spec's DAG by dag_id, plus one failing placeholder when any spec is invalid.

    ``only_dag_id``: a task process parsing the folder to run a task of that DAG (Airflow's parsing
    context) gets only the DAGs of the spec that makes it; every spec is still read and checked, so an
    invalid one is still reported, but the others' mappings, checks and operators are not built.
    """
    dags: dict[str, DAG] = {}
    errors: list[str] = []
    for item in iter_specs(dags_dir):
        if isinstance(item, YamlModelError):
            errors.append(str(item))
            continue
        if only_dag_id and not _builds(item.spec, only_dag_id):
            continue
        try:
            mapping = check_pipeline(item, dags_dir)
        except YamlModelError as exc:
            errors.append(str(exc))
            continue
        shown = item.path.relative_to(dags_dir.parent)
        dags[item.spec.dag_id] = build_dag(item.spec, mapping, shown)
        for dag in build_maintenance_dags(item.spec, mapping, shown):
            dags[dag.dag_id] = dag
    if errors:
        placeholder = InvalidSpecsDag(dag_id="lumina_invalid_pipeline_specs", schedule=None)
        placeholder.spec_errors = errors
        dags[placeholder.dag_id] = placeholder
    return dags
