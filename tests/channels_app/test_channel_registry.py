"""Every channel's processor is registered by ``channels_app`` itself: a desk without the
REST API or the portal installed still turns its phone and chat records into tickets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from channels_app.inbound import inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tests.processes import BASE_DIR, service_env
from tickets.models import Channel, Message

# Loads the settings, drops the named apps from INSTALLED_APPS before Django sets up, then
# runs one command: "channels" prints the registered channels, "process <id>" processes
# the record in the shared test database.
SCRIPT = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
from django.conf import settings
dropped = set(sys.argv[1].split(","))
settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a.split(".")[0] not in dropped]
import django
django.setup()
from django.apps import apps
assert not any(apps.is_installed(app) for app in dropped), dropped
from channels_app import processors
if sys.argv[2] == "channels":
    print(json.dumps(sorted(processors._PROCESSORS)))
else:
    from channels_app.inbound import inbound_process
    record = inbound_process(int(sys.argv[3]))
    print(json.dumps([record.status, record.error]))
"""


def _run_without(apps: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, apps, *args],
        cwd=BASE_DIR,
        env=service_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_channel_registers_without_the_api_and_the_portal(db):
    """The phone processor came from api's ready() and chat's from the portal's: both are
    registered by ChannelsAppConfig.ready() now, with either app left out."""
    registered = _run_without("api,portal", "channels")
    assert {Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.API} <= set(registered)


@pytest.mark.django_db(transaction=True)
def test_phone_record_is_processed_with_the_api_app_removed(departments):
    """A call record stored raw is logged on a new ticket by a process without ``api``."""
    record, _ = inbound_store(
        channel=Channel.PHONE,
        source="pbx",
        payload={"caller": "+31 20 123 4567", "summary": "Asked about the DNS move"},
        external_id="call-no-api-1",
    )
    assert _run_without("api", "process", str(record.pk)) == [InboundStatus.PROCESSED, ""]
    record = InboundRecord.objects.get(pk=record.pk)
    message = Message.objects.get(pk=record.message_id)
    assert message.channel == Channel.PHONE
    assert "Asked about the DNS move" in message.body_text
    assert message.ticket.subject == "Phone call from +31201234567"
