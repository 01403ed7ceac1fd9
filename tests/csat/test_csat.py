"""How did we do? Asked after every solve (once per solve), by mail with one-click links,
in the portal and at the end of a chat; the answer lands in the timeline and the reports."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from channels_app.chat.models import ChatConversation
from csat.models import Survey
from csat.services import survey_rate, surveys_ask_missed
from csat.texts import survey_text
from reports.models import DailyFigure
from tests.factories import AgentFactory, open_ticket
from tests.outbox_helpers import deliver
from tests.portal.conftest import mallory as mallory  # a fixture of the portal tests
from tests.portal.conftest import sign_in_link
from tickets import services
from tickets.errors import InvalidInput, InvalidTransition
from tickets.models import LineText, Message, Status, TextKey
from tickets.services import MessageIn, message_add

# Surveys are asked when the solve commits (as in production).
pytestmark = pytest.mark.django_db(transaction=True)


def _solve(ticket, agent=None):
    services.ticket_status_set(ticket=ticket, status=Status.SOLVED, actor=agent)


def _links(body: str) -> dict[int, str]:
    found = re.findall(r"^(\d) – .*?: https?://[^/]+(/csat/\S+)$", body, re.M)
    return {int(score): path for score, path in found}


def test_every_solve_asks_once_by_mail_with_one_click_links(departments, anna):
    ticket = open_ticket(subject="Transfer stuck", body="Please help", contact=anna)
    _solve(ticket)
    survey = Survey.objects.get(ticket=ticket)
    assert (survey.email, survey.rating) == ("anna@northwind.example", None)
    sent = [m for m in deliver() if "How did we do?" in m.subject]
    assert len(sent) == 1 and sent[0].to == ["anna@northwind.example"]
    assert sent[0].extra_headers.get("Auto-Submitted") == "auto-generated"
    assert ticket.reference in sent[0].subject
    assert sorted(_links(sent[0].body)) == [1, 2, 3, 4, 5]
    # The same solve announced again (a retried receiver, the beat) asks nothing new.
    assert surveys_ask_missed() == 0
    assert Survey.objects.filter(ticket=ticket).count() == 1
    # Reopened by the customer and solved again: asked again, for the new solve.
    message_add(ticket=ticket, message=MessageIn(channel="email", body_text="Still broken"))
    _solve(ticket)
    assert Survey.objects.filter(ticket=ticket).count() == 2


def test_the_link_records_by_post_only_so_scanners_do_not_rate(client, departments, anna):
    ticket = open_ticket(subject="DNS", body="Records gone", contact=anna)
    _solve(ticket)
    mail = next(m for m in deliver() if "How did we do?" in m.subject)
    path = _links(mail.body)[4]
    page = client.get(path)  # what a mail scanner does
    assert page.status_code == 200
    assert 'data-autosubmit="1"' in page.content.decode()
    assert Survey.objects.get(ticket=ticket).rating is None
    token = path.split("/")[2]
    done = client.post(reverse("csat:answer", args=[token]), {"rating": "4", "comment": ""})
    assert "Thank you for your rating." in done.content.decode()
    client.post(reverse("csat:answer", args=[token]), {"rating": "4", "comment": "Quick, thanks"})
    survey = Survey.objects.get(ticket=ticket)
    assert (survey.rating, survey.comment, survey.rated_via) == (4, "Quick, thanks", "email")
    notes = Message.objects.filter(ticket=ticket, channel="note", metadata__kind="csat")
    assert [n.body_text.splitlines()[0] for n in notes][-1].startswith("Customer rating: 4/5")
    assert "Quick, thanks" in notes.last().body_text
    assert client.get(f"/csat/{token}x/4/").status_code == 404
    assert client.get(f"/csat/{token}/9/").status_code == 404
    bad = client.post(reverse("csat:answer", args=[token]), {"rating": "9"})
    assert "Choose a rating from 1" in bad.content.decode()


def test_merged_tickets_take_no_rating(departments, anna):
    ticket = open_ticket(subject="A", body="a", contact=anna)
    other = open_ticket(subject="B", body="b", contact=anna)
    _solve(ticket)
    survey = Survey.objects.get(ticket=ticket)
    services.ticket_merge(source=ticket, target=other, cloned_by_customer=True)
    with pytest.raises(InvalidTransition):
        survey_rate(survey=survey, rating=5, via="email")
    assert not Survey.objects.filter(ticket=other).exists()


def test_a_ticket_without_a_contact_is_not_asked(departments):
    ticket = open_ticket(subject="Anonymous", body="?")
    _solve(ticket)
    assert not Survey.objects.exists()


def test_the_customer_rates_in_the_portal_and_it_reaches_the_report(client, departments, anna):
    ticket = open_ticket(subject="Renewal", body="When?", contact=anna)
    _solve(ticket, AgentFactory())
    deliver()
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    page = client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "How did we do?" in page
    survey = Survey.objects.get(ticket=ticket)
    response = client.post(
        reverse("csat:portal_answer", args=[survey.pk]), {"rating": "5", "comment": "Great"}
    )
    assert response.status_code == 302
    survey.refresh_from_db()
    assert (survey.rating, survey.rated_via) == (5, "portal")
    figure = DailyFigure.objects.get(metric="csat_5")
    assert (figure.value, figure.department_id) == (1, ticket.department_id)
    after = client.get(reverse("portal:ticket", args=[ticket.number])).content.decode()
    assert "You rated 5 out of 5." in after


def test_another_customer_cannot_rate(client, departments, anna, mallory):  # noqa: F811
    ticket = open_ticket(subject="Mine", body="x", contact=anna)
    _solve(ticket)
    deliver()
    survey = Survey.objects.get(ticket=ticket)
    client.post("/portal/sign-in/", {"email": "mallory@other.example"})
    client.post(sign_in_link())
    response = client.post(reverse("csat:portal_answer", args=[survey.pk]), {"rating": "1"})
    assert response.status_code == 404
    survey.refresh_from_db()
    assert survey.rating is None


def test_the_end_of_a_chat_asks(client, departments, anna):
    ticket = open_ticket(subject="Chat", body="hi", channel="chat", contact=anna)
    chat = ChatConversation.objects.create(
        conversation_id="c-1", ticket=ticket, contact=anna, source="portal"
    )
    client.post("/portal/sign-in/", {"email": "anna@northwind.example"})
    client.post(sign_in_link())
    room = reverse("portal:chat_room", args=[chat.conversation_id])
    assert 'id="csat-prompt"' not in client.get(room).content.decode()
    lines = client.get(reverse("portal:chat_lines", args=[chat.conversation_id])).json()
    assert lines["solved"] is False
    _solve(ticket)
    assert client.get(reverse("portal:chat_lines", args=[chat.conversation_id])).json()["solved"]
    page = client.get(room).content.decode()
    assert 'id="csat-prompt"' in page and 'name="via" value="chat"' in page
    assert "How did we do?" in page


def test_texts_in_four_languages(departments, anna):
    ticket = open_ticket(subject="Betaling", body="x", contact=anna)
    questions = {lang: survey_text(ticket, "question", lang) for lang in ("en", "nl", "es", "ru")}
    assert questions == {
        "en": "How did we do?",
        "nl": "Hoe hebben we het gedaan?",
        "es": "¿Qué tal lo hicimos?",
        "ru": "Как мы справились?",
    }
    assert ticket.reference in survey_text(ticket, "intro", "ru")
    assert survey_text(ticket, "score_5", "nl") == "Uitstekend"


def test_a_line_words_the_survey_its_own_way(departments, anna):
    ticket = open_ticket(subject="Betaling", body="x", contact=anna)
    line = ticket.line
    LineText.objects.create(
        line=line, key=TextKey.CSAT_QUESTION, language="nl", text="Tevreden over {team}?"
    )
    for lang in ("en", "nl", "es", "ru"):
        LineText.objects.create(
            line=line,
            key=TextKey.CSAT_INTRO,
            language=lang,
            text=f"[{lang}] Ticket {{reference}} ({{subject}}) is done. Rate us:",
        )
    assert survey_text(ticket, "question", "nl") == f"Tevreden over {line.name}?"
    assert survey_text(ticket, "subject", "nl") == (
        f"Tevreden over {line.name}? [{ticket.reference}] Betaling"
    )
    assert survey_text(ticket, "question", "es") == "¿Qué tal lo hicimos?"  # the desk's
    _solve(ticket)
    survey = Survey.objects.get(ticket=ticket)
    mail = next(m for m in deliver() if ticket.reference in m.subject)
    assert f"[{survey.language}] Ticket {ticket.reference} (Betaling) is done. Rate us:" in (
        mail.body
    )


def test_a_score_out_of_range_is_refused(departments, anna):
    ticket = open_ticket(subject="X", body="y", contact=anna)
    _solve(ticket)
    with pytest.raises(InvalidInput):
        survey_rate(survey=Survey.objects.get(ticket=ticket), rating=0, via="portal")
