"""tickets.admin_hooks: what other apps add to the ticket admin, and the Un-merge button."""

from __future__ import annotations

import pytest
from django.contrib import admin as django_admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils.html import format_html

from tickets import admin_hooks, services
from tickets.admin import TicketAdmin
from tickets.models import EventKind, Message, Status, Ticket

from ..factories import AgentFactory, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged(departments):
    """B merged into A."""
    a = open_ticket(subject="Transfer failing", body="a1")
    b = open_ticket(subject="Transfer failing again", body="b1")
    services.ticket_merge(source=b, target=a, reason="dup")
    return a, Ticket.objects.get(pk=b.pk)


def test_apps_register_their_filter_inline_and_panel(rf: RequestFactory, boss):
    from duplicates.admin import DuplicateFlagInline, PossibleDuplicateFilter
    from sla.admin import sla_panel

    request = rf.get("/")
    request.user = boss
    ticket_admin = django_admin.site._registry[Ticket]
    assert PossibleDuplicateFilter in ticket_admin.get_list_filter(request)
    assert "cloned_by_customer" in ticket_admin.get_list_filter(request)
    assert DuplicateFlagInline in ticket_admin.get_inlines(request, None)
    assert sla_panel in admin_hooks._PANELS


def test_registering_twice_changes_nothing():
    before = admin_hooks.list_filters(), admin_hooks.inlines(), list(admin_hooks._PANELS)
    for item in before[0]:
        admin_hooks.register_list_filter(item)
    for inline in before[1]:
        admin_hooks.register_inline(inline)
    for builder in before[2]:
        admin_hooks.register_ticket_panel(builder)
    assert (admin_hooks.list_filters(), admin_hooks.inlines(), admin_hooks._PANELS) == (
        before[0],
        before[1],
        before[2],
    )


def test_registered_panel_is_shown_escaped_title_and_html(admin, departments, monkeypatch):
    ticket = open_ticket()

    def panel(request, t):
        html = format_html("<p class='probe'>{}</p>", "<b>x</b>")
        return admin_hooks.TicketPanel(title=f"Probe {t.reference}", html=html, css_id="probe")

    monkeypatch.setattr(admin_hooks, "_PANELS", [*admin_hooks._PANELS, panel])
    page = admin.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert f"Probe {ticket.reference}" in page and 'id="probe"' in page
    assert "<p class='probe'>&lt;b&gt;x&lt;/b&gt;</p>" in page


def test_cloned_by_customer_list_filter(admin, departments):
    a = open_ticket(subject="original", body="a")
    b = open_ticket(subject="cloned copy", body="b")
    services.ticket_merge(source=b, target=a, cloned_by_customer=True)
    url = reverse("admin:tickets_ticket_changelist")
    page = admin.get(url, {"cloned_by_customer__exact": "1"}).content.decode()
    assert "cloned copy" in page and "original" not in page


def test_merged_ticket_page_offers_unmerge_and_live_one_does_not(admin, merged):
    a, b = merged
    page = admin.get(reverse("admin:tickets_ticket_change", args=[b.pk])).content.decode()
    assert 'id="unmerge-form"' in page and reverse("admin:tickets_ticket_unmerge", args=[b.pk])
    assert a.reference in page
    live = admin.get(reverse("admin:tickets_ticket_change", args=[a.pk])).content.decode()
    assert 'id="unmerge-form"' not in live


def test_unmerge_button_calls_the_service(admin, merged, boss):
    a, b = merged
    url = reverse("admin:tickets_ticket_unmerge", args=[b.pk])
    response = admin.post(url, {"reason": "different domains"}, follow=True)
    assert "is un-merged" in response.content.decode()
    b.refresh_from_db()
    assert b.status == Status.NEW and b.merged_into is None
    assert Message.objects.filter(ticket=b).count() == 1
    event = b.events.get(kind=EventKind.UNMERGED)
    assert event.actor == boss and event.data["reason"] == "different domains"


def test_unmerge_refusal_is_shown(admin, merged):
    a, _ = merged
    url = reverse("admin:tickets_ticket_unmerge", args=[a.pk])
    response = admin.post(url, follow=True)
    assert "is not merged; there is nothing to un-merge" in response.content.decode()


def test_unmerge_needs_post_and_change_permission(client, admin, merged):
    _, b = merged
    url = reverse("admin:tickets_ticket_unmerge", args=[b.pk])
    assert admin.get(url).status_code == 403
    client.force_login(AgentFactory(username="viewer"))  # staff without permissions
    assert client.post(url).status_code == 403
    assert Ticket.objects.get(pk=b.pk).status == Status.MERGED


def test_ticket_admin_has_no_own_copy_of_the_hooks():
    """The registry is read on each request, not copied into the class at import."""
    assert "PossibleDuplicateFilter" not in repr(TicketAdmin.list_filter)
