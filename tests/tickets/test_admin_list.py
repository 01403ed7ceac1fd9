"""The ticket changelist's own row rendering and capped count (tickets/admin_list.py)."""

from __future__ import annotations

import pytest
from django.contrib.admin.templatetags.admin_list import results
from django.urls import reverse

from tickets import admin_list, services
from tickets.models import Channel, Status, Ticket

from ..factories import ContactFactory, open_ticket

pytestmark = pytest.mark.django_db
URL = reverse("admin:tickets_ticket_changelist")


def django_rows(cl) -> str:
    """Return the rows as Django's own ``result_list`` renders them."""
    return "".join("<tr>" + "".join(items) + "</tr>\n" for items in results(cl))


@pytest.fixture
def varied(departments, anna, agent):
    """Tickets that exercise every column: empty links, HTML in text, each channel."""
    assigned = open_ticket(subject='<b>Zone</b> "fails" & more', contact=anna)
    services.ticket_assign(ticket=assigned, assignee=agent)
    services.ticket_status_set(ticket=assigned, status=Status.OPEN, actor=agent)
    open_ticket(subject="No account", channel=Channel.CHAT, contact=ContactFactory(name="<i>X</i>"))
    anonymous = open_ticket(subject="Nobody", channel=Channel.PHONE)
    Ticket.objects.filter(pk=anonymous.pk).update(account=None, contact=None, subject="  ")
    return assigned


@pytest.mark.parametrize("query", ["", "?status__exact=open", "?o=2.-9&q=zone", "?p=1"])
def test_rows_equal_djangos_own_rendering(admin, varied, query):
    """Same HTML as Django's items_for_result, with and without preserved filters."""
    response = admin.get(URL + query)
    cl = response.context["cl"]
    fast = cl.fast_results
    assert fast is not None and len(cl.result_list) >= 1
    assert fast["rows"] == django_rows(cl)
    assert str(fast["rows"]) in response.content.decode()


def test_rows_escape_what_customers_wrote(admin, varied):
    page = admin.get(URL).content.decode()
    assert "<b>Zone</b>" not in page and "&lt;b&gt;Zone&lt;/b&gt;" in page
    assert "<i>X</i>" not in page


def test_popup_falls_back_to_djangos_rows(admin, varied):
    """Pages the fast path does not handle render through Django's result_list."""
    response = admin.get(URL + "?_popup=1&_to_field=id")
    assert response.status_code == 200
    assert response.context["cl"].fast_results is None
    assert "data-popup-opener" in response.content.decode()


def test_count_stops_at_the_cap_and_says_so(admin, departments, monkeypatch, settings):
    settings.SUPPORTDESK_LIST_CACHE_SECONDS = 0  # the cap changes between two same pages
    for n in range(4):
        open_ticket(subject=f"T{n}")
    monkeypatch.setattr(admin_list, "COUNT_CAP", 3)
    page = admin.get(URL).content.decode()
    assert "more than 3 tickets" in page
    monkeypatch.setattr(admin_list, "COUNT_CAP", 10)
    page = admin.get(URL).content.decode()
    assert "4 tickets" in page and "more than" not in page
