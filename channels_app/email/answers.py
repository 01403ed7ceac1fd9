"""What a new mail's sender hears back, and whether its ticket is held or answered at once.

* An unknown sender, a missing or unmatched reseller ID (on a line that needs one): the
  ticket is held as *needs verification* and the reply asks them to write from their
  registered address with their reseller ID, in the line's language.
* A department that takes requests only from registered contacts (the vendor's technical
  support): "you must register first", and the ticket is held.
* A customisation request on a line that sends those to its forum: the forum answer, and
  the ticket is solved (a reply reopens it).
* Everyone else: the acknowledgement with the ticket number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from outbox.models import MailKind
from tickets.lines import language_for
from tickets.models import DepartmentKind, Status, TextKey, Ticket
from tickets.services import ticket_status_set
from tickets.text_rules import customisation_request, detect_language

from .parsing import ParsedEmail
from .routing import Destination
from .senders import Hold, Sender

REGISTRATION_NOTE = "technical support takes requests only from registered contacts"


@dataclass(frozen=True)
class Answer:
    kind: str  # MailKind of the automatic reply
    key: str  # TextKey of its text
    hold: bool  # open the ticket as needs verification
    language: str
    solves: bool = False  # answered by the reply itself (customisation: the forum)
    metadata: dict[str, Any] = field(default_factory=dict)


def answer_for(parsed: ParsedEmail, sender: Sender, destination: Destination) -> Answer:
    """Return how the new ticket of this mail is opened and answered."""
    line, department = destination.line, destination.department
    language = language_for(
        line=line,
        inbox_language=destination.language,
        contact=sender.contact,
        detected=detect_language(f"{parsed.subject}\n{parsed.text}"),
    )
    metadata: dict[str, Any] = {"line": line.slug, "language": language}
    if destination.inbox:
        metadata["inbox"] = destination.inbox
    if destination.abuse is not None:
        metadata["abuse"] = str(destination.abuse)
    if sender.hold == Hold.UNMATCHED_RESELLER_ID:
        metadata["reseller_id_unmatched"] = sender.reseller_id
    hold = sender.needs_verification
    key = TextKey.VERIFICATION if hold else TextKey.AUTO_REPLY
    registered = sender.contact is not None and sender.contact.is_verified
    if department.registered_contacts_only and not registered:
        hold, key = True, TextKey.REGISTRATION
        metadata["verification"] = REGISTRATION_NOTE
    if line.customisation_to_forum and department.kind != DepartmentKind.LEGAL_ABUSE:
        found = customisation_request(parsed.subject, parsed.text)
        if found is not None:
            metadata["customisation"] = str(found)
            forum = TextKey.CUSTOMISATION
            return Answer(MailKind.AUTO_REPLY, forum, hold, language, True, metadata)
    kind = MailKind.VERIFICATION if hold else MailKind.AUTO_REPLY
    return Answer(kind, key, hold, language, False, metadata)


def answered_by_forum(ticket: Ticket) -> None:
    """Mark a customisation request solved: the forum answer is the reply."""
    ticket_status_set(
        ticket=ticket, status=Status.SOLVED, reason="customisation request: forum answer sent"
    )
