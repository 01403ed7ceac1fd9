"""The people and rows the permission matrix (tests/test_permission_matrix.py) asks with.

Account A (Northwind) has an owner, Anna, and an authorized contact, Bert; account B has
Mallory. Bert's ticket (with an attachment and a portal chat) is the object every
URL with an id points at. Staff: an agent with a support agent's permissions, and a
superuser. Integrations: one per API permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from tests.factories import AccountFactory, AgentFactory, ContactFactory, open_ticket
from tickets.models import Attachment, Ticket

ROLES = (
    "anonymous",
    "customer_a",  # Bert: an authorized contact of account A (his own tickets)
    "customer_b",  # Mallory: the owner of account B
    "owner",  # Anna: the owner of account A (the whole account's tickets)
    "agent",  # staff with AGENT_PERMISSIONS
    "admin",  # a superuser
    "api_chat",  # an integration allowed to push chat lines only
    "api_phone",  # … to push calls only
    "api_read",  # … to read tickets only
    "api_open",  # … to open tickets only
)
# What a support agent may do in the admin: work tickets and chats, look people up.
AGENT_PERMISSIONS = (
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.view_account",
    "tickets.view_contact",
    "portal.view_chatconversation",
    "portal.change_chatconversation",
    "kb.view_article",
)
API_PERMISSIONS = {
    "api_chat": "can_push_chat",
    "api_phone": "can_push_phone",
    "api_read": "can_read_tickets",
    "api_open": "can_open_tickets",
}


@dataclass
class World:
    credentials: dict[str, Any]  # role -> what signs a fresh client in as that role
    ticket: Ticket
    attachment: Attachment
    conversation: Any
    article: Any
    agent: Any
    message: Any = None
    saved_view: Any = None
    objects: dict[str, Any] = field(default_factory=dict)  # admin model label -> a row
    _clients: dict[str, Client] = field(default_factory=dict)

    def client(self, role: str, *, fresh: bool = False) -> Client:
        """Return a client signed in as ``role``; ``fresh``: a new one (for a POST, which
        may sign it out, so that it never changes who a later cell asks as)."""
        if fresh:
            return self._new_client(role)
        if role not in self._clients:
            self._clients[role] = self._new_client(role)
        return self._clients[role]

    def _new_client(self, role: str) -> Client:
        kind, value = self.credentials[role]
        # A 500 is a status like any other here: the cell shows it.
        if kind == "token":
            return Client(HTTP_AUTHORIZATION=f"Token {value}", raise_request_exception=False)
        client = Client(raise_request_exception=False)
        if kind == "contact":
            session = client.session
            session["portal_contact_id"] = value  # as the magic link leaves it
            session.save()
            client.cookies["sessionid"] = session.session_key
        elif kind == "user":
            client.force_login(value)
        return client


def build_world() -> World:
    from api.models import Integration
    from kb.models import Article, Category
    from portal.models import AgentPresence, ChatConversation

    account_a = AccountFactory(name="Northwind", reseller_id="200417")
    anna = ContactFactory(
        account=account_a, name="Anna", email="anna@nw.example", role="owner", verified=True
    )
    bert = ContactFactory(account=account_a, name="Bert", email="bert@nw.example", verified=True)
    mallory = ContactFactory(
        account=AccountFactory(name="Other Co"),
        name="Mallory",
        email="mallory@other.example",
        role="owner",
        verified=True,
    )
    ticket = open_ticket(subject="Bert's problem", contact=bert)
    message = ticket.messages.get()
    attachment = Attachment(message=message, filename="log.txt", content_type="text/plain")
    attachment.file.save("log.txt", ContentFile(b"log"), save=False)
    attachment.size, attachment.sha256 = 3, "0" * 64
    attachment.save()
    conversation = ChatConversation.objects.create(
        conversation_id="portal-matrix", ticket=ticket, contact=bert, source="portal"
    )
    category = Category.objects.create(name="Domains", slug="domains")
    article = Article.objects.create(
        category=category, title="Transfers", slug="transfers", body="How to.", published=True
    )

    agent = AgentFactory(username="matrix-agent")
    for perm in AGENT_PERMISSIONS:
        app_label, codename = perm.split(".")
        agent.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    superuser = AgentFactory(username="matrix-admin", is_superuser=True)
    AgentPresence.objects.create(user=agent)
    Group.objects.create(name="Support")

    credentials: dict[str, Any] = {"anonymous": ("nobody", None)}
    for role, contact in (("customer_a", bert), ("customer_b", mallory), ("owner", anna)):
        credentials[role] = ("contact", contact.pk)
    for role, user in (("agent", agent), ("admin", superuser)):
        credentials[role] = ("user", user)
    for role, permission in API_PERMISSIONS.items():
        integration = Integration.objects.create(name=role.replace("_", "-"), **{permission: True})
        credentials[role] = ("token", integration.issue_token())

    world = World(credentials, ticket, attachment, conversation, article, agent, message)
    world.saved_view = apps.get_model("workspace", "SavedView").objects.create(
        name="Mine", owner=agent
    )
    _one_of_each_admin_model(world, ticket)
    return world


def _one_of_each_admin_model(world: World, ticket: Ticket) -> None:
    """Find or make one row of every model the admin shows (its change URLs need one)."""
    from django.contrib import admin

    makers = {
        "channels_app.inboundrecord": _inbound_record,
        "outbox.outgoingmail": lambda: _outgoing_mail(ticket),
        "workspace.macro": lambda: apps.get_model("workspace", "Macro").objects.create(
            name="Thanks", body="Thank you!"
        ),
        "sla.ticketsla": lambda: _ticket_sla(ticket),
        "sla.slaalert": lambda: _sla_alert(ticket),
        "sla.calendarexception": _calendar_exception,
        "duplicates.duplicateflag": lambda: _duplicate_flag(ticket),
        "duplicates.problemproposal": lambda: _problem_proposal(ticket),
        "csat.survey": lambda: apps.get_model("csat", "Survey").objects.create(
            ticket=ticket, solve_event=ticket.events.first(), contact=ticket.contact
        ),
        "axes.accessattempt": lambda: _axes("AccessAttempt", get_data="", post_data="",
                                            failures_since_start=1),
        "axes.accesslog": lambda: _axes("AccessLog"),
        "mailboxes.mailbox": _mailbox,
        "axes.accessfailurelog": lambda: _axes("AccessFailureLog"),
    }  # fmt: skip
    for model in admin.site._registry:
        label = model._meta.label_lower
        row = model.objects.order_by("pk").first()
        if row is None and label in makers:
            row = makers[label]()
        assert row is not None, f"the matrix world has no {label}: add a maker for it"
        world.objects[label] = row


def _inbound_record() -> Any:
    from channels_app.inbound import inbound_store

    record, _ = inbound_store(
        channel="phone", source="matrix", payload={"caller": "+31201234567"}, enqueue=False
    )
    return record


def _outgoing_mail(ticket: Ticket) -> Any:
    model = apps.get_model("outbox", "OutgoingMail")
    kind = model._meta.get_field("kind").choices[0][0]
    return model.objects.create(
        kind=kind, message_id="matrix@supportdesk.localhost", ticket=ticket,
        from_email="support@supportdesk.localhost", to=["bert@nw.example"],
        to_email="bert@nw.example", subject="Re", body_text="Hi",
    )  # fmt: skip


def _ticket_sla(ticket: Ticket) -> Any:
    from sla.presets import ensure_presets
    from sla.services import ticket_sla_recompute

    ensure_presets()
    ticket_sla_recompute(ticket.pk)
    return apps.get_model("sla", "TicketSla").objects.get(ticket=ticket)


def _sla_alert(ticket: Ticket) -> Any:
    model = apps.get_model("sla", "SlaAlert")
    return model.objects.create(
        ticket=ticket, target="first_response", kind="at_risk", due_at=timezone.now()
    )


def _calendar_exception() -> Any:
    from sla.presets import ensure_presets

    ensure_presets()
    calendar = apps.get_model("sla", "BusinessCalendar").objects.first()
    model = apps.get_model("sla", "CalendarException")
    return model.objects.create(
        calendar=calendar, date=timezone.now().date() + timedelta(days=400), kind="closed"
    )


def _duplicate_flag(ticket: Ticket) -> Any:
    other = open_ticket(subject="Bert's problem again", contact=ticket.contact)
    model = apps.get_model("duplicates", "DuplicateFlag")
    return model.objects.create(ticket=other, candidate=ticket, score=0.9)


def _problem_proposal(ticket: Ticket) -> Any:
    from tickets.services import problem_open

    problem = problem_open(
        subject="Error 2306", department=ticket.department, description="", incidents=[ticket]
    )
    return apps.get_model("duplicates", "ProblemProposal").objects.create(
        band_key=1, kind="error", value="2306", accounts=5, first_ticket=ticket,
        status="opened", problem=problem,
    )  # fmt: skip


def _axes(model: str, **extra: Any) -> Any:
    return apps.get_model("axes", model).objects.create(
        user_agent="matrix", ip_address="192.0.2.1", username="someone", http_accept="*/*",
        path_info="/admin/login/", **extra,
    )  # fmt: skip


def _mailbox() -> Any:
    model = apps.get_model("mailboxes", "Mailbox")
    mailbox = model(
        name="matrix", department=apps.get_model("tickets", "Department").objects.first(),
        host="imap.nw.example", username="support@nw.example",
    )  # fmt: skip
    mailbox.set_password("not-a-real-password")
    mailbox.save()
    return mailbox


def content_type_of(obj: Any) -> int:
    return ContentType.objects.get_for_model(obj).pk
