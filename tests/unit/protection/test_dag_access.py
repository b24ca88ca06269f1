"""DAG access by domain: every generated DAG's access_control comes from its folder, settable in _defaults.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumina_integration.factory.dag_builder import load_pipeline_dags
from lumina_integration.factory.specs import load_spec
from lumina_integration.paths import DAGS_DIR
from lumina_integration.protection.access import dag_access_control, folder_access_control
from lumina_integration.protection.access_roles import pipeline_roles
from lumina_integration.yaml_models import YamlModelError

SPEC = """\
owner: team-a
schedule: "0 * * * *"
start_date: 2026-01-01
source: {type: file_drop, conn_id: landing, object: "s3://landing/accounts/", options: {pattern: "*.csv"}}
mapping: crm_accounts_customer
"""


def write(dags: Path, relative: str, text: str) -> Path:
    path = dags / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_every_generated_dag_is_readable_by_its_domain_viewer_and_runnable_by_its_operator() -> None:
    dags = load_pipeline_dags(DAGS_DIR)
    assert len(dags) > 20
    for dag_id, dag in dags.items():
        domain = next(t.removeprefix("domain:") for t in dag.tags if t.startswith("domain:"))
        assert dag.access_control == {
            f"lumina_{domain}_viewer": {"DAGs": {"can_read"}, "DAG Runs": {"can_read"}},
            f"lumina_{domain}_operator": {"DAGs": {"can_read", "can_edit"}, "DAG Runs": {"can_read", "can_create"}},
        }, dag_id


def test_hand_written_dag_files_get_their_folders_roles() -> None:
    control = folder_access_control(DAGS_DIR / "crm" / "salesforce_writeback_legacy_accounts.py")
    assert set(control) == {"lumina_crm_viewer", "lumina_crm_operator"}
    roles = pipeline_roles()
    assert {"lumina_crm_viewer", "lumina_itsm_operator", "lumina_examples_viewer"} <= set(roles)
    assert not any("{" in r for r in roles)


def test_a_domain_defaults_file_replaces_the_roles(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/_defaults.yaml", "access_control:\n  sales_{domain}_team: {DAGs: [can_read, can_edit]}\n")
    spec = load_spec(write(dags, "crm/accounts.dag.yaml", SPEC), dags)
    assert dag_access_control(spec.access_control, spec.domain) == {
        "sales_crm_team": {"DAGs": {"can_read", "can_edit"}}
    }
    assert folder_access_control(dags / "crm" / "x.py", dags) == {"sales_crm_team": {"DAGs": {"can_read", "can_edit"}}}
    other = load_spec(write(dags, "itsm/tickets.dag.yaml", SPEC), dags)
    assert set(dag_access_control(other.access_control, other.domain)) == {"lumina_itsm_viewer", "lumina_itsm_operator"}


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ("{Connections: [can_read]}", "'Connections' is not a DAG resource"),
        ("{DAGs: [can_trigger]}", "DAGs has no action ['can_trigger']"),
    ],
)
def test_unknown_resources_and_actions_are_lint_errors(tmp_path: Path, grant: str, message: str) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/accounts.dag.yaml", SPEC + f"access_control:\n  analysts: {grant}\n")
    with pytest.raises(YamlModelError) as raised:
        load_spec(path, dags)
    assert message in str(raised.value)
    assert "accounts.dag.yaml:6: access_control:" in str(raised.value)
