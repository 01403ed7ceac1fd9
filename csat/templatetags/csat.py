"""``{% csat_prompt ticket contact via %}``: the survey of a ticket's standing solve,
where the customer sees the ticket (portal ticket page, the end of a chat)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from ..models import SCORES
from ..services import survey_for_ticket
from ..texts import survey_text

register = template.Library()


@register.simple_tag(takes_context=True)
def csat_prompt(context, ticket, via: str = "portal") -> SafeString:
    survey = survey_for_ticket(ticket)
    if survey is None:
        return mark_safe("")  # noqa: S308 - empty
    request = context.get("request")
    language = survey.language
    with translation.override(language):
        html = render_to_string(
            "csat/prompt.html",
            {
                "survey": survey,
                "via": via,
                "next": request.get_full_path() if request else "",
                "question": survey_text(ticket, "question", language),
                "comment_label": survey_text(ticket, "comment", language),
                "change_label": survey_text(ticket, "change", language),
                "scores": [
                    (s, survey_text(ticket, f"score_{s}", language)) for s in reversed(SCORES)
                ],
            },
            request=request,
        )
    return mark_safe(html)  # noqa: S308 - rendered by the autoescaping template engine
