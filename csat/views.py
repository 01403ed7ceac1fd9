"""Answering the survey: the one-click link from the mail, and the portal's buttons (on
the ticket and at the end of a chat)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from portal.auth import ContactRequest, contact_required
from portal.selectors import portal_ticket
from tickets.errors import TicketError

from .models import SCORES, Survey, Via
from .services import survey_rate
from .texts import survey_text
from .tokens import survey_from_token

NO_STORE = "private, no-store"


def _survey_by_token(token: str) -> Survey:
    survey_id = survey_from_token(token)
    survey = (
        Survey.objects.select_related("ticket__department").filter(pk=survey_id).first()
        if survey_id
        else None
    )
    if survey is None:
        raise Http404("This link has expired or is not valid.")
    return survey


def _page(request: HttpRequest, survey: Survey, template: str, **context) -> HttpResponse:
    ticket = survey.ticket
    language = survey.language
    with translation.override(language):
        response = render(
            request,
            template,
            {
                "survey": survey,
                "ticket": ticket,
                "language": language,
                "question": survey_text(ticket, "question", language),
                "thanks": survey_text(ticket, "thanks", language),
                "comment_label": survey_text(ticket, "comment", language),
                "change_label": survey_text(ticket, "change", language),
                "scores": [
                    (s, survey_text(ticket, f"score_{s}", language)) for s in reversed(SCORES)
                ],
                **context,
            },
        )
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    return response


@require_GET
def link(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """The score's link from the mail: a page that sends the score with one script step
    (mail scanners that open links do not run it) or one button without JavaScript."""
    survey = _survey_by_token(token)
    if score not in SCORES:
        raise Http404("No such rating.")
    return _page(request, survey, "csat/link.html", token=token, chosen=score)


@require_POST
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """Record the rating (and comment) sent from the link page."""
    survey = _survey_by_token(token)
    try:
        rating = int(request.POST.get("rating", "0"))
    except ValueError:
        rating = 0
    try:
        survey = survey_rate(
            survey=survey, rating=rating, comment=request.POST.get("comment", ""), via=Via.EMAIL
        )
    except TicketError as exc:
        return _page(request, survey, "csat/link.html", token=token, chosen=None, error=exc)
    return _page(request, survey, "csat/thanks.html", token=token)


@require_POST
@contact_required
def portal_answer(request: ContactRequest, survey_id: int) -> HttpResponse:
    """Record a signed-in customer's rating of one of their own tickets."""
    survey = Survey.objects.filter(pk=survey_id).select_related("ticket").first()
    if survey is None or portal_ticket(request.contact, survey.ticket.number) is None:
        raise Http404("No such survey.")  # the same for another account's ticket
    back = request.POST.get("next") or reverse("portal:ticket", args=[survey.ticket.number])
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = reverse("portal:ticket", args=[survey.ticket.number])
    via = Via.CHAT if request.POST.get("via") == Via.CHAT else Via.PORTAL
    try:
        rating = int(request.POST.get("rating", "0"))
        survey_rate(survey=survey, rating=rating, comment=request.POST.get("comment", ""), via=via)
    except ValueError:
        messages.error(request, survey_text(survey.ticket, "question", survey.language))
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, survey_text(survey.ticket, "thanks", survey.language))
    return HttpResponseRedirect(back)
