"""A real S3-compatible HTTP server on loopback (moto's standalone ``moto_server``).

Not an in-process stub: boto3 and django-storages talk HTTP to a child process, as they
would to MinIO or AWS. ``storage_env`` gives child processes (web, worker) the same store.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3

from .processes import free_port, wait_until

ACCESS_KEY = "testing-key"
SECRET_KEY = "testing-secret"  # noqa: S105 - moto accepts any credentials
REGION = "us-east-1"


class S3Server:
    """moto_server on a free loopback port, and one bucket on it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        moto = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(  # noqa: S603
            [str(moto), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, 60, "moto_server to answer")
        self.bucket = f"desk-{uuid.uuid4().hex[:8]}"
        self.client().create_bucket(Bucket=self.bucket)

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"moto_server exited with code {self.proc.returncode}")
        try:
            with urllib.request.urlopen(self.endpoint, timeout=1):  # noqa: S310
                return True
        except OSError:
            return False

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def storage_env(self) -> dict[str, str]:
        """Environment that puts a SupportDesk process's files in this bucket."""
        return {
            "SUPPORTDESK_S3_BUCKET": self.bucket,
            "SUPPORTDESK_S3_ENDPOINT_URL": self.endpoint,
            "SUPPORTDESK_S3_REGION": REGION,
            "SUPPORTDESK_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "SUPPORTDESK_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "SUPPORTDESK_S3_ADDRESSING_STYLE": "path",
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
