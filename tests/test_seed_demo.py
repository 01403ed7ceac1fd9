"""`manage.py seed_demo`: idempotent demo data with every channel and a printed login."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from channels_app.models import InboundRecord
from tickets.models import Account, Channel, Contact, Message, Ticket

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_covers_every_channel(departments, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seed()
    counts = (
        Account.objects.count(),
        Contact.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
    )
    seed()
    assert counts == (
        Account.objects.count(),
        Contact.objects.count(),
        Ticket.objects.count(),
        Message.objects.count(),
    )
    assert set(Message.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert Account.objects.filter(reseller_id="200417").exists()
    assert InboundRecord.objects.count() == 0


def test_seed_demo_prints_a_working_agent_login(departments, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    output = seed()
    password = output.split("password '")[1].split("'")[0]
    request = RequestFactory().post("/admin/login/")  # django-axes wants the request
    user = authenticate(request, username="agent", password=password)
    assert user is not None and user.is_staff


def test_demo_password_is_stable_across_runs(departments, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first, second = seed(), seed()
    password = first.split("password '")[1].split("'")[0]
    assert f"password '{password}'" in second
    assert "/desk/" in first and "anna@northwind.example" in first
    assert "oleg.petrov@mail.example" not in first  # unverified: cannot sign in


def test_production_mode_creates_no_demo_login(departments, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PRODUCTION = True
    output = seed()
    assert "password" not in output
