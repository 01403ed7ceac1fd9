"""The daily rollups equal a direct query on the source tables, on random data.

Random tickets go through the services over two simulated weeks (opened, answered,
reopened, solved and rated, closed, moved, assigned, merged and un-merged, cloned by the
customer); every commit announces its events, the receivers queue the refresh and SLA
tasks, and those run at once. The rollups are then compared with ``direct_figures``,
key by key, and again after the beat's rebuild from the facts.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from csat.models import Survey
from csat.services import survey_rate
from reports.facts import days_rebuild, facts_rebuild_all, facts_refresh, open_recount
from reports.figures import Scope, _agents, backlog_now
from reports.models import DailyFigure, TicketFact
from tests.factories import AgentFactory, ContactFactory, open_ticket
from tickets import services
from tickets.errors import TicketError
from tickets.models import Status, Ticket
from tickets.services import MessageIn, message_add

from .direct import direct_figures, direct_open, rollup_figures

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS = ["email", "portal", "chat", "phone", "api"]


def _live(tickets: list[Ticket]) -> list[Ticket]:
    fresh = Ticket.objects.filter(pk__in=[t.pk for t in tickets])
    return list(fresh.exclude(status__in=[Status.MERGED, Status.CLOSED]).order_by("pk"))


# One problem in two customers' words (mail and chat): the same contact writing both
# gets a duplicate flag, an exact re-send a merge.
PROBLEMS = [
    (
        "Transfer failing",
        "The transfer of northwind-shop.nl keeps failing: auth code invalid, domain unlocked.",
    ),
    (
        "Chat",
        "[10:42] Anna: transfer northwind-shop.nl fails\n[10:43] Anna: auth code invalid",
    ),
]


def _random_history(rng: random.Random, departments: dict, steps: int) -> None:
    agents = [AgentFactory(username=f"agent{i}") for i in range(3)]
    contacts = [ContactFactory(email=f"c{i}@example.com", verified=True) for i in range(6)]
    depts = list(departments.values())
    tickets: list[Ticket] = []
    for _ in range(steps):
        time_machine_shift(rng)
        live = _live(tickets)
        action = rng.choice(
            ["open", "open", "reply", "reply", "customer", "solve", "solve", "rate", "close",
             "assign", "move", "merge", "unmerge", "note"]
        )  # fmt: skip
        try:
            if action == "open" or not live:
                # Some customers write about the same problem again: duplicate flags.
                subject, body = (
                    rng.choice(PROBLEMS)
                    if rng.random() < 0.4
                    else (
                        f"Problem {len(tickets)} {rng.choice(['dns', 'mail', 'ssl'])}",
                        f"Something broke ({rng.random()})",
                    )
                )
                tickets.append(
                    open_ticket(
                        subject=subject,
                        body=body,
                        channel=rng.choice(CHANNELS),
                        department=rng.choice(depts),
                        contact=contacts[0] if subject in dict(PROBLEMS) else rng.choice(contacts),
                    )
                )
            elif action == "reply":
                ticket = rng.choice(live)
                message_add(
                    ticket=ticket,
                    message=MessageIn(
                        channel=ticket.origin_channel,
                        direction="outbound",
                        body_text="We are on it.",
                        author_user=rng.choice(agents),
                    ),
                )
            elif action == "customer":
                ticket = rng.choice(live)
                message_add(
                    ticket=ticket,
                    message=MessageIn(
                        channel=ticket.origin_channel,
                        body_text=f"Any news? {rng.random()}",
                        author_contact=ticket.contact,
                    ),
                )
            elif action == "solve":
                services.ticket_status_set(
                    ticket=rng.choice(live), status=Status.SOLVED, actor=rng.choice(agents)
                )
            elif action == "rate":
                waiting = list(Survey.objects.filter(ticket__status=Status.SOLVED))
                if waiting:
                    survey_rate(survey=rng.choice(waiting), rating=rng.randint(1, 5), via="portal")
            elif action == "close":
                solved = [t for t in live if t.status == Status.SOLVED]
                if solved:
                    services.ticket_status_set(ticket=rng.choice(solved), status=Status.CLOSED)
            elif action == "assign":
                services.ticket_assign(ticket=rng.choice(live), assignee=rng.choice(agents))
            elif action == "move":
                ticket = rng.choice(live)  # escalations stay within the ticket's line
                services.ticket_department_set(
                    ticket=ticket, department=rng.choice(_in_line(depts, ticket))
                )
            elif action == "merge" and len(live) >= 2:
                source = rng.choice(live)
                # Tickets of two support lines are never merged: pick within the line.
                same_line = [t for t in live if t.line_id == source.line_id and t != source]
                if not same_line:
                    continue
                target = rng.choice(same_line)
                services.ticket_merge(
                    source=source,
                    target=target,
                    cloned_by_customer=rng.random() < 0.5,
                    confirm_cross_account=True,
                )
            elif action == "unmerge":
                merged = list(Ticket.objects.filter(status=Status.MERGED))
                if merged:
                    services.ticket_unmerge(ticket=rng.choice(merged))
            elif action == "note":
                message_add(
                    ticket=rng.choice(live),
                    message=MessageIn(
                        channel="note",
                        direction="internal",
                        body_text="note",
                        author_user=rng.choice(agents),
                    ),
                )
        except TicketError:
            pass  # a random step the rules refuse (e.g. un-merging after the survivor closed)
    _merge_one_if_none(tickets)


def _merge_one_if_none(tickets: list[Ticket]) -> None:
    """End with a merged clone if the random steps un-merged every merge (the history
    must hold every kind of figure)."""
    if Ticket.objects.filter(status=Status.MERGED).exists():
        return
    live = _live(tickets)
    for source in live:
        for target in live:
            if target.pk != source.pk and target.line_id == source.line_id:
                services.ticket_merge(
                    source=source, target=target, cloned_by_customer=True,
                    confirm_cross_account=True,
                )  # fmt: skip
                return


def _in_line(depts: list, ticket: Ticket) -> list:
    return [d for d in depts if d.line_id in (None, ticket.line_id)] or depts


_clock: list = []


def time_machine_shift(rng: random.Random) -> None:
    _clock[0].shift(timedelta(minutes=rng.randint(5, 600)))


@pytest.mark.parametrize("seed", [2026, 7])
def test_every_rollup_equals_a_direct_query_on_random_data(seed, departments, presets, eager_tasks):
    rng = random.Random(seed)
    with time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), tick=False) as clock:
        _clock[:] = [clock]
        _random_history(rng, departments, steps=140)
    direct = direct_figures()
    assert direct, "the random history produced no figures"
    # The history is varied: every kind of figure, and excluded (cloned, merged) tickets.
    metrics = {key[-1].split("_")[0] for key in direct}
    assert metrics == {"created", "solved", "replies", "fr", "frt", "res", "dup", "merged", "csat"}
    assert any(key[5] for key in direct)
    assert rollup_figures() == direct
    # The beat's rebuild from the facts arrives at the same figures.
    DailyFigure.objects.all().delete()
    days_rebuild(date(2026, 2, 1), date(2026, 5, 1))
    assert rollup_figures() == direct
    # A refresh with nothing changed changes nothing (new − old = 0).
    facts_refresh(list(Ticket.objects.values_list("pk", flat=True)))
    assert rollup_figures() == direct
    _assert_open_now_is_direct(rng)
    open_recount()  # the beat's recount arrives at the same rows
    _assert_open_now_is_direct(rng)


def _assert_open_now_is_direct(rng: random.Random) -> None:
    """What is open now (backlog by status and age, load per agent), read from the open
    figures, equals a direct count of the tickets: at the history's end and at moments
    whose age edges (1, 3, 7, 30 days) cut through the hour of an open ticket."""
    from reports.models import OpenFigure

    assert OpenFigure.objects.exclude(value__gt=0).count() == 0  # no zero rows left
    open_tickets = list(
        Ticket.objects.filter(status__in=["new", "open", "pending_customer", "on_hold"])
    )
    assert open_tickets, "the random history left nothing open"
    end = max(t.updated_at for t in Ticket.objects.all())
    moments = [end, end + timedelta(days=40)]
    for ticket in rng.sample(open_tickets, min(4, len(open_tickets))):
        for days in (1, 3, 7, 30):
            moments.append(ticket.created_at + timedelta(days=days))  # exactly on the edge
            moments.append(ticket.created_at + timedelta(days=days, seconds=1))
            moments.append(ticket.created_at + timedelta(days=days, minutes=-1))
    for moment in moments:
        by_age, load = direct_open(moment)
        with time_machine.travel(moment, tick=False):
            assert backlog_now(Scope())["counts"] == by_age, moment
        agents = _agents(Scope(), {}, {})
        assert {k: v for k, v in zip(agents["names"], agents["load"], strict=True) if v} == {
            _name(pk): n for pk, n in load.items()
        }
    assert sum(sum(v.values()) for v in by_age.values()) > 0


def _name(pk: int) -> str:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(pk=pk)
    return user.get_full_name() or user.get_username()


def test_a_full_rebuild_fills_an_upgraded_desk(departments, presets, eager_tasks, anna):
    with time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), tick=False):
        ticket = open_ticket(subject="Before reports", contact=anna)
        services.ticket_status_set(ticket=ticket, status=Status.SOLVED)
    TicketFact.objects.all().delete()
    DailyFigure.objects.all().delete()
    assert facts_rebuild_all() == 1
    assert rollup_figures() == direct_figures()


def test_a_refresh_queued_before_a_ticket_was_deleted_still_refreshes_the_others(departments, anna):
    """Before: the fact row of the deleted ticket failed the deferred foreign key at
    COMMIT, and the whole chunk (the live tickets' facts too) was rolled back."""
    live = open_ticket(subject="Still here", body="x", contact=anna, channel="portal")
    gone = open_ticket(subject="Deleted", body="x", contact=anna, channel="portal")
    gone_id = gone.pk
    TicketFact.objects.filter(ticket_id__in=[live.pk, gone_id]).delete()
    Ticket.objects.filter(pk=gone_id).delete()

    assert facts_refresh([live.pk, gone_id]) == 2

    assert list(TicketFact.objects.values_list("ticket_id", flat=True)) == [live.pk]
    assert TicketFact.objects.get(ticket_id=live.pk).status == live.status
