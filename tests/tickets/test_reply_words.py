"""tickets.line_texts.auto_reply_contents: the words of a batch's automatic mails,
looked up once per language, line, department and key, are each ticket's words as
auto_reply_content worked them out one ticket at a time."""

from __future__ import annotations

import itertools

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from tickets.line_texts import STANDARD_TEXTS, MailContent, auto_reply_contents, text_for
from tickets.lines import texts_of
from tickets.models import Language, LineText, TextKey, Ticket

from ..factories import open_ticket

pytestmark = pytest.mark.django_db


def _one_at_a_time(ticket: Ticket, key: str, table) -> MailContent:
    """auto_reply_content as first written."""
    language = ticket.language if ticket.language in Language.values else ticket.line.language
    with translation.override(language):
        text = text_for(ticket, key, table)
        keep = _(
            "Please keep [{reference}] in the subject when you write about this matter "
            "again, so your message reaches the same ticket."
        ).format(reference=ticket.reference)
        signature = ticket.department.name
        if ticket.line.organisation:
            signature = f"{signature}\n{ticket.line.organisation}"
        body = "\n\n".join([_("Hello,"), text, keep, signature]) + "\n"
    subject = f"[{ticket.reference}] {ticket.subject}"[:255]
    return MailContent(subject=subject, body=body, language=language)


def test_batch_words_are_each_tickets_words(lines, departments):
    reseller = lines["reseller"]
    LineText.objects.create(
        line=reseller, key="auto_reply", language="nl", text="Dank je! Ticket {reference}."
    )
    LineText.objects.create(line=reseller, key="verification", language="en", text="Who?")
    reseller.organisation = "Northwind Registry B.V."
    reseller.save()
    tickets = []
    for language, slug in itertools.product(
        ["", "nl", "es", "ru", "en"], ["reseller-support", "customer-support"]
    ):
        ticket = open_ticket(subject=f"Words {language} {slug}", department=departments[slug])
        Ticket.objects.filter(pk=ticket.pk).update(language=language)
        tickets.append(Ticket.objects.select_related("line", "department").get(pk=ticket.pk))
    keys = [TextKey.AUTO_REPLY, TextKey.VERIFICATION, TextKey.REGISTRATION, TextKey.CUSTOMISATION]
    items = [(t, keys[i % len(keys)]) for i, t in enumerate(tickets * 3)]
    table = texts_of({t.line for t in tickets})
    batch = auto_reply_contents(items, table)
    assert batch == [_one_at_a_time(t, key, table) for t, key in items]
    assert any("Dank je! Ticket" in c.body for c in batch)
    assert {c.language for c in batch} >= {"nl", "es", "ru", "en"}
    assert all(t.reference in c.body for (t, _key), c in zip(items, batch, strict=True))
    assert set(STANDARD_TEXTS) >= set(keys)
