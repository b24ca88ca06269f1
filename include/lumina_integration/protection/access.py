"""DAG access by domain: the ``access_control`` every generated pipeline DAG carries.

Only the FAB auth manager reads a DAG's ``access_control`` (it turns each entry into per-DAG permissions
``DAG:<dag_id>`` / ``DAG Run:<dag_id>`` for the role named, when the dag-processor serializes the DAG);
other auth managers ignore it. Role names may hold ``{domain}``, the spec's folder under ``dags/``, so one
entry in ``dags/_defaults.yaml`` gives every domain its own roles. The default gives each domain two:

- ``lumina_<domain>_viewer``: sees the domain's DAGs, their runs, tasks and logs;
- ``lumina_<domain>_operator``: also triggers runs and pauses or unpauses them.

Every role named must exist before the DAGs are parsed (FAB refuses the DAG otherwise):
:mod:`lumina_integration.protection.access_roles` creates them. Light to import: read at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# What access_control may grant (FAB's per-DAG resources and their actions).
DAG_RESOURCES: dict[str, frozenset[str]] = {
    "DAGs": frozenset({"can_read", "can_edit", "can_delete"}),
    "DAG Runs": frozenset({"can_read", "can_create", "can_edit", "can_delete", "menu_access"}),
}

AccessControl = dict[str, dict[str, list[str]]]

VIEWER_ROLE = "lumina_{domain}_viewer"
OPERATOR_ROLE = "lumina_{domain}_operator"
NO_DOMAIN = "shared"  # specs directly in dags/ (no domain folder)

DEFAULT_ACCESS_CONTROL: AccessControl = {
    VIEWER_ROLE: {"DAGs": ["can_read"], "DAG Runs": ["can_read"]},
    OPERATOR_ROLE: {"DAGs": ["can_read", "can_edit"], "DAG Runs": ["can_read", "can_create"]},
}


def check_access_control(value: Mapping[str, Mapping[str, list[str]]]) -> AccessControl:
    """The mapping as given; ValueError naming an unknown resource or action (so lint finds it, not FAB)."""
    checked: AccessControl = {}
    for role, grants in value.items():
        if not role.strip():
            raise ValueError("a role name is empty")
        if "{" in role.replace("{domain}", ""):
            raise ValueError(f"role {role!r}: only {{domain}} may be substituted in a role name")
        for resource, actions in grants.items():
            allowed = DAG_RESOURCES.get(resource)
            if allowed is None:
                raise ValueError(
                    f"role {role!r}: {resource!r} is not a DAG resource; use one of {sorted(DAG_RESOURCES)}"
                )
            unknown = sorted(set(actions) - allowed)
            if unknown:
                raise ValueError(f"role {role!r}: {resource} has no action {unknown}; use {sorted(allowed)}")
        checked[role] = {resource: list(dict.fromkeys(actions)) for resource, actions in grants.items()}
    return checked


def role_name(template: str, domain: str) -> str:
    return template.replace("{domain}", domain or NO_DOMAIN)


def dag_access_control(
    access_control: Mapping[str, Mapping[str, list[str]]], domain: str
) -> dict[str, dict[str, set[str]]]:
    """The DAG argument: role -> resource -> actions, with ``{domain}`` filled in."""
    return {
        role_name(role, domain): {resource: set(actions) for resource, actions in grants.items()}
        for role, grants in access_control.items()
    }


def folder_access_control(dag_file: str | Path, dags_dir: Path | None = None) -> dict[str, dict[str, set[str]]]:
    """For a hand-written DAG file in ``dags/<domain>/``: the access its folder's specs get (pass ``__file__``)."""
    from lumina_integration.factory.specs import folder_defaults
    from lumina_integration.paths import DAGS_DIR

    defaults, domain = folder_defaults(Path(dag_file).resolve().parent, (dags_dir or DAGS_DIR).resolve())
    return dag_access_control(
        DEFAULT_ACCESS_CONTROL if defaults.access_control is None else defaults.access_control, domain
    )
