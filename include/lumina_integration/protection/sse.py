"""Server-side encryption of every upload to the lake: the one place that says what an upload asks for.

:func:`upload_args` turns a bucket's entry in ``data_protection().buckets`` into the request parameters
S3 expects (``ServerSideEncryption``, and ``SSEKMSKeyId`` for SSE-KMS). :func:`enforce_sse` hooks them into
a boto3 client's request building for every call that creates an object (``PutObject``,
``CreateMultipartUpload``, which is what ``upload_fileobj`` and the transfer manager use, and
``CopyObject``, which otherwise drops the source's encryption), so no call site has to remember them.
:func:`lumina_integration.staging.s3.s3_client` applies it to every lake client the project builds.

A bucket the settings do not declare gets SSE-S3 (AES256): it needs no key to manage, it is what AWS
applies to new buckets by default since 2023, and refusing the upload would stop every pipeline that
stages to a bucket nobody has declared yet (residency, which needs the declaration, refuses those at
lint when the pipeline declares a region).
"""

from __future__ import annotations

from typing import Any

from lumina_integration.protection.settings import BucketSettings, data_protection

# Not a declaration (no region): what an undeclared bucket gets.
UNDECLARED_BUCKET = BucketSettings.model_construct(region="", sse="AES256", kms_key_id=None)
# The calls that create an object; UploadPart inherits the encryption of its CreateMultipartUpload.
_OBJECT_CREATING_CALLS = ("PutObject", "CreateMultipartUpload", "CopyObject")
_HANDLER_ID = "lumina-sse"


def bucket_settings(bucket: str) -> BucketSettings:
    """The bucket's declared settings, or SSE-S3 when the settings do not declare it."""
    return data_protection().buckets.get(bucket, UNDECLARED_BUCKET)


def upload_args(bucket: str) -> dict[str, str]:
    """The extra parameters of an upload to ``bucket`` (``put_object(**upload_args(bucket), ...)``)."""
    declared = bucket_settings(bucket)
    args: dict[str, str] = {"ServerSideEncryption": declared.sse}
    if declared.sse == "aws:kms" and declared.kms_key_id:
        # Without a key id S3 uses the account's AWS-managed key (aws/s3).
        args["SSEKMSKeyId"] = declared.kms_key_id
    return args


def _add_upload_args(params: dict[str, Any], **_: Any) -> None:
    bucket = params.get("Bucket")
    if isinstance(bucket, str):
        # The bucket's policy wins over whatever a caller asked for: it is the deployment's decision.
        params.pop("SSEKMSKeyId", None)
        params.update(upload_args(bucket))


def enforce_sse(client: Any) -> Any:
    """Make ``client`` ask for its bucket's encryption on every object it creates; returns the client."""
    for operation in _OBJECT_CREATING_CALLS:
        client.meta.events.register(
            f"before-parameter-build.s3.{operation}", _add_upload_args, unique_id=f"{_HANDLER_ID}-{operation}"
        )
    return client
