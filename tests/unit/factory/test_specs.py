"""Pipeline spec validation: good files, bad files, and errors that name file, line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lumina_integration.cli import lint
from lumina_integration.factory.dag_builder import check_pipeline
from lumina_integration.factory.spec import PipelineSpec, parse_duration
from lumina_integration.factory.specs import LoadedSpec, iter_specs, load_spec
from lumina_integration.yaml_models import YamlModelError

SPEC = """\
description: test pipeline
owner: team-a
schedule: "0 * * * *"
start_date: 2026-01-01
source:
  type: file_drop
  conn_id: landing
  object: s3://landing/accounts/
  options: {pattern: "*.csv"}
mapping: crm_accounts_customer
window:
  lookback: 15m
"""


def write(dags: Path, relative: str, text: str) -> Path:
    path = dags / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_good_spec_gets_id_domain_and_defaults(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    spec = load_spec(write(dags, "crm/crm_accounts.dag.yaml", SPEC), dags)
    assert spec.dag_id == "crm_accounts"
    assert spec.domain == "crm"
    assert spec.window.lookback == timedelta(minutes=15)
    assert spec.window.safety_lag == timedelta(minutes=1)
    assert spec.validation.policy == "quarantine"
    assert spec.load.deletes == "soft"


def test_folder_defaults_layer_and_tags_accumulate(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "_defaults.yaml", "owner: platform\ntags: [lumina]\nretries: 5\nload: {deletes: hard}\n")
    write(dags, "crm/_defaults.yaml", "owner: crm-team\ntags: [crm]\n")
    spec_text = SPEC.replace("owner: team-a\n", "").replace("description: test pipeline\n", "tags: [nightly]\n")
    spec = load_spec(write(dags, "crm/accounts.dag.yaml", spec_text), dags)
    assert spec.owner == "crm-team"
    assert spec.tags == ["lumina", "crm", "nightly"]
    assert spec.retries == 5
    assert spec.load.deletes == "hard"
    assert spec.load.warehouse_conn_id == "lumina_warehouse"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ("  lookback: 15m\n", "  lookback: 15m\n  lookbak: 1h\n"),
            ":13: window.lookbak: unknown key",
            id="typo",
        ),
        pytest.param(
            ("  lookback: 15m\n", "  lookback: soon\n"),
            ":12: window.lookback: Value error, expected a duration",
            id="bad-duration",
        ),
        pytest.param(
            ('"0 * * * *"', '"every hour"'),
            ":3: schedule: Value error, expected a cron expression",
            id="bad-cron",
        ),
        pytest.param(("  conn_id: landing\n", ""), ":5: source.conn_id: Field required", id="missing-field"),
        pytest.param(("mapping: crm", "mapping: [crm"), ":11: invalid YAML", id="broken-yaml"),
        pytest.param(("start_date: 2026-01-01", "start_date: someday"), ":4: start_date:", id="bad-date"),
    ],
)
def test_bad_spec_errors_name_file_line_and_field(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC.replace(*change))
    with pytest.raises(YamlModelError) as excinfo:
        load_spec(path, dags)
    assert f"dags/crm/acc.dag.yaml{expected}" in str(excinfo.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ('{pattern: "*.csv"}', "{patern: x}"),
            "acc.dag.yaml:9: source.options.patern: unknown key",
            id="adapter-option-typo",
        ),
        pytest.param(
            ("type: file_drop", "type: ftp"),
            "acc.dag.yaml:6: source.type: unknown source type 'ftp'",
            id="unknown-adapter",
        ),
        pytest.param(
            ("mapping: crm_accounts_customer", "mapping: nope"),
            "acc.dag.yaml:10: mapping: no mapping named",
            id="unknown-mapping",
        ),
    ],
)
def test_cross_file_checks_name_the_spec_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC.replace(*change))
    with pytest.raises(YamlModelError) as excinfo:
        check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)
    assert expected in str(excinfo.value)


def test_duplicate_dag_ids_are_reported(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "a/same.dag.yaml", SPEC)
    write(dags, "b/same.dag.yaml", SPEC)
    results = list(iter_specs(dags))
    assert isinstance(results[0], LoadedSpec)
    assert isinstance(results[1], YamlModelError)
    assert "'same' is already defined" in str(results[1])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("30s", 30, id="s"),
        pytest.param("10m", 600, id="m"),
        pytest.param("2h", 7200, id="h"),
        pytest.param("1d", 86400, id="d"),
        pytest.param(45, 45, id="int"),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_spec_round_trips_through_json(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    spec = load_spec(write(dags, "crm/acc.dag.yaml", SPEC), dags)
    assert PipelineSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_lint_reports_every_bad_file(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/good.dag.yaml", SPEC)
    write(dags, "crm/bad.dag.yaml", SPEC.replace("owner: team-a", "owner: [x"))
    problems = lint([], dags)
    assert len(problems) == 1 and "bad.dag.yaml:3: invalid YAML" in problems[0]
    assert lint([], Path(__file__).resolve().parents[3] / "dags") == []


def test_alerts_default_to_lumina_alerts_and_can_be_switched_off(tmp_path: Path) -> None:
    from lumina_integration.factory.dag_builder import build_dag
    from lumina_integration.transforms.mapping import load_mapping

    dags = tmp_path / "dags"
    on = load_spec(write(dags, "crm/on.dag.yaml", SPEC), dags)
    off = load_spec(write(dags, "crm/off.dag.yaml", SPEC + "alerts: {slack_webhook_conn_id: null}\n"), dags)
    mapping = load_mapping(on.mapping)

    assert on.alerts.slack_webhook_conn_id == "lumina_alerts"
    [alert] = build_dag(on, mapping, dags).get_task("load").on_failure_callback
    assert alert.slack_webhook_conn_id == "lumina_alerts"
    assert not build_dag(off, mapping, dags).get_task("load").on_failure_callback


SALESFORCE_SPEC = """\
owner: team-a
schedule: "*/15 * * * *"
start_date: 2026-01-01
source:
  type: salesforce
  conn_id: salesforce_default
  object: Contact
  options:
    fields:
      - Id
      - Name
mapping: salesforce_contact_contact
"""
NOT_AN_API_NAME = BAD = "is not a Salesforce API name (one word of letters, digits and underscores"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ("object: Contact", "object: \"Contact WHERE Name != ''\""),
            [f"dags/crm/sf.dag.yaml:7: source.object: sObject \"Contact WHERE Name != ''\" {NOT_AN_API_NAME}"],
            id="keyword-in-object",
        ),
        pytest.param(
            ("object: Contact", "object: Contact--"),
            [f"dags/crm/sf.dag.yaml:7: source.object: sObject 'Contact--' {NOT_AN_API_NAME}"],
            id="comment-marker-in-object",
        ),
        pytest.param(
            ("      - Name\n", '      - "Name FROM User"\n      - "Email /* x */"\n'),
            [
                f"dags/crm/sf.dag.yaml:11: source.options.fields.1: Value error, field 'Name FROM User' {BAD}",
                f"dags/crm/sf.dag.yaml:12: source.options.fields.2: Value error, field 'Email /* x */' {BAD}",
            ],
            id="keyword-and-comment-in-fields",
        ),
    ],
)
def test_lint_refuses_what_no_soql_query_would_accept(
    tmp_path: Path, change: tuple[str, str], expected: list[str]
) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/sf.dag.yaml", SALESFORCE_SPEC.replace(*change))
    problems = lint([], dags)
    assert len(problems) == len(expected), problems
    assert all(p.startswith(e) for p, e in zip(problems, expected, strict=True)), problems


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ("object: s3://landing/accounts/", "object: s3://landing/accounts/../hr/"),
            ["dags/crm/acc.dag.yaml:8: source.object: file drop prefix 'accounts/../hr/' has a '.' or '..' segment"],
            id="dotdot-in-prefix",
        ),
        pytest.param(
            ('{pattern: "*.csv"}', '{pattern: "../*.csv"}'),
            ["dags/crm/acc.dag.yaml:9: source.options.pattern: Value error, pattern '../*.csv' has a '.' or '..' seg"],
            id="dotdot-in-pattern",
        ),
    ],
)
def test_lint_refuses_relative_steps_in_file_drop_locations(
    tmp_path: Path, change: tuple[str, str], expected: list[str]
) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/acc.dag.yaml", SPEC.replace(*change))
    problems = lint([], dags)
    assert len(problems) == len(expected), problems
    assert all(p.startswith(e) for p, e in zip(problems, expected, strict=True)), problems


def test_lint_reads_a_spec_outside_dags_with_its_own_folders_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dags = tmp_path / "project" / "dags"
    write(dags, "_defaults.yaml", "owner: platform\n")
    drafts = tmp_path / "drafts"
    write(drafts, "_defaults.yaml", "owner: drafting-team\nretries: 7\n")
    good = write(drafts, "crm/accounts.dag.yaml", SPEC.replace("owner: team-a\n", ""))
    bad = write(drafts, "crm/broken.dag.yaml", SPEC.replace("  lookback: 15m\n", "  lookback: soon\n"))
    monkeypatch.chdir(tmp_path)

    assert lint([good], dags) == []
    spec = load_spec(good, dags)
    assert (spec.owner, spec.retries, spec.domain, spec.dag_id) == ("drafting-team", 7, "crm", "accounts")
    problems = lint([bad], dags)
    assert len(problems) == 1
    assert problems[0].startswith("drafts/crm/broken.dag.yaml:12: window.lookback: Value error, expected a duration")


def test_a_maintenance_run_the_hook_class_lacks_is_refused_at_parse_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registration offering runs its hook class cannot do fails lint and parsing, not the run.

    The real FileDropHook, registered as if it were record-level and could refresh: it implements
    neither Reconciles nor ReadsColumns, which the class alone shows (nothing connects).
    """
    from dataclasses import replace

    from lumina_integration.hooks.registry import ADAPTERS

    wrong = replace(ADAPTERS["file_drop"], maintenance=("reconcile", "refresh"), resource_level=False)
    monkeypatch.setitem(ADAPTERS, "file_drop", wrong)
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC + 'maintenance:\n  refresh: "0 3 * * *"\n')
    with pytest.raises(YamlModelError) as excinfo:
        check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)
    message = str(excinfo.value)
    assert (
        "acc.dag.yaml:14: maintenance.refresh: the file_drop adapter is registered with refresh runs, but "
        "FileDropHook does not implement ReadsColumns (read_columns)"
    ) in message
    assert (
        "acc.dag.yaml:6: source.type: the file_drop adapter is registered with reconcile runs, but "
        "FileDropHook does not implement Reconciles (reconcile)"
    ) in message
    assert any("maintenance.refresh" in line for line in lint([], dags))

    # As registered (resource-level: a reconcile reads every file version the ledger lacks), it is fine.
    monkeypatch.setitem(ADAPTERS, "file_drop", replace(wrong, maintenance=("reconcile",), resource_level=True))
    path.write_text(SPEC + 'maintenance:\n  reconcile: "0 3 * * *"\n')
    check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)
