"""Turn a stored raw email (``InboundRecord.raw``) into a timeline message.

Order: parse → loop/list/bounce handling → who wrote (contact, reseller account,
verification) → find the ticket (token, then headers) → add to the ticket or open one
(routed by inbox) → queue the acknowledgement. A Message-ID stored before (webhook retry,
IMAP re-fetch, re-import) comes back from the services as the existing message: one
message, no second reply. ``process_emails`` does this for a whole batch with bulk
lookups and inserts; ``process_email`` is the batch of one. Everything runs in the
transaction ``inbound_process(_many)`` opens, so a failure leaves no half-made ticket.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction

from outbox.models import OutgoingMail
from tickets.errors import TicketClosed, TicketError
from tickets.lengths import fit
from tickets.models import Channel, Direction, Message, Status, Ticket
from tickets.selectors import contacts_by_emails
from tickets.services import (
    MessageAdd,
    MessageIn,
    TicketOpen,
    message_add,
    messages_add,
    tickets_open,
)
from tickets.text import normalize_subject, strip_reply

from ..errors import InboundIgnored, InboundRejected
from ..models import InboundRecord
from ..processors import register, register_batch
from .answers import Answer, answer_for, answered_by_forum
from .attachments import screen_attachments
from .matching import TicketMatch, find_tickets, ticket_by_message_ids
from .outbound import AutoReply, auto_replies_queue, auto_replies_sent, auto_reply_refusal
from .parsing import EmailParseError, ParsedEmail, parse_email
from .routing import Destination, Directory, route
from .senders import HOLD_NOTES, Hold, Sender, identify_senders, our_addresses
from .threading_keys import reference_ids

MAX_METADATA_TEXT = 200_000
IMPORT_SOURCE = "import"
# An imported mail's Date: older than this before the import is not believed.
IMPORT_DATE_MAX_AGE = timedelta(days=365)
NO_SUBJECT = "(no subject)"


@register(Channel.EMAIL)
def process_email(record: InboundRecord) -> Message:
    """Store the mail in ``record`` on the right ticket; raise InboundIgnored/Rejected."""
    outcome = process_emails([record])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@register_batch(Channel.EMAIL)
def process_emails(records: Sequence[InboundRecord]) -> list[Message | Exception]:
    """Process many mails with a fixed number of queries; one outcome per record: its
    Message, or the InboundIgnored / InboundRejected / TicketError saying why not.

    Mails that answer a mail earlier in the same batch wait for the next round, so a
    thread imported in one go still threads.
    """
    outcomes: list[Message | Exception | None] = [None] * len(records)
    batch = _Batch.load()
    plain: list[tuple[int, ParsedEmail]] = []
    for index, record in enumerate(records):
        try:
            parsed = _screen(record, batch)
        except (InboundIgnored, InboundRejected) as exc:
            outcomes[index] = exc
            continue
        if parsed.is_bounce:
            outcomes[index] = _alone(_record_bounce, parsed)
        else:
            plain.append((index, parsed))
    for round_ in _rounds(plain):
        _process_round(round_, records, batch, outcomes)
    return outcomes  # type: ignore[return-value]


@dataclass(frozen=True)
class _Batch:
    """What every mail of a batch needs and the database says once per batch."""

    directory: Directory
    ours: set[str]

    @classmethod
    def load(cls) -> _Batch:
        return cls(Directory.load(), our_addresses())


def _screen(record: InboundRecord, batch: _Batch) -> ParsedEmail:
    """Parse the mail; raise for what never becomes a message (unreadable, list, loop)."""
    if record.raw is None:
        raise InboundRejected("The record has no raw email bytes; store the MIME source.")
    try:
        parsed = parse_email(bytes(record.raw))
    except EmailParseError as exc:
        raise InboundRejected(f"Not a readable email: {exc.reason}") from exc
    if parsed.is_bounce:
        return parsed
    if parsed.list_id or (parsed.precedence or "").lower() in ("bulk", "junk", "list"):
        raise InboundIgnored(f"list mail ({parsed.list_id or parsed.precedence}); not a ticket")
    sender_email = parsed.from_email.strip().lower()
    if sender_email in batch.ours:
        raise InboundIgnored(f"sent from our own address {sender_email} (mail loop)")
    return parsed


def _rounds(plain: list[tuple[int, ParsedEmail]]) -> list[list[tuple[int, ParsedEmail]]]:
    """Split the batch (in order) before each mail that refers to a Message-ID of a mail
    in the current round: its parent must be stored before it can thread."""
    rounds: list[list[tuple[int, ParsedEmail]]] = []
    current: list[tuple[int, ParsedEmail]] = []
    ids: set[str] = set()
    for index, parsed in plain:
        if current and ids.intersection(reference_ids(parsed)):
            rounds.append(current)
            current, ids = [], set()
        current.append((index, parsed))
        ids.add(parsed.message_id)
    if current:
        rounds.append(current)
    return rounds


# A mail that opens a ticket: (index, parsed, sender, ticket it follows up, quarantined from).
_Open = tuple[int, ParsedEmail, Sender, Ticket | None, Ticket | None]


def _process_round(
    mails: list[tuple[int, ParsedEmail]],
    records: Sequence[InboundRecord],
    batch: _Batch,
    outcomes: list[Message | Exception | None],
) -> None:
    parsed_list = [parsed for _, parsed in mails]
    contacts = contacts_by_emails(p.from_email.strip().lower() for p in parsed_list)
    destinations = [route(parsed, batch.directory) for parsed in parsed_list]
    senders = identify_senders(parsed_list, contacts, [d.line for d in destinations])
    matches = find_tickets(
        [(p, s.email, contacts.get(s.email, [])) for p, s in zip(parsed_list, senders, strict=True)]
    )
    appends: list[tuple[int, ParsedEmail, Sender, TicketMatch]] = []
    opens: list[_Open] = []
    where = {index: d for (index, _), d in zip(mails, destinations, strict=True)}
    for (index, parsed), sender, match in zip(mails, senders, matches, strict=True):
        if parsed.is_auto_reply:  # an internal note: no harm on the ticket it answers
            ticket = match.ticket or match.quarantined_from
            outcomes[index] = _alone(_record_auto_reply, parsed, TicketMatch(ticket))
        elif match.ticket is not None and match.ticket.status != Status.CLOSED:
            appends.append((index, parsed, sender, match))
        else:
            linked = match.ticket or match.quarantined_from
            opens.append((index, parsed, sender, linked, match.quarantined_from))
    # New tickets first: the tickets this round answers are locked (messages_add) as late
    # as the transaction allows, so a concurrent batch answering the same tickets waits
    # only for the rest of this one, not for its new tickets and acknowledgements too.
    sent: Counter[str] = Counter()
    _open_round(opens, records, batch, where, outcomes, sent)
    added = messages_add(
        [
            MessageAdd(ticket=cast(Ticket, m.ticket), message=_reply_message(p, m, s, records[i]))
            for i, p, s, m in appends
        ]
    )
    closed: list[_Open] = []
    for (index, parsed, sender, match), result in zip(appends, added, strict=True):
        if isinstance(result, TicketClosed):  # closed since the lookup: open a follow-up
            closed.append((index, parsed, sender, match.ticket, None))
        else:
            outcomes[index] = result.message
    _open_round(closed, records, batch, where, outcomes, sent)


def _open_round(
    opens: list[_Open],
    records: Sequence[InboundRecord],
    batch: _Batch,
    where: dict[int, Destination],
    outcomes: list[Message | Exception | None],
    sent: Counter[str],
) -> None:
    """Open the tickets of ``opens`` and queue their acknowledgements; ``sent`` counts the
    acknowledgements each sender got in the last hour, carried between calls of a round."""
    if not opens:
        return
    answers = [answer_for(p, s, where[i]) for i, p, s, _, _ in opens]
    opened = tickets_open(
        [
            _new_ticket(p, s, records[i], where[i], linked, q, answer)
            for (i, p, s, linked, q), answer in zip(opens, answers, strict=True)
        ]
    )
    replies: list[AutoReply] = []
    sent.update(auto_replies_sent(s.email for _, _, s, _, _ in opens if s.email not in sent))
    for (index, parsed, sender, _, _), result, answer in zip(opens, opened, answers, strict=True):
        outcomes[index] = result.message
        if result.created and answer.solves:
            answered_by_forum(result.ticket)
        if (
            result.created
            and fit(OutgoingMail, "to_email", sender.email) == sender.email  # else undeliverable
            and not auto_reply_refusal(
                parsed, sender.email, ours=batch.ours, sent_last_hour=sent[sender.email]
            )
        ):
            replies.append(AutoReply(result.ticket, parsed, sender.email, answer.kind, answer.key))
            sent[sender.email] += 1
    auto_replies_queue(replies)


def _alone(func: Callable[..., Message], *args: Any) -> Message | Exception:
    """Run one of the rare single-mail paths in a savepoint; return its error as a value."""
    try:
        with transaction.atomic():
            return func(*args)
    except (InboundIgnored, InboundRejected, TicketError) as exc:
        return exc


def _reply_message(
    parsed: ParsedEmail, match: TicketMatch, sender: Sender, record: InboundRecord
) -> MessageIn:
    stripped = strip_reply(parsed.text)
    metadata = _metadata(parsed, sender, record, threaded_by=match.via)
    if stripped != parsed.text:
        metadata["full_text"] = parsed.text[:MAX_METADATA_TEXT]
    reached = reached_desk(record, parsed)
    return _message_in(parsed, sender, metadata, stripped, "", reached)


def _new_ticket(
    parsed: ParsedEmail,
    sender: Sender,
    record: InboundRecord,
    destination: Destination,
    linked_to: Ticket | None,
    quarantined: Ticket | None,
    answer: Answer,
) -> TicketOpen:
    metadata = _metadata(parsed, sender, record)
    metadata.update(answer.metadata)
    needs_verification = answer.hold
    if quarantined is not None:
        needs_verification = True
        metadata["quarantine"] = (
            f"referred to {quarantined.reference} (ticket token or reply headers) but the "
            "sender is not a contact of that ticket; opened separately. Merge it after "
            "checking the sender."
        )
    elif linked_to is not None:
        metadata["follow_up_of"] = linked_to.reference
    subject = normalize_subject(parsed.subject, settings.SUPPORTDESK_TICKET_PREFIX)
    return TicketOpen(
        subject=fit(Ticket, "subject", _no_nul(subject or NO_SUBJECT)) or NO_SUBJECT,
        department=destination.department,
        message=_message_in(
            parsed, sender, metadata, parsed.text, parsed.html or "", reached_desk(record, parsed)
        ),
        contact=sender.contact,
        account=sender.account,
        needs_verification=needs_verification,
        linked_to=linked_to,
        line=destination.line,
        language=answer.language,
    )


def reached_desk(record: InboundRecord, parsed: ParsedEmail) -> datetime:
    """Return when the mail reached the desk: when its record was stored (a webhook's
    arrival, a mailbox poll), or for an import the mail's Date: if that is sane (not after
    the import, not more than IMPORT_DATE_MAX_AGE before it). Never when a worker got to
    it: a backlog must not move deadlines later."""
    stored = record.received_at
    if is_import(record.source) and parsed.date is not None:
        if stored - IMPORT_DATE_MAX_AGE <= parsed.date <= stored:
            return parsed.date
    return stored


def is_import(source: str) -> bool:
    """Return whether the record came from ``manage.py ingest_email`` (source import…)."""
    return source.split(":", 1)[0] == IMPORT_SOURCE


def _message_in(
    parsed: ParsedEmail,
    sender: Sender,
    metadata: dict[str, Any],
    body_text: str,
    body_html: str,
    reached: datetime,
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
        occurred_at=reached,
        received_at=reached,
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
        "date": parsed.date.isoformat() if parsed.date else None,  # as the sender wrote it
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
        data["verification"] = HOLD_NOTES.get(sender.hold, HOLD_NOTES[Hold.UNVERIFIED])
    if parsed.defects:
        data["defects"] = list(parsed.defects[:20])
    return data
