from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from supportdesk.storage import file_storage_setting
from tests.s3_server import S3Server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server: S3Server, settings, monkeypatch) -> S3Server:
    """Put this test's files (default storage) in the moto_server bucket, configured
    through the environment as a deployment would be."""
    for name, value in s3_server.storage_env().items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": file_storage_setting()}
    for name in s3_server.keys():  # each test starts with an empty bucket
        s3_server.client().delete_object(Bucket=s3_server.bucket, Key=name)
    assert os.environ["SUPPORTDESK_S3_BUCKET"] == s3_server.bucket
    return s3_server
