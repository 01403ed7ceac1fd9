"""The workspace's demo data, added by ``manage.py seed_demo`` through the
``tickets.signals.demo_seeded`` hook: demo agents (English and Russian), macros, a shared
view, tickets that are breached, at risk, possibly duplicated, waiting to be verified, a
live chat waiting for an agent, a phone call an agent logged, and knowledge-base
articles in English, Russian and Dutch.

Idempotent like seed_demo: each ticket is known by its first message's external id and
is made (and backdated) only once; agents keep a password derived from SECRET_KEY.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from channels_app.chat.models import ChatConversation
from duplicates.services import detect_duplicates
from kb.models import Article, Category
from sla.services import ticket_sla_recompute
from tickets import services
from tickets.models import (
    Channel,
    Contact,
    Department,
    Direction,
    Message,
    Status,
    SupportLine,
    Ticket,
    TicketEvent,
)
from tickets.services import MessageIn

from .models import AgentProfile, Macro, SavedView, TicketRow
from .rows import rows_refresh

AGENTS = [
    # username, first, last, language, zone, signature
    ("alice", "Alice", "Janssen", "en", "Europe/Amsterdam", "Alice, Northwind desk"),
    ("dmitri", "Дмитрий", "Иванов", "ru", "Europe/Moscow", "Дмитрий, техподдержка"),
    ("sam", "Sam", "Okafor", "en", "Europe/London", "Sam, customer support"),
]
AGENT_PERMISSIONS = ["view_ticket", "change_ticket", "add_ticket"]
MACROS = [
    # name, language, body, set status, assign, tags
    (
        "Ask for the auth code",
        "en",
        "Hello {customer_name},\n\nto move the transfer of {ticket_number} on we need the "
        "domain's auth code. You find it in your current registrar's panel.",
        Status.PENDING_CUSTOMER,
        Macro.Assign.ME,
        "transfer",
    ),
    (
        "Запросить код авторизации",
        "ru",
        "Здравствуйте, {customer_name}!\n\nДля переноса по заявке {ticket_number} нужен "
        "код авторизации домена. Он есть в панели вашего текущего регистратора.",
        Status.PENDING_CUSTOMER,
        Macro.Assign.ME,
        "transfer",
    ),
    (
        "Mailbox full: how to make room",
        "en",
        "Hello {customer_name},\n\nthe mailbox is over its quota, so new mail bounces. "
        "Delete old mail or raise the quota in the control panel (reseller {reseller_id}).",
        Status.PENDING_CUSTOMER,
        Macro.Assign.KEEP,
        "mailbox",
    ),
    (
        "Solved, thank you",
        "",
        "Glad it works again. We close {ticket_number} now.",
        "solved",
        "",
        "",
    ),
]
KB = [
    # slug, category, title, keywords, body
    (
        "transfer-a-domain",
        "Domains",
        "Transferring a domain to us",
        "transfer auth code epp pending",
        "Ask your current registrar for the auth code (EPP code).\n\nStart the transfer "
        "in the panel and paste the code. Most transfers finish within five days.",
    ),
    (
        "perenos-domena",
        "Domains",
        "Перенос домена к нам",
        "перенос код авторизации epp трансфер",
        "Запросите у текущего регистратора код авторизации (EPP).\n\nНачните перенос в "
        "панели и вставьте код. Обычно перенос занимает до пяти дней.",
    ),
    (
        "domein-verhuizen",
        "Domains",
        "Een domein naar ons verhuizen",
        "verhuizen verhuiscode transfer",
        "Vraag uw huidige registrar om de verhuiscode (EPP-code).\n\nStart de verhuizing "
        "in het paneel en vul de code in. De meeste verhuizingen duren tot vijf dagen.",
    ),
    (
        "vat-eu-customers",
        "Billing",
        "Setting VAT for EU customers",
        "vat tax eu invoice",
        "Under Settings, Taxes, turn on EU VAT and enter your VAT number.\n\nInvoices then "
        "show the rate of the customer's country.",
    ),
    (
        "nds-dlya-es",
        "Billing",
        "Настройка НДС для клиентов из ЕС",
        "ндс налог ес счёт",
        "В разделе «Настройки → Налоги» включите НДС ЕС и укажите свой номер.\n\nВ счетах "
        "появится ставка страны клиента.",
    ),
]


def seed(
    *, contacts: dict[str, Contact], agent: Any, password_for: Callable[[str], str]
) -> list[str]:
    """Add the workspace's demo data; return the banner lines (the agents' logins)."""
    agents = _agents(password_for)
    _macros()
    _kb()
    _tickets(contacts, agents)
    if not agents:
        return []
    languages = dict(settings.LANGUAGES)
    return ["Demo agents (workspace), user name / password:"] + [
        f"  {username} / {password_for(username)}  ({languages[language]}, {zone})"
        for username, _first, _last, language, zone, _signature in AGENTS
    ]


def _agents(password_for: Callable[[str], str]) -> dict[str, Any]:
    """The demo agents: staff with the ticket permissions, not superusers (none in
    production, like seed_demo's own login)."""
    if settings.PRODUCTION:
        return {}
    group, _ = Group.objects.get_or_create(name="Agents")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tickets", codename__in=AGENT_PERMISSIONS
        )
    )
    users = get_user_model()
    out = {}
    for username, first, last, language, zone, signature in AGENTS:
        user, _ = users.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@desk.example"},
        )
        user.is_staff = True
        user.set_password(password_for(username))
        user.save()
        user.groups.add(group)
        AgentProfile.objects.get_or_create(
            user=user,
            defaults={"language": language, "time_zone": zone, "signature": signature},
        )
        out[username] = user
    return out


def _macros() -> None:
    # Domain transfers are the reseller line's business: its macros are offered there only.
    reseller = SupportLine.objects.filter(slug="reseller").first()
    for name, language, body, status, assign, tags in MACROS:
        Macro.objects.get_or_create(
            name=name,
            defaults={
                "line": reseller if tags == "transfer" else None,
                "language": language,
                "body": body,
                "set_status": status,
                "assign": assign,
                "add_tags": tags,
            },
        )


def _kb() -> None:
    for position, (slug, category, title, keywords, body) in enumerate(KB):
        group, _ = Category.objects.get_or_create(
            slug=category.lower(), defaults={"name": category, "position": position}
        )
        Article.objects.get_or_create(
            slug=slug,
            defaults={
                "title": title,
                "category": group,
                "keywords": keywords,
                "body": body,
                "published": True,
            },
        )


def _tickets(c: dict[str, Contact], agents: dict[str, Any]) -> None:
    dept = {d.slug: d for d in Department.objects.all()}
    alice, dmitri, sam = (agents.get(name) for name in ("alice", "dmitri", "sam"))
    anna, pieter = c["anna@northwind.example"], c["pieter@northwind.example"]
    irina, marta = c["irina@lumen-shop.example"], c["marta@pinecone.example"]

    if breached := _open(
        "ws-demo-breached@northwind.example",
        subject="Mail to pieter@northwind.example bounces: mailbox full",
        department=dept["reseller-support"],
        contact=pieter,
        body="Hi, since this morning every mail to me bounces with 'mailbox full'. "
        "Reseller 200417.\n\nPieter",
    ):
        services.ticket_tags_set(ticket=breached, add=["mailbox"], actor=alice)
        _assign(breached, alice)
        # Two weeks old and unanswered: every deadline has passed, whatever the calendar.
        _backdate(breached, timezone.now() - timedelta(days=14))

    if at_risk := _open(
        "ws-demo-renewal@pinecone.example",
        subject="Renewal of 40 domains failed at the registry",
        department=dept["reseller-support"],
        contact=marta,
        severity=2,
        body="Our bulk renewal of 40 .com domains failed with 'registry timeout'. They "
        "expire next week.\n\nMarta",
    ):
        _assign(at_risk, dmitri)
        services.message_add(
            ticket=at_risk,
            actor=dmitri,
            # A note, not an answer: the first response is what is at risk (the reseller
            # line's policy has no resolution target).
            message=MessageIn(
                channel=Channel.NOTE,
                direction=Direction.INTERNAL,
                author_user=dmitri,
                external_id="ws-demo-renewal-note@supportdesk",
                body_text="Asked the registry why the bulk renewal timed out.",
            ),
        )
        _just_at_risk(at_risk)

    if again := _open(
        "ws-demo-duplicate@northwind.example",
        subject="Transfer of northwind-shop.nl still pending",
        department=dept["reseller-support"],
        contact=anna,
        channel=Channel.PORTAL,
        body="Hello, reseller ID 200417. The transfer of northwind-shop.nl is still "
        "pending, order ID 88213. Anna",
    ):
        detect_duplicates(again.pk, auto_merge=False)

    _open(
        "ws-demo-verify@mail.example",
        subject="Please change the owner e-mail of northwind-shop.nl",
        department=dept["reseller-support"],
        contact=None,
        needs_verification=True,
        body="I am the new IT manager of Northwind Domains. Please set the owner e-mail of "
        "northwind-shop.nl to me.",
        metadata={"from": "it-manager@northwind-new.example"},
    )

    if chat := _open(
        "ws-demo-chat-1",
        subject="Chat: SSL certificate of lumen-shop.example expired",
        department=dept["customer-support"],
        contact=irina,
        channel=Channel.CHAT,
        body="Hi! Our SSL certificate on lumen-shop.example expired this morning, "
        "customers see a warning.",
    ):
        ChatConversation.objects.get_or_create(
            source="portal",
            conversation_id="ws-demo-chat-1",
            defaults={"ticket": chat, "contact": irina, "started_at": timezone.now()},
        )

    if call := _open(
        "ws-demo-call-1",
        subject="Called: wants a bigger hosting plan",
        department=dept["reseller-support"],
        contact=marta,
        channel=Channel.PHONE,
        actor=sam,
        body="Marta called: the shop outgrew its plan, she wants the Business plan from "
        "next month. Send her the price.",
        metadata={"duration_seconds": 240, "direction": "inbound", "opened_by": "sam"},
    ):
        _assign(call, sam)
        services.ticket_status_set(ticket=call, status=Status.PENDING_CUSTOMER, actor=sam)

    if russian := _open(
        "ws-demo-ru@lumen-shop.example",
        subject="Не приходят письма на lumen-shop.example",
        department=dept["customer-support"],
        contact=irina,
        body="Здравствуйте! Со вчерашнего дня на адреса lumen-shop.example не приходит "
        "почта. Ирина",
    ):
        services.ticket_tags_set(ticket=russian, add=["mailbox"], actor=dmitri)
        _assign(russian, dmitri)

    if alice is not None:
        SavedView.objects.get_or_create(
            name="S1 and S2",
            owner=alice,
            defaults={"shared": True, "filters": {"severities": [1, 2]}},
        )


def _open(external_id: str, *, body: str, channel: str = Channel.EMAIL, **kwargs: Any):
    """Open the ticket unless its first message is stored already; return it if new."""
    if Message.objects.filter(external_id=external_id).exists():
        return None
    contact = kwargs.get("contact")
    metadata = kwargs.pop("metadata", {})
    return services.ticket_open(
        message=MessageIn(
            channel=channel,
            author_contact=contact,
            external_id=external_id,
            body_text=body,
            metadata=metadata,
        ),
        **kwargs,
    ).ticket


def _assign(ticket: Ticket, agent: Any) -> None:
    if agent is not None:
        services.ticket_assign(ticket=ticket, assignee=agent)


def _backdate(ticket: Ticket, start: datetime) -> None:
    """Move the demo ticket's whole history so it began at ``start``, then recompute its
    clocks from it. Demo data only: a real ticket's history is never rewritten."""
    shift = start - Ticket.objects.values_list("created_at", flat=True).get(pk=ticket.pk)
    for model, fields, key in (
        (Ticket, ("created_at", "updated_at"), "pk"),
        (TicketEvent, ("created_at",), "ticket_id"),
        (Message, ("occurred_at", "received_at"), "ticket_id"),
    ):
        for row in model.objects.filter(**{key: ticket.pk}):
            model.objects.filter(pk=row.pk).update(
                **{name: getattr(row, name) + shift for name in fields}
            )
    ticket_sla_recompute(ticket.pk)
    rows_refresh([ticket.pk])


def _just_at_risk(ticket: Ticket) -> None:
    """Backdate the ticket until its deadline's at-risk moment has just passed, so it
    shows "At risk" for most of its risk window (hours of business time)."""
    now = timezone.now()
    young, old = timedelta(0), timedelta(days=30)
    while old - young > timedelta(minutes=10):
        middle = (young + old) / 2
        _backdate(ticket, now - middle)
        row = TicketRow.objects.get(ticket=ticket)
        if row.sla_risk_at is not None and row.sla_risk_at <= now:
            old = middle
        else:
            young = middle
    _backdate(ticket, now - old)
