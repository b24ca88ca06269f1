"""Create the FAB roles the pipeline DAGs' ``access_control`` names, before the DAGs are parsed.

FAB refuses to serialize a DAG whose ``access_control`` names a role that does not exist, so a deployment
creates them first (``python -m lumina_integration.protection.access_roles``; ``make ui`` does). Each role
gets Airflow's Viewer permissions **without** the global ``DAGs`` ones (those would open every DAG), so a
user needs one role: the per-DAG permissions the dag-processor syncs from ``access_control`` add the
domain's DAGs. Roles that exist keep their permissions and get the missing base ones. Needs the FAB auth
manager configured (``[core] auth_manager``) and a migrated metadata DB.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lumina_integration.paths import DAGS_DIR

# Global resources a domain role must not hold: any action on them applies to every DAG.
ALL_DAGS_RESOURCES = frozenset({"DAGs"})


def pipeline_roles(dags_dir: Path = DAGS_DIR) -> list[str]:
    """Every role named by the valid specs under ``dags_dir`` and by its domain folders' defaults
    (what hand-written DAG files there get from :func:`~.access.folder_access_control`)."""
    from lumina_integration.factory.specs import LoadedSpec, iter_specs
    from lumina_integration.protection.access import folder_access_control, role_name

    roles: set[str] = set()
    for item in iter_specs(dags_dir):
        if isinstance(item, LoadedSpec):
            roles.update(role_name(role, item.spec.domain) for role in item.spec.access_control)
    for folder in sorted(p for p in dags_dir.iterdir() if p.is_dir() and p.name[0] not in "._"):
        roles.update(folder_access_control(folder / "dag.py", dags_dir))
    return sorted(roles)


def base_permissions(security_manager: Any) -> list[tuple[str, str]]:
    """Viewer's (action, resource) pairs minus those on every DAG at once."""
    return [(a, r) for a, r in security_manager.VIEWER_PERMISSIONS if r not in ALL_DAGS_RESOURCES]


def ensure_roles(security_manager: Any, roles: Iterable[str]) -> list[str]:
    """Create the missing roles and give each the base permissions; returns the roles created."""
    created = []
    base = [security_manager.create_permission(a, r) for a, r in base_permissions(security_manager)]
    for name in roles:
        role = security_manager.find_role(name)
        if role is None:
            role = security_manager.add_role(name)
            created.append(name)
        for permission in base:
            security_manager.add_permission_to_role(role, permission)
    return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dags-dir", type=Path, default=DAGS_DIR)
    parser.add_argument(
        "--check",
        action="store_true",
        help="create nothing; exit 1 naming the roles that do not exist (a deploy step before the dag-processor)",
    )
    args = parser.parse_args(argv)
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    roles = pipeline_roles(args.dags_dir)
    with get_application_builder() as appbuilder:
        if args.check:
            # One missing role fails the whole loader file, and with it every pipeline DAG (not only its domain's).
            missing = [name for name in roles if appbuilder.sm.find_role(name) is None]
            print(
                f"missing pipeline roles: {', '.join(missing)}" if missing else f"all {len(roles)} pipeline roles exist"
            )
            return 1 if missing else 0
        created = ensure_roles(appbuilder.sm, roles)
    print(f"{len(roles)} pipeline roles ({len(created)} created): {', '.join(roles)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
