"""Find pipeline spec files, layer their folder defaults, and validate them.

Defaults cascade: ``dags/_defaults.yaml`` then ``dags/<domain>/_defaults.yaml`` then the spec
itself; mappings merge key by key, tags accumulate. A spec's ``dag_id`` defaults to its file
name (``crm_accounts.dag.yaml`` -> ``crm_accounts``) and its domain is its folder.

A spec outside the dags folder (``lumina lint drafts/crm/x.dag.yaml``) is read as if its folder were
a domain folder of a dags folder: the cascade is ``<its folder's parent>/_defaults.yaml`` then
``<its folder>/_defaults.yaml``, and the domain is its folder's name. So a copy of a dags tree (a
draft, another checkout's ``dags/``) lints exactly as it would load in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lumina_integration.factory.spec import PipelineDefaults, PipelineSpec
from lumina_integration.yaml_models import (
    FieldProblem,
    YamlModelError,
    compose_yaml,
    load_yaml_model,
    validate_yaml_data,
)

SPEC_SUFFIX = ".dag.yaml"
DEFAULTS_FILE = "_defaults.yaml"


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    spec: PipelineSpec


def spec_files(dags_dir: Path) -> list[Path]:
    return sorted(p for p in dags_dir.rglob(f"*{SPEC_SUFFIX}") if p.is_file())


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key == "tags":
            merged[key] = [*merged.get(key, []), *[t for t in value if t not in merged.get(key, [])]]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        elif value is not None:
            merged[key] = value
    return merged


def spec_root(path: Path, dags_dir: Path) -> Path:
    """The folder a spec's defaults cascade and domain are taken from (see the module's docstring)."""
    return dags_dir if dags_dir in path.parents else path.parent.parent


def shown_path(path: Path, dags_dir: Path) -> Path:
    """How errors name a spec: from the project (``dags/crm/x.dag.yaml``), else from the working folder."""
    for base in (dags_dir.parent, Path.cwd()):
        if base in path.parents:
            return path.relative_to(base)
    return path


def _defaults_for(path: Path, dags_dir: Path) -> dict[str, Any]:
    layered: dict[str, Any] = {}
    root = spec_root(path, dags_dir)
    folders = [root / rel for rel in reversed(list(path.parent.relative_to(root).parents))]
    folders.append(path.parent)
    for folder in dict.fromkeys(folders):
        defaults_path = folder / DEFAULTS_FILE
        if defaults_path.exists():
            defaults = load_yaml_model(PipelineDefaults, defaults_path)
            layered = _merge(layered, defaults.model_dump(exclude_unset=True, mode="python"))
    return layered


def defaults_origin(path: Path, dags_dir: Path, key: str) -> tuple[Path, int] | None:
    """The ``_defaults.yaml`` (and line) a spec's top-level ``key`` comes from when the spec does not set it."""
    from lumina_integration.yaml_models import field_line

    root = spec_root(path, dags_dir)
    folders = [root / rel for rel in reversed(list(path.parent.relative_to(root).parents))]
    folders.append(path.parent)
    for folder in reversed(list(dict.fromkeys(folders))):
        defaults_path = folder / DEFAULTS_FILE
        if defaults_path.exists() and key in (
            compose_yaml(defaults_path.read_text(encoding="utf-8"), defaults_path)[0] or {}
        ):
            return shown_path(defaults_path, dags_dir), field_line(defaults_path, [key])
    return None


def folder_defaults(folder: Path, dags_dir: Path) -> tuple[PipelineDefaults, str]:
    """(defaults, domain) a spec in ``folder`` would get: hand-written DAG files there use the same."""
    probe = folder / f"_{SPEC_SUFFIX}"
    relative = folder.relative_to(spec_root(probe, dags_dir))
    return PipelineDefaults(**_defaults_for(probe, dags_dir)), relative.parts[0] if relative.parts else ""


def load_spec(path: Path, dags_dir: Path) -> PipelineSpec:
    """Validate one spec file with its folder defaults; raises :class:`YamlModelError`."""
    shown = shown_path(path, dags_dir)
    data, node = compose_yaml(path.read_text(encoding="utf-8"), shown)
    if not isinstance(data, dict):
        raise YamlModelError(shown, [FieldProblem(1, "", "expected a mapping of keys to values")])
    merged = _merge(_defaults_for(path, dags_dir), data)
    merged.setdefault("dag_id", path.name.removesuffix(SPEC_SUFFIX))
    relative = path.parent.relative_to(spec_root(path, dags_dir))
    merged.setdefault("domain", relative.parts[0] if relative.parts else "")
    return validate_yaml_data(PipelineSpec, merged, node, shown)


def iter_specs(dags_dir: Path) -> Iterator[LoadedSpec | YamlModelError]:
    """Every spec under ``dags_dir``: a loaded spec, or the error that names its file and line."""
    seen: dict[str, Path] = {}
    for path in spec_files(dags_dir):
        try:
            spec = load_spec(path, dags_dir)
        except YamlModelError as exc:
            yield exc
            continue
        if spec.dag_id in seen:
            yield YamlModelError(
                path.relative_to(dags_dir.parent),
                [FieldProblem(1, "dag_id", f"{spec.dag_id!r} is already defined by {seen[spec.dag_id].name}")],
            )
            continue
        seen[spec.dag_id] = path
        yield LoadedSpec(path, spec)
