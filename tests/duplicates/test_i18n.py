"""The duplicates app speaks the customer's and the agent's language: the merge notice in
the ticket's language (else its line's), the admin pages in the agent's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from duplicates.models import DuplicateFlag
from duplicates.services import duplicates_detect
from outbox.models import MailKind, OutgoingMail
from tickets.models import Channel, SupportLine, Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db

RESENT = "Hallo,\n\nDe verhuizing van bakkerij-dekker.nl mislukt: autorisatiecode ongeldig.\n\nAnna"


def _resend_merged(anna, *, language: str, line_language: str | None = None) -> OutgoingMail:
    first = open_ticket(subject="Verhuizing mislukt", body=RESENT, contact=anna)
    duplicates_detect(first.pk)
    again = open_ticket(subject="Verhuizing mislukt", body=RESENT, contact=anna)
    Ticket.objects.filter(pk=again.pk).update(language=language)
    if line_language is not None:
        SupportLine.objects.filter(pk=again.line_id).update(language=line_language)
    assert duplicates_detect(again.pk).merged_into == first.pk
    return OutgoingMail.objects.get(kind=MailKind.MERGE_NOTICE)


def test_merge_notice_is_written_in_the_tickets_language(departments, anna):
    notice = _resend_merged(anna, language="nl")
    assert "We hebben uw bericht nogmaals ontvangen" in notice.body_text
    assert "We received your message again" not in notice.body_text
    assert Ticket.objects.filter(status="merged").get().reference not in notice.body_text


def test_merge_notice_falls_back_to_the_lines_language(departments, anna):
    notice = _resend_merged(anna, language="", line_language="ru")
    assert "Мы получили ваше сообщение повторно" in notice.body_text


def test_merge_notice_in_spanish(departments, anna):
    notice = _resend_merged(anna, language="es")
    assert "Hemos recibido su mensaje de nuevo" in notice.body_text


def test_merge_notice_in_english_when_the_line_speaks_english(departments, anna):
    notice = _resend_merged(anna, language="", line_language="en")
    assert "We received your message again" in notice.body_text


def test_flag_admin_speaks_the_agents_language(admin, departments, anna):
    mail = "The transfer of northwind-shop.nl fails: auth code invalid, the domain is unlocked."
    chat = "[10:42] Anna: transfer northwind-shop.nl fails, auth code invalid, domain unlocked"
    first = open_ticket(subject="Transfer failing", body=mail, contact=anna)
    duplicates_detect(first.pk)
    second = open_ticket(subject="Chat", channel=Channel.CHAT, body=chat, contact=anna)
    duplicates_detect(second.pk, notify=False)
    flag = DuplicateFlag.objects.get(ticket=second)
    russian = {"HTTP_ACCEPT_LANGUAGE": "ru"}
    page = admin.get(reverse("admin:duplicates_duplicateflag_changelist"), **russian)
    text = page.content.decode()
    assert "Отклонить: не дубликат" in text and "Возможный дубликат" in text  # column
    assert "Поиск дубликатов" in text  # the app's name
    ticket_page = admin.get(reverse("admin:tickets_ticket_change", args=[second.pk]), **russian)
    assert "Отметки о дубликатах (с обеих сторон)" in ticket_page.content.decode()
    done = admin.post(
        reverse("admin:duplicates_duplicateflag_changelist"),
        {"action": "dismiss", "_selected_action": [flag.pk]},
        follow=True,
        **russian,
    )
    assert "Отклонена 1 отметка." in done.content.decode()
