"""Reads shared by the admin, portal, API and channels; query shapes are decided here once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from django.conf import settings
from django.db import connection
from django.db.models import Field, OuterRef, Prefetch, QuerySet, Subquery

from .models import Attachment, Contact, ContactEmail, Message, Ticket
from .phones import normalize_phone
from .sql import values_test
from .text import references as text_references


def contacts_by_email(email: str) -> QuerySet[Contact]:
    """Return the contacts that own ``email`` (case-insensitive), with their accounts."""
    return (
        Contact.objects.select_related("account")
        .filter(emails__email=(email or "").strip().lower())
        .distinct()
    )


def contacts_by_emails(emails: Iterable[str]) -> dict[str, list[Contact]]:
    """Return the contacts (with accounts) of each of ``emails`` (lower-cased), in one
    query: what a batch of mails needs to know about its senders."""
    wanted = {(e or "").strip().lower() for e in emails} - {""}
    found: dict[str, list[Contact]] = {}
    if not wanted:
        return found
    rows = ContactEmail.objects.select_related("contact__account").filter(email__in=wanted)
    for row in rows.order_by("contact__name", "contact_id"):  # as Contact.Meta.ordering
        contacts = found.setdefault(row.email, [])
        if all(c.pk != row.contact_id for c in contacts):
            contacts.append(row.contact)
    return found


def ticket_ids_by_external_ids(channel: str, external_ids: Iterable[str]) -> dict[str, int]:
    """Return the ticket id of each of ``external_ids`` stored on ``channel`` (threading:
    a mail's In-Reply-To and References), in one plain statement.

    An array parameter on PostgreSQL: the ORM's ``IN`` prepared each of a batch's hundreds
    of referenced ids through the field and the lookup.
    """
    ids = list(set(external_ids))
    if not ids:
        return {}
    meta = Message._meta
    quote = connection.ops.quote_name
    columns = [
        quote(str(cast(Field, meta.get_field(name)).column))
        for name in ("external_id", "ticket", "channel")
    ]
    test, params = values_test(ids, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns[0]}, {columns[1]} FROM {quote(meta.db_table)} "  # noqa: S608 - names from _meta
            f"WHERE {columns[2]} = %s AND {columns[0]} {test}",
            [channel, *params],
        )
        return dict(cursor.fetchall())


def contacts_by_phone(raw_number: str) -> QuerySet[Contact]:
    """Return the contacts with this phone number, however it was written."""
    return (
        Contact.objects.select_related("account")
        .filter(phones__number=normalize_phone(raw_number))
        .distinct()
    )


def parse_reference(text: str) -> int | None:
    """Return the ticket number in ``text`` when it is a whole reference (``SD-104233``,
    ``[SD - 104233]``, ``SD#104233``, ``#104233`` or ``104233``; ``tickets.text``)."""
    return text_references.parse_reference(text, settings.SUPPORTDESK_TICKET_PREFIX)


def ticket_by_reference(reference: str, *, follow_merges: bool = True) -> Ticket | None:
    """Return the ticket a reference names; a merged ticket resolves to its survivor."""
    number = parse_reference(reference)
    if number is None:
        return None
    ticket = Ticket.objects.filter(number=number).select_related("merged_into").first()
    if ticket is not None and follow_merges and ticket.merged_into_id:
        return ticket.merged_into  # merges keep pointers flat: one hop reaches the survivor
    return ticket


def ticket_list() -> QuerySet[Ticket]:
    """Return tickets with everything a list row shows, in one query."""
    return Ticket.objects.select_related("account", "contact", "department", "assignee")


# The columns of ``ticket_list_rows``: what an API list row shows, nothing more.
LIST_ROW_FIELDS = (
    "id",
    "number",
    "subject",
    "status",
    "severity",
    "department__slug",
    "origin_channel",
    "account_id",
    "account__name",
    "account__reseller_id",
    "contact_id",
    "contact__name",
    "created_at",
    "updated_at",
)


def ticket_list_rows() -> QuerySet[Ticket, dict]:
    """Return tickets as plain dicts (``LIST_ROW_FIELDS`` + ``contact_email``), one query.

    For lists served at volume: no model instances, and the contact's address (primary
    first, then the oldest) comes from a correlated subquery on the indexed contact
    column instead of a second, prefetching query.
    """
    first_email = (
        ContactEmail.objects.filter(contact_id=OuterRef("contact_id"))
        .order_by("-is_primary", "id")
        .values("email")[:1]
    )
    return Ticket.objects.values(*LIST_ROW_FIELDS, contact_email=Subquery(first_email))


def ticket_timeline(ticket: Ticket) -> list[Message]:
    """Return the ticket's messages from every channel, oldest first, ready to render."""
    return list(
        Message.objects.filter(ticket=ticket)
        .select_related("author_contact", "author_user", "merged_from")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("occurred_at", "id")
    )
