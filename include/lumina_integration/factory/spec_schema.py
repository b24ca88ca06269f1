"""The JSON Schema of pipeline specs, for editor completion (``lumina schema``, docs/pipeline-spec.schema.json).

``source.options`` is free-form in :class:`~lumina_integration.factory.spec.SourceSpec` because each
adapter checks its own options model at parse time. For editors the schema says more: one
``if source.type == X then source.options is X's options model`` branch per registered adapter, built
from the registry, so a new adapter's options complete (and misspellings are flagged) as soon as it is
registered, with nothing to edit here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from lumina_integration.factory.spec import PipelineSpec, format_duration
from lumina_integration.hooks.registry import ADAPTERS, options_model

TITLE = "Lumina pipeline spec (dags/<domain>/<pipeline>.dag.yaml)"


class _SpecSchema(GenerateJsonSchema):
    """Defaults written as a spec would write them: durations as ``600s``, not ISO 8601's ``PT10M``."""

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        return super().encode_default(dft)


def _options_defs(adapter: str) -> tuple[str, dict[str, Any]]:
    """The adapter's options schema as top-level ``$defs`` entries, and the name of its root entry.

    Every definition is prefixed with the adapter's name: two adapters may both have, say, an
    ``AuthOptions`` model, and the schema must keep them apart.
    """
    prefix = f"{adapter}__"
    schema = options_model(adapter).model_json_schema(
        mode="validation", ref_template=f"#/$defs/{prefix}{{model}}", schema_generator=_SpecSchema
    )
    defs = {prefix + name: body for name, body in schema.pop("$defs", {}).items()}
    root = f"{prefix}options"
    defs[root] = schema
    return root, defs


def spec_json_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(mode="validation", schema_generator=_SpecSchema)
    schema["title"] = TITLE
    # dag_id and domain come from the file's name and folder; the rest may come from _defaults.yaml.
    schema["required"] = ["source", "mapping"]
    for derived in ("dag_id", "domain"):
        schema["properties"].pop(derived, None)
    source = schema["$defs"]["SourceSpec"]
    source["properties"]["type"]["enum"] = sorted(ADAPTERS)
    branches = []
    for adapter in sorted(ADAPTERS):
        root, defs = _options_defs(adapter)
        schema["$defs"].update(defs)
        branches.append(
            {
                "if": {"properties": {"type": {"const": adapter}}, "required": ["type"]},
                "then": {"properties": {"options": {"$ref": f"#/$defs/{root}"}}},
            }
        )
    source["allOf"] = branches
    return schema
