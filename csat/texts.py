"""What the survey says, per support line and language (en, nl, es, ru).

One function answers every text the survey shows or mails. A support line may word the
question, the mail's first lines and the thanks its own way per language (``LineText``
keys ``csat_question``, ``csat_intro``, ``csat_thanks`` in the admin); otherwise the texts
are the desk's, translated through Django's catalogs (``csat/locale``), with the line's
name put in.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets.lines import texts_of
from tickets.models import TextKey, Ticket

LANGUAGES = ("en", "nl", "es", "ru")

SCORE_LABELS = {
    1: gettext_noop("Very poor"),
    2: gettext_noop("Poor"),
    3: gettext_noop("Okay"),
    4: gettext_noop("Good"),
    5: gettext_noop("Excellent"),
}


def survey_language(ticket: Ticket, contact_language: str = "") -> str:
    """Return the language to ask in: the ticket's (or its contact's), else English."""
    for candidate in (getattr(ticket, "language", ""), contact_language):
        code = (candidate or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def team_name(ticket: Ticket) -> str:
    line = getattr(ticket, "line", None)
    return getattr(line, "name", "") or ticket.department.name


# Survey texts a line may word its own way.
LINE_KEYS = {
    "question": TextKey.CSAT_QUESTION,
    "intro": TextKey.CSAT_INTRO,
    "thanks": TextKey.CSAT_THANKS,
}


def survey_text(ticket: Ticket, key: str, language: str) -> str:
    """Return text ``key`` of the survey for ``ticket`` in ``language``: the line's own
    wording in that language if it has one, else the desk's, translated."""
    team = team_name(ticket)
    own_key = "question" if key == "subject" else key  # the subject starts with the question
    if own_key in LINE_KEYS and ticket.line_id:
        own = texts_of([ticket.line]).get((ticket.line_id, LINE_KEYS[own_key], language))
        if own and key == "subject":
            own = f"{own} [{{reference}}] {{subject}}"
        if own:
            for name, value in (("reference", ticket.reference), ("subject", ticket.subject)):
                own = own.replace("{" + name + "}", value)
            return own.replace("{team}", team)
    with translation.override(language):
        texts = {
            "question": _("How did we do?"),
            "subject": _("How did we do? [%(reference)s] %(subject)s")
            % {"reference": ticket.reference, "subject": ticket.subject},
            "intro": _(
                "Your request %(reference)s “%(subject)s” to %(team)s was solved. "
                "How did we do? One click is enough:"
            )
            % {"reference": ticket.reference, "subject": ticket.subject, "team": team},
            "reopen": _(
                "If the problem is not solved after all, just reply to this mail: "
                "the request opens again."
            ),
            "thanks": _("Thank you for your rating."),
            "comment": _("Anything you would like to add? (optional)"),
            "change": _("You can change your rating:"),
        }
        if key.startswith("score_"):
            return _(SCORE_LABELS[int(key[6:])])
        return texts[key]
