"""Processor for structured entries pushed by outside systems (channel ``api``).

Payload (JSON object): ``subject``, ``body``, and optionally ``from_email``,
``from_phone``, ``from_name``, ``line`` and ``department`` (slugs), ``severity`` (1-4), ``ticket``
(a reference such as ``SD-100001`` to append to), ``occurred_at`` (ISO 8601 with
offset) and ``external_id`` (makes re-delivery idempotent).
"""

from __future__ import annotations

from typing import Any

from tickets.errors import InvalidInput
from tickets.models import Channel, Contact, Message
from tickets.selectors import contacts_by_email, contacts_by_phone, ticket_by_reference
from tickets.services import MessageIn, message_add, ticket_open

from .errors import InboundRejected
from .models import InboundRecord
from .payload import department_from_payload, line_from_payload, parse_when, required_text
from .processors import register


@register(Channel.API)
def process_api_entry(record: InboundRecord) -> Message:
    """Open a ticket for the entry, or append it to the ticket it names."""
    data = record.payload
    if not isinstance(data, dict):
        raise InboundRejected("The payload must be a JSON object.")
    contact = _find_contact(data)
    message = MessageIn(
        channel=Channel.API,
        body_text=required_text(data, "body"),
        author_contact=contact,
        occurred_at=parse_when(data.get("occurred_at")),
        received_at=record.received_at,  # stored then: its clocks start then
        external_id=data.get("external_id") or record.external_id,
        metadata={k: data[k] for k in ("from_email", "from_phone", "from_name") if data.get(k)},
    )
    if reference := data.get("ticket"):
        ticket = ticket_by_reference(str(reference))
        if ticket is None:
            raise InboundRejected(f"No ticket {reference!r}: check the reference or leave it out.")
        return message_add(ticket=ticket, message=message).message
    line = line_from_payload(data)
    department = department_from_payload(data, Channel.API, line)
    try:
        return ticket_open(
            subject=required_text(data, "subject"),
            department=department,
            message=message,
            contact=contact,
            severity=_severity(data.get("severity")),
            line=line,
        ).message
    except InvalidInput as exc:  # severity 1 outside technical support, another line's…
        raise InboundRejected(exc.message) from exc


def _severity(value: Any) -> int:
    if value in (None, ""):
        return 3
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InboundRejected(f"severity {value!r} must be 1 (critical) to 4 (low).") from exc


def _find_contact(data: dict[str, Any]) -> Contact | None:
    if email := data.get("from_email"):
        return contacts_by_email(str(email)).first()
    if phone := data.get("from_phone"):
        try:
            return contacts_by_phone(str(phone)).first()
        except InvalidInput:
            return None
    return None
