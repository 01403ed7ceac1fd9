"""`manage.py seed_demo`: idempotent demo data with every channel and a printed login."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Count
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
    # The demo mails went through the pipeline: stored raw, processed, none failed.
    assert set(InboundRecord.objects.values_list("status", flat=True)) == {"processed"}


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


def test_the_demo_seeds_both_operations_and_a_reseller_mail_gets_the_cet_deadline(
    presets, settings, tmp_path
):
    from sla.services import ticket_sla_recompute
    from tickets.models import Ticket

    settings.MEDIA_ROOT = tmp_path
    seed()
    lines = dict(Ticket.objects.values_list("line__slug").annotate(n=Count("pk")))
    assert lines.keys() == {"ecommerce", "reseller"}
    languages = set(
        Ticket.objects.filter(line__slug="reseller", origin_channel="email").values_list(
            "language", flat=True
        )
    )
    assert {"en", "nl", "es", "ru"} <= languages
    transfer = Message.objects.get(external_id="demo-1@northwind.example").ticket
    sla = ticket_sla_recompute(transfer.pk)
    assert (transfer.line.slug, sla.policy.slug, sla.calendar.slug) == (
        "reseller",
        "cet-email",
        "cet-email",
    )
    assert sla.explanation["targets"]["first_response"]["target"] == "8 business hours"
    abuse = Message.objects.get(external_id="demo-abuse-1@reporter.example").ticket
    assert abuse.department.slug == "legal-abuse"
    held = Message.objects.get(external_id="demo-unknown-1@freemail.example").ticket
    assert held.needs_verification
    forum = Message.objects.get(external_id="demo-custom-1@lumen-shop.example").ticket
    assert forum.status == "solved" and forum.line.slug == "ecommerce"
