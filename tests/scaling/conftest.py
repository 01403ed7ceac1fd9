from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from django.db import connection

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


def _admin_connection():
    params = dict(connection.settings_dict)
    conn = psycopg2.connect(
        dbname="postgres",
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"],
        port=params["PORT"],
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def replica_url():
    """A copy of the test database as it is now, as a second database; its URL."""
    name = f"{connection.settings_dict['NAME']}_replica_{uuid.uuid4().hex[:6]}"
    source = connection.settings_dict["NAME"]
    connection.close()  # a template database must have no open sessions
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    yield f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
