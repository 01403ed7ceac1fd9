"""Turn a stored raw email (``InboundRecord.raw``) into a timeline message.

Order: parse → duplicate? → loop/list/bounce handling → find the ticket (token, then
headers) → who wrote (contact, reseller account, verification) → add to the ticket or
open one (routed by inbox) → queue the acknowledgement. Everything runs in the
transaction ``inbound_process`` opens, so a failure leaves no half-made ticket.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tickets.errors import TicketClosed
from tickets.models import Channel, Direction, Message, Status, Ticket
from tickets.services import MessageIn, MessageResult, message_add, ticket_open

from ..errors import InboundIgnored, InboundRejected
from ..models import InboundRecord, OutboundKind
from ..processors import register
from .attachments import screen_attachments
from .matching import TicketMatch, find_ticket, ticket_by_message_ids
from .outbound import auto_reply_queue, auto_reply_refusal
from .parsing import EmailParseError, ParsedEmail, parse_email
from .quoting import strip_reply
from .senders import Sender, identify_sender, our_addresses, route
from .threading_keys import normalize_subject

MAX_METADATA_TEXT = 200_000
NO_SUBJECT = "(no subject)"


@register(Channel.EMAIL)
def process_email(record: InboundRecord) -> Message:
    """Store the mail in ``record`` on the right ticket; raise InboundIgnored/Rejected."""
    if record.raw is None:
        raise InboundRejected("The record has no raw email bytes; store the MIME source.")
    try:
        parsed = parse_email(bytes(record.raw))
    except EmailParseError as exc:
        raise InboundRejected(f"Not a readable email: {exc.reason}") from exc
    # A Message-ID stored before (webhook retry, IMAP re-fetch, re-import) comes back from
    # the services as the existing message with created False: one message, no second reply.
    sender_email = parsed.from_email.strip().lower()
    if parsed.is_bounce:
        return _record_bounce(parsed)
    if parsed.list_id or (parsed.precedence or "").lower() in ("bulk", "junk", "list"):
        raise InboundIgnored(f"list mail ({parsed.list_id or parsed.precedence}); not a ticket")
    ours = our_addresses()
    if sender_email in ours:
        raise InboundIgnored(f"sent from our own address {sender_email} (mail loop)")
    match = find_ticket(parsed, sender_email)
    if parsed.is_auto_reply:
        return _record_auto_reply(parsed, match)
    sender = identify_sender(parsed)
    if match.ticket is not None and match.ticket.status != Status.CLOSED:
        try:
            return _append(parsed, match, sender, record).message
        except TicketClosed:
            pass  # closed between lookup and lock: open a follow-up below
    linked = match.ticket or match.quarantined_from
    return _open(
        parsed, sender, record, linked_to=linked, quarantined=match.quarantined_from, ours=ours
    )


def _append(
    parsed: ParsedEmail, match: TicketMatch, sender: Sender, record: InboundRecord
) -> MessageResult:
    assert match.ticket is not None
    stripped = strip_reply(parsed.text)
    metadata = _metadata(parsed, sender, record, threaded_by=match.via)
    if stripped != parsed.text:
        metadata["full_text"] = parsed.text[:MAX_METADATA_TEXT]
    message = _message_in(parsed, sender, metadata, body_text=stripped, body_html="")
    return message_add(ticket=match.ticket, message=message)


def _open(
    parsed: ParsedEmail,
    sender: Sender,
    record: InboundRecord,
    *,
    linked_to: Ticket | None,
    quarantined: Ticket | None,
    ours: set[str],
) -> Message:
    metadata = _metadata(parsed, sender, record)
    needs_verification = sender.needs_verification
    if quarantined is not None:
        needs_verification = True
        metadata["quarantine"] = (
            f"quoted {quarantined.reference} but the sender is not a contact of that ticket; "
            "opened separately. Merge it after checking the sender."
        )
    elif linked_to is not None:
        metadata["follow_up_of"] = linked_to.reference
    subject = normalize_subject(parsed.subject, settings.SUPPORTDESK_TICKET_PREFIX)
    result = ticket_open(
        subject=_no_nul(subject or NO_SUBJECT)[:255] or NO_SUBJECT,
        department=route(parsed),
        message=_message_in(parsed, sender, metadata, parsed.text, parsed.html or ""),
        contact=sender.contact,
        account=sender.account,
        needs_verification=needs_verification,
        linked_to=linked_to,
    )
    if result.created and auto_reply_refusal(parsed, sender.email, ours=ours) is None:
        kind = OutboundKind.VERIFICATION if sender.needs_verification else OutboundKind.AUTO_REPLY
        auto_reply_queue(ticket=result.ticket, parsed=parsed, to_email=sender.email, kind=kind)
    return result.message


def _message_in(
    parsed: ParsedEmail, sender: Sender, metadata: dict[str, Any], body_text: str, body_html: str
) -> MessageIn:
    files, dropped = screen_attachments(parsed.attachments)
    if dropped:
        metadata["dropped_attachments"] = dropped
        lines = [f"- {d['filename']} ({d['size']} bytes): {d['reason']}" for d in dropped]
        body_text = f"{body_text}\n\n[Attachments not stored]\n" + "\n".join(lines)
    if not (body_text.strip() or body_html.strip() or files):
        body_text = "(empty message)"
    return MessageIn(
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        body_text=_no_nul(body_text),
        body_html=_no_nul(body_html),
        author_contact=sender.contact,
        occurred_at=parsed.date,
        external_id=_no_nul(parsed.message_id)[:998],
        metadata=_no_nul(metadata),
        attachments=files,
    )


def _no_nul(value: Any) -> Any:
    """Drop NUL characters, which PostgreSQL text and jsonb refuse (a retry cannot help)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {k: _no_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nul(v) for v in value]
    return value


def _record_bounce(parsed: ParsedEmail) -> Message:
    """Note a delivery failure on the ticket whose mail bounced; never open a ticket."""
    ticket = ticket_by_message_ids([parsed.bounced_message_id or ""])
    if ticket is None:
        raise InboundIgnored(
            f"bounce (DSN) for {parsed.bounced_message_id or 'an unknown message'}, which is "
            "not a mail of any ticket"
        )
    summary = "\n".join(line for line in parsed.text.splitlines()[:40] if line.strip())
    return _note(
        ticket,
        parsed,
        f"Delivery failure reported by {parsed.from_email}:\n\n{summary}",
        kind="bounce",
    )


def _record_auto_reply(parsed: ParsedEmail, match: TicketMatch) -> Message:
    """Keep an out-of-office on its ticket as a note (it must not reopen or count as a
    customer answer); one that belongs to no ticket is ignored."""
    if match.ticket is None:
        raise InboundIgnored("automatic reply (Auto-Submitted/out of office) for no ticket")
    text = f"Automatic reply from {parsed.from_email}: {parsed.subject}\n\n{parsed.text}"
    return _note(match.ticket, parsed, text[:20000], kind="auto_reply")


def _note(ticket: Ticket, parsed: ParsedEmail, text: str, *, kind: str) -> Message:
    note = MessageIn(
        channel=Channel.NOTE,
        direction=Direction.INTERNAL,
        body_text=_no_nul(text),
        occurred_at=parsed.date,
        external_id=_no_nul(parsed.message_id)[:998],
        metadata=_no_nul(
            {
                "kind": kind,
                "from": parsed.from_email.lower(),
                "subject": parsed.subject,
                "bounced_message_id": parsed.bounced_message_id,
            }
        ),
    )
    return message_add(ticket=ticket, message=note).message


def _metadata(
    parsed: ParsedEmail, sender: Sender, record: InboundRecord, threaded_by: str = ""
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "from": sender.email,
        "from_name": parsed.from_name,
        "to": list(parsed.to),
        "cc": list(parsed.cc),
        "reply_to": [a.lower() for a in parsed.reply_to],
        "subject": parsed.subject,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references[-20:]),
        "inbound_record": record.pk,
        "source": record.source,
    }
    if threaded_by:
        data["threaded_by"] = threaded_by
    if sender.reseller_id:
        data["reseller_id"] = sender.reseller_id
    if sender.needs_verification:
        data["verification"] = "sender is not a verified contact of the account"
    if parsed.defects:
        data["defects"] = list(parsed.defects[:20])
    return data
