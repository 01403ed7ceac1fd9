"""The words of the automatic mails a line sends, in the ticket's language.

``auto_reply_content`` is what the outgoing-mail code calls for an acknowledgement, a
verification request, a "register first" answer or the forum answer: the line's own
text for that language (``LineText``), else the standard text translated by Django's
i18n, with the ticket number and the line's signature around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .lines import TextTable, line_text
from .models import Language, SupportLine, TextKey, Ticket

STANDARD_TEXTS = {
    TextKey.AUTO_REPLY: gettext_noop(
        "Thank you for writing to us. Your message has been received as ticket {reference}."
    ),
    TextKey.VERIFICATION: gettext_noop(
        "Your message has been received as ticket {reference}, but we could not find your "
        "account: please write to us from the email address registered with us and include "
        "your reseller ID, so we can find your account and help you faster. Until then we "
        "can discuss an account only with its verified contacts; the account owner can also "
        "add this address as an authorized contact."
    ),
    TextKey.REGISTRATION: gettext_noop(
        "Your message has been received as ticket {reference}. Technical support takes "
        "requests only from registered contacts: you must register first. Ask the owner of "
        "your site to add you as a contact person, or write from the address we have on "
        "file."
    ),
    TextKey.CUSTOMISATION: gettext_noop(
        "Custom development, additional functionality, design changes and other "
        "customisation are not handled by support. Please describe what you need on our "
        "community forum (co-development section): our developers pick up requests there "
        "and offer co-development when several customers need the same feature. Your "
        "message is kept as ticket {reference}; reply if it is a support question after all."
    ),
    TextKey.PORTAL_INTRO: gettext_noop(
        "Search the knowledge base, or open a ticket: tell us who you are, what happens "
        "and when it happened."
    ),
    TextKey.PORTAL_NOTICE: gettext_noop(
        "It is recommended to ask non-urgent and uncritical questions after the weekend."
    ),
}


@dataclass(frozen=True)
class MailContent:
    subject: str
    body: str
    language: str


def line_wording(line: SupportLine, key: str, language: str) -> str:
    """Return the line's text ``key`` (e.g. the portal's notice) in ``language``."""
    return line_text(line, key, language, STANDARD_TEXTS[TextKey(key)])


def text_for(ticket: Ticket, key: str, table: TextTable | None = None) -> str:
    """Return the line's text ``key`` for the ticket, in its language, with its number."""
    language = ticket.language or ticket.line.language
    text = line_text(ticket.line, key, language, STANDARD_TEXTS[TextKey(key)], table)
    return text.replace("{reference}", ticket.reference)


def auto_reply_content(
    ticket: Ticket, key: str = TextKey.AUTO_REPLY, table: TextTable | None = None
) -> MailContent:
    """Return the subject and body of an automatic mail about a new ticket.

    ``key`` is a ``TextKey``: ``auto_reply``, ``verification``, ``registration`` or
    ``customisation``. The reply is in the ticket's language (from its inbox, the contact's
    preference or the text of the mail; else the line's) and signed with the line.
    ``table`` is ``tickets.lines.texts_of`` the tickets' lines, for many replies at once.
    """
    return auto_reply_contents([(ticket, key)], table)[0]


def auto_reply_contents(
    items: Sequence[tuple[Ticket, str]], table: TextTable | None = None
) -> list[MailContent]:
    """Return ``auto_reply_content`` of each (ticket, key), in order.

    The words depend on the ticket's language, line and department and the key only:
    they are looked up and translated once for each such group (an intake's hundreds of
    acknowledgements are a handful of groups), then each ticket's number is put in.
    """
    words: dict[tuple[str, int, str, int], tuple[str, str, str, str, str]] = {}
    out = []
    for ticket, key in items:
        group = (ticket.language, ticket.line_id, key, ticket.department_id)
        if group not in words:
            words[group] = _words(ticket, key, table)
        language, hello, text, keep, signature = words[group]
        reference = ticket.reference
        body = "\n\n".join(
            [
                hello,
                text.replace("{reference}", reference),
                keep.format(reference=reference),
                signature,
            ]
        )
        subject = f"[{reference}] {ticket.subject}"[:255]
        out.append(MailContent(subject=subject, body=body + "\n", language=language))
    return out


def _words(ticket: Ticket, key: str, table: TextTable | None) -> tuple[str, str, str, str, str]:
    """The parts of an automatic mail's body before the ticket's number is put in: its
    language, the greeting, the line's text, the "keep the number" line, the signature."""
    language = ticket.language if ticket.language in Language.values else ticket.line.language
    with translation.override(language):
        text_language = ticket.language or ticket.line.language  # as text_for reads it
        text = line_text(ticket.line, key, text_language, STANDARD_TEXTS[TextKey(key)], table)
        keep = _(
            "Please keep [{reference}] in the subject when you write about this matter "
            "again, so your message reaches the same ticket."
        )
        signature = ticket.department.name
        if ticket.line.organisation:
            signature = f"{signature}\n{ticket.line.organisation}"
        return language, _("Hello,"), text, keep, signature
