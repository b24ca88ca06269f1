"""Residency at lint and parse time: a pipeline's region against its bucket's and warehouse's regions."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumina_integration.cli import lint
from lumina_integration.factory.dag_builder import check_pipeline, load_pipeline_dags
from lumina_integration.factory.specs import LoadedSpec, load_spec
from lumina_integration.paths import DAGS_DIR
from lumina_integration.yaml_models import YamlModelError

SETTINGS = """\
buckets:
  lake-us:
    region: us-east-1
  lake-eu:
    region: eu-central-1
warehouses:
  wh-us:
    region: us-east-1
  wh-eu:
    region: eu-central-1
"""
SPEC = """\
description: residency test
owner: team-a
schedule: "0 * * * *"
start_date: 2026-01-01
source:
  type: file_drop
  conn_id: landing
  object: s3://landing/accounts/
  options: {pattern: "*.csv"}
mapping: crm_accounts_customer
staging:
  bucket: lake-us
load:
  warehouse_conn_id: wh-us
"""


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data_protection.yaml"
    path.write_text(SETTINGS)
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(path))
    return path


def write(dags: Path, relative: str, text: str) -> Path:
    path = dags / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems(dags: Path, path: Path) -> str:
    with pytest.raises(YamlModelError) as excinfo:
        check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)
    return str(excinfo.value)


def test_a_pipeline_whose_bucket_and_warehouse_are_in_its_region_passes(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC + "region: us-east-1\n")
    check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)
    assert lint([], dags) == []


def test_a_bucket_in_another_region_is_refused_naming_both_regions(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC.replace("bucket: lake-us", "bucket: lake-eu") + "region: us-east-1\n")
    message = problems(dags, path)
    assert (
        "dags/crm/acc.dag.yaml:15: region: the pipeline's region is us-east-1, but its staging bucket 'lake-eu' "
        "is in eu-central-1 (data_protection.yaml buckets)"
    ) in message
    assert "warehouse" not in message


def test_a_warehouse_in_another_region_is_refused_at_lint(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/acc.dag.yaml", SPEC.replace("wh-us", "wh-eu") + "region: us-east-1\n")
    [line] = lint([], dags)
    assert line.startswith("dags/crm/acc.dag.yaml:15: region: the pipeline's region is us-east-1, but its ")
    assert "warehouse connection 'wh-eu' is in eu-central-1 (data_protection.yaml warehouses)" in line


def test_an_undeclared_bucket_or_warehouse_is_refused_when_the_pipeline_declares_a_region(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    spec = SPEC.replace("lake-us", "lake-nowhere").replace("wh-us", "wh-nowhere") + "region: eu-central-1\n"
    message = problems(dags, write(dags, "crm/acc.dag.yaml", spec))
    assert (
        "acc.dag.yaml:12: staging.bucket: the pipeline's region is eu-central-1, but its staging bucket "
        "'lake-nowhere' has no region in data_protection.yaml (buckets)"
    ) in message
    assert (
        "acc.dag.yaml:14: load.warehouse_conn_id: the pipeline's region is eu-central-1, but its warehouse "
        "connection 'wh-nowhere' has no region in data_protection.yaml (warehouses)"
    ) in message


def test_without_a_region_nothing_is_checked(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC.replace("lake-us", "lake-nowhere"))
    check_pipeline(LoadedSpec(path, load_spec(path, dags)), dags)


def test_a_folders_region_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "_defaults.yaml", "owner: platform\nregion: us-east-1\n")
    write(dags, "crm/_defaults.yaml", "tags: [crm]\nregion: eu-central-1\n")
    path = write(dags, "crm/acc.dag.yaml", SPEC)
    message = problems(dags, path)
    # The spec sets the bucket and warehouse, so their lines carry the problem; the region's origin is named.
    assert "acc.dag.yaml:12: staging.bucket: the pipeline's region is eu-central-1, but its staging bucket" in message
    assert "acc.dag.yaml:14: load.warehouse_conn_id:" in message
    assert message.count("(region set in dags/crm/_defaults.yaml:2)") == 2


def test_a_bad_region_name_is_a_spec_error(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    path = write(dags, "crm/acc.dag.yaml", SPEC + "region: Frankfurt\n")
    with pytest.raises(YamlModelError, match=r"acc.dag.yaml:15: region: String should match pattern"):
        load_spec(path, dags)


def test_dag_parsing_refuses_the_pipeline_and_keeps_the_others(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    write(dags, "crm/good.dag.yaml", SPEC + "region: us-east-1\n")
    write(dags, "crm/bad.dag.yaml", SPEC.replace("lake-us", "lake-eu") + "region: us-east-1\n")
    loaded = load_pipeline_dags(dags)
    assert "good" in loaded and "bad" not in loaded
    [error] = loaded["lumina_invalid_pipeline_specs"].spec_errors
    assert "bad.dag.yaml:15: region:" in error and "is in eu-central-1" in error


def test_every_shipped_pipeline_declares_the_region_its_lake_and_warehouse_are_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LUMINA_DATA_PROTECTION")
    from lumina_integration.factory.specs import iter_specs

    specs = [item.spec for item in iter_specs(DAGS_DIR) if isinstance(item, LoadedSpec)]
    assert specs and {s.region for s in specs} == {"us-east-1"}
    assert lint([], DAGS_DIR) == []
