"""One outage, many customers: a proposed problem ticket, linked incidents, one reply to
all (each on its channel, in its language), solving it solves them, SLA breaches kept."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail

from duplicates.models import DuplicateFlag, ProblemProposal, ProposalStatus
from duplicates.problems import (
    problem_reply_all,
    proposal_accept,
    proposal_incidents,
    proposals_for,
)
from duplicates.services import duplicates_detect
from outbox.models import OutgoingMail
from sla.models import SlaAlert, TicketSla
from sla.scan import scan_deadlines
from sla.services import ticket_sla_recompute
from tickets import services
from tickets.errors import InvalidInput, InvalidTransition, TicketError
from tickets.models import Channel, Department, Direction, Message, Status, Ticket

from ..factories import AccountFactory, ContactFactory, open_ticket
from ..sla.conftest import msk

pytestmark = pytest.mark.django_db

# The same outage told by customers in their own words and languages.
REPORTS = {
    "en": (
        "Registrations failing",
        "Since this morning every .com registration fails with "
        "error 2306 'registrant country invalid'. Nothing changed on our side.",
    ),
    "ru": (
        "Не регистрируются домены",
        "С утра регистрация доменов .com падает, ошибка 2306 "
        "«registrant country invalid». У нас ничего не менялось.",
    ),
    "nl": (
        "Registratie mislukt",
        "Sinds vanochtend mislukt elke registratie van .com met "
        "fout 2306, land van de houder ongeldig. Wij hebben niets veranderd.",
    ),
    "de": (
        "Registrierung schlägt fehl",
        "Seit heute früh schlägt jede .com-Registrierung mit "
        "Fehler 2306 fehl (Land des Inhabers ungültig). Bei uns hat sich nichts geändert.",
    ),
    "es": (
        "Fallo al registrar",
        "Desde esta mañana todos los registros .com fallan con el "
        "error 2306: país del titular no válido. No hemos cambiado nada.",
    ),
}
REPLIES = {
    "en": "Fixed: the registry rejected country codes for an hour. Please retry.",
    "ru": "Исправлено: реестр час не принимал коды стран. Повторите, пожалуйста.",
    "nl": "Opgelost: het register weigerde een uur lang landcodes. Probeer het opnieuw.",
    "de": "Behoben: die Registry hat eine Stunde lang Ländercodes abgelehnt. Bitte erneut.",
    "es": "Resuelto: el registro rechazó los códigos de país durante una hora. Reintente.",
}
CHANNELS = (Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.PORTAL)


def report(index: int) -> tuple[Ticket, str]:
    """Open customer ``index``'s ticket (its own account) as a channel would; detect."""
    lang = list(REPORTS)[index % len(REPORTS)]
    channel = CHANNELS[index % len(CHANNELS)]
    account = AccountFactory(name=f"Reseller {index}")
    if channel == Channel.PHONE:
        contact = ContactFactory(account=account, phone=f"+3120555{index:04d}")
    else:
        contact = ContactFactory(account=account, email=f"tech{index}@reseller{index}.example")
    subject, body = REPORTS[lang]
    ticket = open_ticket(subject=subject, body=body, channel=channel, contact=contact)
    if duplicates_detect(ticket.pk, notify=False).to_propose:
        proposals_for(ticket.pk)  # the duplicates.propose task
    return ticket, lang


def test_outage_reported_by_30_accounts_becomes_one_problem_with_30_incidents_answered(
    departments, agent, django_capture_on_commit_callbacks
):
    """30 accounts report error 2306 in five languages over four channels: one proposal,
    one problem ticket with 30 incidents, and one reply that reaches each incident on its
    own channel in its customer's language; solving the problem solves all 30."""
    reported = [report(i) for i in range(30)]
    tickets = [ticket for ticket, _ in reported]

    proposal = ProblemProposal.objects.get()  # one, however many reported it
    assert (proposal.kind, proposal.value) == ("error", "2306")
    assert proposal.accounts == 30 and proposal.status == ProposalStatus.PROPOSED
    assert not DuplicateFlag.objects.exists()  # thirty customers: incidents, not duplicates

    problem = proposal_accept(proposal=proposal, actor=agent)
    assert problem.is_problem
    assert sorted(Ticket.objects.filter(problem=problem).values_list("pk", flat=True)) == sorted(
        t.pk for t in tickets
    )
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.OPENED and proposal.problem_id == problem.pk

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = problem_reply_all(problem=problem, bodies=REPLIES, actor=agent)
    assert result.failed == {} and len(result.sent) == 30
    for ticket, lang in reported:
        answer = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
        assert answer.channel == ticket.origin_channel
        assert answer.body_text == REPLIES[lang]
    # Mail goes through the outbox: stored with the reply, sent by a worker.
    mailed = {m.to_email: m.body_text for m in OutgoingMail.objects.filter(ticket__problem=problem)}
    emailed = [(t, lang) for t, lang in reported if t.origin_channel == Channel.EMAIL]
    assert len(mailed) == len(emailed) == 8
    for ticket, lang in emailed:
        assert REPLIES[lang] in mailed[ticket.contact.emails.get().email]

    solved = services.problem_solve(problem=problem, actor=agent)
    assert len(solved) == 30
    assert set(Ticket.objects.filter(problem=problem).values_list("status", flat=True)) == {
        Status.SOLVED
    }
    problem.refresh_from_db()
    assert problem.status == Status.SOLVED


def test_one_accounts_many_tickets_or_too_few_accounts_propose_nothing(departments, settings):
    """Customers are counted, not tickets: one account's ten reports, or four accounts,
    stay below the five accounts a proposal needs."""
    account = AccountFactory()
    contact = ContactFactory(account=account, email="ops@one.example")
    subject, body = REPORTS["en"]
    for _ in range(10):
        ticket = open_ticket(subject=subject, body=body, contact=contact)
        if duplicates_detect(ticket.pk, notify=False).to_propose:
            proposals_for(ticket.pk)  # the duplicates.propose task
    for index in range(1, 4):
        report(index)
    assert not ProblemProposal.objects.exists()
    report(5)  # the fifth customer
    assert ProblemProposal.objects.get().accounts == 5


def test_reports_after_the_problem_opened_are_offered_for_linking(departments, agent):
    """While its problem ticket is open, a code gets no second proposal; the new reports
    are the incidents the agents are offered to link."""
    for index in range(5):
        report(index)
    proposal = ProblemProposal.objects.get()
    problem = proposal_accept(proposal=proposal, actor=agent)
    late, _ = report(6)
    assert ProblemProposal.objects.count() == 1
    assert proposal_incidents(proposal) == [late]
    assert services.incidents_link(incidents=[late], problem=problem, actor=agent) == [late]
    assert services.incidents_link(incidents=[late], problem=problem, actor=agent) == []


def test_linking_and_solving_keep_each_incidents_sla_clock_and_breach(presets, agent):
    """An incident that breached its first-response target keeps the breach when linked
    and when solved through the problem; its clock stops at the problem's solve time."""
    with time_machine.travel(msk(2026, 11, 23, 9, 0), tick=False):
        incident = services.ticket_open(
            subject="Checkout broken",
            department=Department.objects.get(slug="customer-support"),
            message=services.MessageIn(channel="chat", body_text="Nobody can pay: error 2306"),
        ).ticket
    ticket_sla_recompute(incident.pk, now=msk(2026, 11, 23, 9, 0, 30))
    assert scan_deadlines(now=msk(2026, 11, 23, 10, 1)).breached == [
        (incident.pk, "first_response")
    ]
    before = TicketSla.objects.get(pk=incident.pk)

    with time_machine.travel(msk(2026, 11, 23, 10, 30), tick=False):
        problem = services.problem_open(
            subject="Card payments",
            department=incident.department,
            description="Acquirer down",
            actor=agent,
            incidents=[incident],
        )
        ticket_sla_recompute(incident.pk, now=msk(2026, 11, 23, 10, 30))
    linked = TicketSla.objects.get(pk=incident.pk)
    assert linked.first_response_breached and linked.breached_at == before.breached_at

    with time_machine.travel(msk(2026, 11, 23, 11, 0), tick=False):
        services.problem_solve(problem=problem, actor=agent)
        ticket_sla_recompute(incident.pk, now=msk(2026, 11, 23, 11, 0))
    after = TicketSla.objects.get(pk=incident.pk)
    assert after.first_response_breached and after.breached_at == before.breached_at
    assert SlaAlert.objects.filter(ticket=incident, kind="breached").count() == 1
    incident.refresh_from_db()
    assert incident.status == Status.SOLVED
    assert incident.solved_at == msk(2026, 11, 23, 11, 0)


def test_what_cannot_be_linked_says_why(departments, agent, anna):
    """A problem is not an incident; a merged ticket is linked through its survivor; only
    problem tickets take incidents."""
    first = open_ticket(contact=anna, body="Transfer fails")
    second = open_ticket(contact=anna, body="Transfer fails again")
    problem = services.problem_open(
        subject="Transfers", department=first.department, description="", actor=agent
    )
    other = services.problem_open(
        subject="Other", department=first.department, description="", actor=agent
    )
    with pytest.raises(InvalidInput, match="itself a problem ticket"):
        services.incidents_link(incidents=[other], problem=problem, actor=agent)
    with pytest.raises(InvalidInput, match="not a problem ticket"):
        services.incidents_link(incidents=[second], problem=first, actor=agent)
    services.ticket_merge(source=second, target=first, actor=agent)
    with pytest.raises(InvalidTransition, match="was merged"):
        services.incidents_link(incidents=[second], problem=problem, actor=agent)
    services.incidents_link(incidents=[first], problem=problem, actor=agent)
    assert services.incident_unlink(incident=first, actor=agent).problem is None


def test_a_named_service_failing_at_five_accounts_is_proposed(departments, settings):
    """No error code, but five customers name our mail server mail3: a proposal."""
    settings.DUPLICATES_SERVICES = ("mail3", "ns2")
    bodies = [
        "No incoming mail for our customers on mail3 since 8 o'clock",
        "Sinds vanochtend komt er op mail3 geen mail binnen",
        "Seit heute früh kommen auf mail3 keine Mails an",
        "На сервере mail3 не приходит почта с утра",
        "Desde las 8 no llega correo en mail3",
    ]
    for index, body in enumerate(bodies):
        contact = ContactFactory(account=AccountFactory(), email=f"it@c{index}.example")
        ticket = open_ticket(subject="Mail down", body=body, contact=contact)
        if duplicates_detect(ticket.pk, notify=False).to_propose:
            proposals_for(ticket.pk)  # the duplicates.propose task
    proposal = ProblemProposal.objects.get()
    assert (proposal.kind, proposal.value, proposal.accounts) == ("service", "mail3", 5)


def test_accepting_a_proposal_with_no_live_incident_and_no_active_department_says_why(
    departments, agent
):
    """Its incidents all closed and every department switched off, accepting a proposal
    refuses with what to do, and opens nothing (mypy found the fallback department could
    be None; it used to fail inside the ticket service with an AttributeError)."""
    for index in range(5):
        report(index)
    proposal = ProblemProposal.objects.get()
    Ticket.objects.update(status=Status.CLOSED)
    Department.objects.update(is_active=False)
    with pytest.raises(TicketError, match="activate one"):
        proposal_accept(proposal=proposal, actor=agent)
    assert not Ticket.objects.filter(is_problem=True).exists()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PROPOSED
