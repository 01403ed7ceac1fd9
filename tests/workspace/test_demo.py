"""The workspace's demo data (``seed_demo``): agents who can sign in, and tickets in every
state a first look at the workspace should show, made once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from channels_app.chat.models import ChatConversation
from duplicates.models import DuplicateFlag, FlagStatus
from kb.models import Article
from tickets.models import Channel, Message, Ticket
from workspace import queues
from workspace.models import Macro, TicketRow

pytestmark = pytest.mark.django_db(transaction=True)


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _count(key: str, user) -> int:
    views = {v.key: v for v in queues.agent_views(user)}
    return queues.bounded_counts([views[key]], user, timezone.now())[key]


def test_demo_agents_sign_in_and_find_every_kind_of_ticket(
    departments, presets, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    output = _seed()
    lines = output.split("Demo agents (workspace), user name / password:\n")[1].splitlines()
    logins = dict(line.split("  (")[0].strip().split(" / ") for line in lines[:3])
    assert set(logins) == {"alice", "dmitri", "sam"}
    request = RequestFactory().post("/admin/login/")
    dmitri = authenticate(request, username="dmitri", password=logins["dmitri"])
    assert dmitri is not None and dmitri.is_staff and not dmitri.is_superuser
    assert dmitri.has_perm("tickets.change_ticket") and dmitri.desk_profile.language == "ru"
    for view in ("breached", "at-risk", "duplicates", "verification", "unassigned"):
        assert _count(view, dmitri) >= 1, view
    assert _count("mine", dmitri) >= 2
    renewal = TicketRow.objects.get(subject__startswith="Renewal of 40 domains")
    assert renewal.sla_risk_reached and renewal.due_sort > timezone.now()  # at risk, not late
    assert DuplicateFlag.objects.filter(
        status=FlagStatus.SUGGESTED, ticket__subject__contains="still pending"
    ).exists()
    chat = ChatConversation.objects.get(conversation_id="ws-demo-chat-1")
    assert chat.ended_at is None and chat.ticket.assignee_id is None
    call = Message.objects.get(external_id="ws-demo-call-1")
    assert call.channel == Channel.PHONE and call.metadata["duration_seconds"] == 240
    titles = set(Article.objects.filter(published=True).values_list("title", flat=True))
    assert {"Transferring a domain to us", "Перенос домена к нам"} <= titles
    assert "Een domein naar ons verhuizen" in titles
    assert Macro.objects.filter(language="ru").exists()


def test_the_demo_is_made_once(departments, presets, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = _seed()
    counts = (Ticket.objects.count(), Message.objects.count(), Article.objects.count())
    renewal = Ticket.objects.get(subject__startswith="Renewal of 40 domains").created_at
    second = _seed()
    assert (Ticket.objects.count(), Message.objects.count(), Article.objects.count()) == counts
    assert Ticket.objects.get(subject__startswith="Renewal of 40 domains").created_at == renewal
    assert first.splitlines()[-3:] == second.splitlines()[-3:]  # the same logins


def test_production_gets_no_demo_agents(departments, presets, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PRODUCTION = True
    output = _seed()
    assert "Demo agents" not in output
    assert not Ticket.objects.filter(assignee__username__in=["alice", "dmitri", "sam"]).exists()
