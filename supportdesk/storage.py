"""Where the desk keeps files: the local filesystem, or any S3-compatible object store.

Every host of a many-host desk must see the same files (a mail's attachment stored by a
worker on host A is downloaded through the web on host B), so with more than one host set
``SUPPORTDESK_S3_BUCKET``. Without it, files stay under ``MEDIA_ROOT`` (the embedded default).
"""

from __future__ import annotations

from typing import Any

from .env import env_bool, env_int, env_str


def file_storage_setting() -> dict[str, Any]:
    """Return ``STORAGES["default"]`` read from the environment."""
    bucket = env_str("SUPPORTDESK_S3_BUCKET")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": env_str("SUPPORTDESK_S3_PREFIX"),
        # Two uploads of one name never replace each other: each keeps its own object, so
        # the orphan sweep can never remove a file a committed message refers to.
        "file_overwrite": False,
        "default_acl": None,
        # Objects are private; a download redirect carries a signature valid this long.
        "querystring_auth": True,
        "querystring_expire": env_int("SUPPORTDESK_FILE_URL_SECONDS", 60),
        "signature_version": "s3v4",
    }
    optional = {
        "endpoint_url": env_str("SUPPORTDESK_S3_ENDPOINT_URL"),  # MinIO, Ceph RGW, …
        "region_name": env_str("SUPPORTDESK_S3_REGION"),
        "addressing_style": env_str("SUPPORTDESK_S3_ADDRESSING_STYLE"),  # "path" for MinIO
        # Unset: boto3's own chain (AWS_ACCESS_KEY_ID…, an instance role).
        "access_key": env_str("SUPPORTDESK_S3_ACCESS_KEY_ID"),
        "secret_key": env_str("SUPPORTDESK_S3_SECRET_ACCESS_KEY"),
    }
    options |= {key: value for key, value in optional.items() if value}
    if not env_bool("SUPPORTDESK_S3_VERIFY_TLS", True):
        options["verify"] = False
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
