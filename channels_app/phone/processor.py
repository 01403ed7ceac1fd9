"""Processor for call records (channel ``phone``): the admin's call log and telephony pushes.

Payload (JSON object):

- ``caller`` (required): the customer's number in any notation; normalised to E.164 and
  matched to a contact.
- ``direction``: ``inbound`` (the customer called, default) or ``outbound`` (we called).
- ``started_at`` (ISO 8601 with offset; default: now), ``duration_seconds`` (>= 0).
- ``summary`` (required): what was said; ``outcome``: e.g. solved, callback, escalated.
- ``ticket``: a reference (``SD-100001``) to append to; otherwise a ticket is opened
  with ``subject`` (default: "Phone call from <number>") in ``department`` (slug; default:
  the department of ``line`` (slug) that takes calls; without a line, the first line
  that takes calls).
- ``agent``: the agent's username (outbound calls are authored by the agent).

The record's ``external_id`` (the call id) makes re-delivery idempotent.
"""

from __future__ import annotations

from tickets.errors import InvalidInput
from tickets.models import Channel, Direction, Message
from tickets.phones import normalize_phone
from tickets.selectors import contacts_by_phone, ticket_by_reference
from tickets.services import MessageIn, message_add, ticket_open

from ..errors import InboundRejected
from ..models import InboundRecord
from ..payload import (
    agent_by_username,
    department_from_payload,
    line_from_payload,
    parse_when,
    required_text,
)
from ..processors import register

OUTCOMES = ("solved", "callback", "escalated", "voicemail", "no_answer", "info")


@register(Channel.PHONE)
def process_call(record: InboundRecord) -> Message:
    """Log the call on the ticket it names, or open a ticket for it."""
    data = record.payload
    if not isinstance(data, dict):
        raise InboundRejected("The payload must be a JSON object.")
    try:
        caller = normalize_phone(str(data.get("caller") or ""))
    except InvalidInput as exc:
        raise InboundRejected(f"caller: {exc.detail}") from exc
    direction = data.get("direction") or Direction.INBOUND
    if direction not in (Direction.INBOUND, Direction.OUTBOUND):
        raise InboundRejected("direction must be 'inbound' or 'outbound'.")
    duration = data.get("duration_seconds", 0)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        raise InboundRejected("duration_seconds must be a whole number of seconds, 0 or more.")
    outcome = str(data.get("outcome") or "")
    summary = required_text(data, "summary")
    contact = contacts_by_phone(caller).first()
    agent = agent_by_username(data.get("agent"))
    started = parse_when(data.get("started_at"), "started_at")
    minutes, seconds = divmod(duration, 60)
    heading = (
        f"{'Call from' if direction == Direction.INBOUND else 'Call to'} {caller}, "
        f"{minutes}:{seconds:02d} min" + (f", outcome: {outcome}" if outcome else "")
    )
    message = MessageIn(
        channel=Channel.PHONE,
        direction=direction,
        body_text=f"{heading}\n\n{summary}",
        author_contact=contact if direction == Direction.INBOUND else None,
        author_user=agent if direction == Direction.OUTBOUND else None,
        occurred_at=started,
        received_at=record.received_at,  # stored then: its clocks start then
        external_id=record.external_id or data.get("external_id"),
        metadata={
            "caller": caller,
            "call_direction": direction,
            "duration_seconds": duration,
            "outcome": outcome,
            "logged_by": agent.get_username() if agent else record.source,
        },
    )
    if reference := data.get("ticket"):
        ticket = ticket_by_reference(str(reference))
        if ticket is None:
            raise InboundRejected(f"No ticket {reference!r}: check the reference or leave it out.")
        return message_add(ticket=ticket, message=message, actor=agent).message
    line = line_from_payload(data)
    department = department_from_payload(data, Channel.PHONE, line)
    if not department.accepts_phone:
        raise InboundRejected(f"{department} takes no calls; log the call in another department.")
    try:
        return ticket_open(
            subject=data.get("subject") or f"Phone call from {caller}",
            department=department,
            message=message,
            contact=contact,
            actor=agent,
            line=line,
        ).message
    except InvalidInput as exc:  # e.g. the line takes no calls: say so on the record
        raise InboundRejected(exc.message) from exc
