"""The container's health probe asks 127.0.0.1 while ALLOWED_HOSTS names the public host."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_health_probe_answers_whatever_the_host(client, settings):
    settings.ALLOWED_HOSTS = ["desk.example.com"]
    probe = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert probe.status_code == 200 and probe.json()["database"]["ok"] is True
    # Every other page keeps refusing a Host it does not serve.
    assert client.get("/portal/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/healthz/extra", HTTP_HOST="127.0.0.1:8000").status_code == 400
