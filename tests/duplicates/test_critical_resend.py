"""Rule 4 (seed page, "when you clone the same noncritical issue"): an exact re-send is
merged, but only a noncritical one is marked *cloned by customer* (which SLA reports
leave out); a critical error sent again keeps counting."""

from __future__ import annotations

import pytest

from duplicates.services import duplicates_detect
from tickets import services
from tickets.models import Severity, Status, Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

OUTAGE = (
    "Hello,\n\nCheckout on lumen-shop.example returns HTTP 500 since 07:40, every order "
    "fails at the payment step. Error id 5f2c.\n\nIrina"
)


@pytest.mark.parametrize(("severity", "cloned"), [(Severity.S1, False), (Severity.S2, True)])
def test_only_a_noncritical_resend_is_marked_cloned(departments, anna, severity, cloned):
    tech = departments["technical-support"]
    first = open_ticket(subject="Checkout down", body=OUTAGE, contact=anna, department=tech)
    services.ticket_severity_set(ticket=first, severity=severity)
    duplicates_detect(first.pk)
    again = open_ticket(subject="Checkout down!", body=OUTAGE, contact=anna, department=tech)
    assert duplicates_detect(again.pk).merged_into == first.pk
    again = Ticket.objects.get(pk=again.pk)
    assert again.status == Status.MERGED
    assert again.cloned_by_customer is cloned
