"""Residency: a pipeline that declares a region stages and loads only where the settings say that region is.

A pipeline (or a folder, through ``_defaults.yaml``) declares ``region``; the deployment's
``data_protection.yaml`` declares where each bucket (``buckets``) and warehouse connection (``warehouses``)
lives. :func:`residency_problems` compares them for lint and DAG parsing (no I/O beyond reading the
settings); :func:`lake_region_problems` compares the lake connection and the bucket itself at run time.
A pipeline that declares no region is not checked: residency is opt-in per pipeline or folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from lumina_integration.factory.spec import PipelineSpec
from lumina_integration.protection.settings import DataProtectionSettings, data_protection, settings_path


@dataclass(frozen=True)
class ResidencyProblem:
    """A problem and the spec fields it concerns (the first one the spec file sets gets the line)."""

    fields: tuple[tuple[str, ...], ...]
    message: str


def residency_problems(spec: PipelineSpec, settings: DataProtectionSettings | None = None) -> list[ResidencyProblem]:
    """Where ``spec`` would put data outside its declared region, or somewhere no region is declared for."""
    if spec.region is None:
        return []
    settings = settings or data_protection()
    where = settings_path().name
    problems = []
    bucket, warehouse = settings.buckets.get(spec.staging.bucket), settings.warehouses.get(spec.load.warehouse_conn_id)
    targets = [
        ("staging bucket", spec.staging.bucket, bucket, ("staging", "bucket"), "buckets"),
        ("warehouse connection", spec.load.warehouse_conn_id, warehouse, ("load", "warehouse_conn_id"), "warehouses"),
    ]
    for kind, name, entry, field, section in targets:
        if entry is None:
            problems.append(
                ResidencyProblem(
                    (field, ("region",)),
                    f"the pipeline's region is {spec.region}, but its {kind} {name!r} has no region in {where} "
                    f"({section}): declare where it lives before staging there",
                )
            )
        elif entry.region != spec.region:
            problems.append(
                ResidencyProblem(
                    (("region",), field),
                    f"the pipeline's region is {spec.region}, but its {kind} {name!r} is in {entry.region} "
                    f"({where} {section}): data would leave {spec.region}; use a {kind} in {spec.region} "
                    "or change the pipeline's region",
                )
            )
    return problems


def lake_region_problems(spec: PipelineSpec, connection_region: str | None, bucket_region: str | None) -> list[str]:
    """Run-time residency of the lake: the connection's ``region_name`` and the bucket's actual location.

    ``None`` for either means unknown (a connection without ``region_name``, a location the
    credentials may not read) and is not a problem; the declared bucket region is the reference.
    """
    if spec.region is None:
        return []
    declared = data_protection().buckets.get(spec.staging.bucket)
    if declared is None:
        return []  # refused at parse time already
    problems = []
    bucket = spec.staging.bucket
    if connection_region is not None and connection_region != declared.region:
        problems.append(
            f"the lake connection {spec.staging.conn_id!r} has region_name {connection_region}, but bucket "
            f"{bucket!r} is declared in {declared.region} ({settings_path().name}): fix the connection's region_name"
        )
    if bucket_region is not None and bucket_region != declared.region:
        problems.append(
            f"bucket {bucket!r} is in {bucket_region} according to S3, but {settings_path().name} declares it in "
            f"{declared.region} (the pipeline's region is {spec.region}): refusing to stage there"
        )
    return problems
