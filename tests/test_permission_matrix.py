"""Every URL the desk serves, asked by every role: each cell is the status it must answer.

The roles (tests/permission_matrix_world.py): ``anonymous``; ``customer_a`` (Bert, an
authorized contact of account A), ``customer_b`` (Mallory, owner of account B), ``owner``
(Anna, owner of account A); ``agent`` (staff with a support agent's permissions) and
``admin`` (a superuser); one API integration per permission (``api_chat``,
``api_phone``, ``api_read``, ``api_open``). Every id in a URL points at Bert's ticket, its
attachment, his chat, or the one row of an admin model.

A URL of the URL conf without a row fails ``test_every_url_has_a_row``: when you add a
URL, add its row to ``ROWS`` (or, for a model you register in the admin, to
``ADMIN_MODELS``). A row is ``row(default, method=..., data=..., **statuses)``: the
default status for every role, then per role or per group of roles — ``customers``
(customer_a, customer_b, owner), ``staff`` (agent, admin), ``api`` (the four
integrations); a single role's keyword wins over its group's. A URL that answers more
than one method has a tuple of rows.

What the statuses mean here: 302 to a sign-in page (admin or portal), 401 without API
credentials, 403 without the permission, 404 for an object of someone else's account (the
portal never says it exists), 405 for a method the URL does not take; 400 means the
request got past the permission check with the (deliberately empty) input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from .permission_matrix_world import ROLES, World, build_world, content_type_of

pytestmark = pytest.mark.django_db

# The admin's app index: one pattern whose regex lists the apps (normalised to this key).
APP_INDEX = "admin/<app_label>/"
GROUPS = {
    "customers": ("customer_a", "customer_b", "owner"),
    "staff": ("agent", "admin"),
    "api": ("api_chat", "api_phone", "api_read", "api_open"),
}


@dataclass(frozen=True)
class Row:
    method: str
    statuses: dict[str, int]
    data: dict[str, Any] | None = None


def row(default: int, *, method: str = "GET", data: dict | None = None, **given: int) -> Row:
    """Return the expected statuses: ``default`` for everyone, then groups, then roles."""
    unknown = set(given) - set(ROLES) - set(GROUPS)
    assert not unknown, f"unknown roles or groups {unknown}"
    statuses = dict.fromkeys(ROLES, default)
    for group, members in GROUPS.items():
        if group in given:
            statuses |= dict.fromkeys(members, given[group])
    statuses |= {role: status for role, status in given.items() if role in ROLES}
    return Row(method, statuses, data)


# Not signed in to the admin (anonymous, customers, integrations): the login page.
STAFF_ONLY = {"customers": 302, "api": 302, "anonymous": 302}
# The portal's pages for signed-in contacts: the sign-in page for everyone else.
CONTACTS_ONLY = {"anonymous": 302, "staff": 302, "api": 302}
# The API: 401 without credentials (a portal session or an admin login is none).
API = {"anonymous": 401, "customers": 401, "staff": 401}
# ESP webhooks take only the ESP's basic auth (then its signature), which no role has.
WEBHOOK = row(401, method="POST")

ROWS: dict[str, Row | tuple[Row, ...]] = {
    # --- health, knowledge base: public ------------------------------------------------
    "healthz": row(200),
    "kb/": row(200),
    "kb/suggest.json": row(200),
    "kb/<slug:slug>/": row(200),
    "kb/<slug:slug>/vote/": row(302, method="POST", data={"helpful": "yes"}),
    # --- portal: public pages ----------------------------------------------------------
    "portal/": row(200),
    "portal/status.json": row(200),
    "portal/sign-in/": row(200),
    "portal/sign-in/<str:token>/": row(200),  # a bad link: a page that says so
    "portal/sign-out/": row(302, method="POST"),
    # Choosing a support line or a language: anyone, then back to the portal.
    "portal/line/<slug:slug>/": row(302),
    "portal/language/<str:language>/": row(302),
    # --- portal: signed-in contacts; account B's contact never sees account A's ticket --
    "portal/tickets/": row(200, **CONTACTS_ONLY),
    "portal/tickets/new/": row(200, **CONTACTS_ONLY),
    "portal/tickets/<int:number>/": row(200, customer_b=404, **CONTACTS_ONLY),
    "portal/tickets/<int:number>/submitted/": row(200, customer_b=404, **CONTACTS_ONLY),
    "portal/tickets/<int:number>/reply/": row(302, method="POST", customer_b=404, **CONTACTS_ONLY),
    "portal/tickets/<int:number>/solve/": row(302, method="POST", customer_b=404, **CONTACTS_ONLY),
    "portal/attachments/<int:attachment_id>/": row(200, customer_b=404, **CONTACTS_ONLY),
    # Only an account owner manages its contacts.
    "portal/contacts/": row(404, owner=200, customer_b=200, **CONTACTS_ONLY),
    # No agent is available in this world: the chat page sends to the ticket form.
    "portal/chat/": row(302, **CONTACTS_ONLY),
    # A chat is its contact's alone (not even the account owner's).
    "portal/chat/<str:conversation_id>/": row(404, customer_a=200, **CONTACTS_ONLY),
    "portal/chat/<str:conversation_id>/lines.json": row(404, customer_a=200, **CONTACTS_ONLY),
    "portal/chat/<str:conversation_id>/send/": row(
        404, method="POST", customer_a=302, **CONTACTS_ONLY
    ),
    # --- API: each endpoint its own permission -----------------------------------------
    "api/schema/": row(200),
    "api/v1/channels/chat/": row(403, method="POST", api_chat=400, **API),
    "api/v1/channels/phone/": row(403, method="POST", api_phone=400, **API),
    "api/v1/tickets/": (
        row(403, api_read=200, **API),
        row(403, method="POST", api_open=400, **API),
    ),
    "api/v1/tickets/<str:reference>/": row(403, api_read=200, **API),
    # Search: q is missing, so a permitted integration gets 400 (past the check).
    "api/v1/search/": row(403, api_read=400, **API),
    # --- inbound mail webhooks (anymail) -----------------------------------------------
    "anymail/amazon_ses/inbound/": WEBHOOK,
    "anymail/brevo/inbound/": WEBHOOK,
    "anymail/mailersend/inbound/": WEBHOOK,
    "anymail/^mailgun/inbound(_mime)?/$": WEBHOOK,
    "anymail/mailjet/inbound/": WEBHOOK,
    "anymail/mailtrap/inbound/": WEBHOOK,
    "anymail/postal/inbound/": WEBHOOK,
    "anymail/postmark/inbound/": WEBHOOK,
    "anymail/sendgrid/inbound/": WEBHOOK,
    "anymail/sendinblue/inbound/": WEBHOOK,
    "anymail/sparkpost/inbound/": WEBHOOK,
    "anymail/resend/inbound/": WEBHOOK,
    "anymail/mandrill/": WEBHOOK,
    # --- the agents' workspace (staff with tickets.view_ticket; changes need change_ticket) --
    # Posts carry no input: 302 back to the page (nothing to do), 400 for a form to fix.
    "": row(302),  # the root sends each to their place: workspace, admin or portal
    "desk/": row(302),  # to the agent's first view (or, signed out, the login)
    "desk/views/<slug:key>/": row(200, **STAFF_ONLY),
    "desk/counts/": row(200, **STAFF_ONLY),
    "desk/goto/": row(302, **STAFF_ONLY),
    "desk/search/messages/": row(200, **STAFF_ONLY),  # tests/workspace/test_search.py
    "desk/bulk/": row(302, method="POST", **STAFF_ONLY),
    "desk/saved/": (row(200, **STAFF_ONLY), row(400, method="POST", **STAFF_ONLY)),
    # A saved view is its owner's (the agent's): anyone else's is not there.
    "desk/saved/<int:pk>/delete/": row(302, method="POST", admin=404, **STAFF_ONLY),
    "desk/new/": row(200, **STAFF_ONLY),
    "desk/t/<int:number>/": row(200, **STAFF_ONLY),
    "desk/t/<int:number>/m/<int:message_id>/": row(200, **STAFF_ONLY),
    "desk/t/<int:number>/update/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/verify/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/unmerge/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/merge/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/split/<int:message_id>/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/flags/<int:flag_id>/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/reply/": row(400, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/note/": row(302, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/presence/": row(200, method="POST", **STAFF_ONLY),
    "desk/t/<int:number>/macro/": row(404, **STAFF_ONLY),  # without ?macro=: none such
    "desk/a/<int:attachment_id>/": row(200, **STAFF_ONLY),
    "desk/a/<int:attachment_id>/inline/": row(404, **STAFF_ONLY),  # a text file: no inline
    "desk/a/<int:attachment_id>/preview/": row(200, **STAFF_ONLY),
    "desk/settings/": row(200, **STAFF_ONLY),
    "desk/notifications/": row(200, **STAFF_ONLY),
    "desk/notifications/poll/": row(200, **STAFF_ONLY),
    "desk/notifications/read/": row(302, method="POST", **STAFF_ONLY),
    "desk/search/": row(200, **STAFF_ONLY),
    # Dashboards and reports: leads only (reports.view_dashboard), which the agent is not.
    "desk/reports/": row(403, admin=200, **STAFF_ONLY),
    "desk/reports/report/": row(403, admin=200, **STAFF_ONLY),
    # --- portal search and satisfaction answers ----------------------------------------
    "portal/search/": row(200, **CONTACTS_ONLY),
    # Rating Bert's ticket (no score given: refused with a message, back to the ticket).
    "portal/csat/<int:survey_id>/": row(302, method="POST", customer_b=404, **CONTACTS_ONLY),
    # One-click survey links: signed, so a made-up token is nobody's.
    "csat/<str:token>/<int:score>/": row(404),
    "csat/<str:token>/": row(404, method="POST"),
    # --- admin: the site's own pages ---------------------------------------------------
    "admin/": row(302),  # agents land in the workspace (the admin: /admin/?config=1)
    "admin/login/": row(200, staff=302),  # signed-in staff go on to the index
    "admin/logout/": row(302, method="POST", staff=200),
    "admin/password_change/": row(200, **STAFF_ONLY),
    "admin/password_change/done/": row(200, **STAFF_ONLY),
    "admin/autocomplete/": row(403, **STAFF_ONLY),  # without a field to complete: refused
    "admin/jsi18n/": row(200, **STAFF_ONLY),
    "admin/r/<path:content_type_id>/<path:object_id>/": row(404, **STAFF_ONLY),
    APP_INDEX: row(200, **STAFF_ONLY),
    "admin/(?P<url>.*)$": row(404, **STAFF_ONLY),
    "admin/auth/user/<id>/password/": row(403, admin=200, **STAFF_ONLY),
    # --- admin: the ticket's own actions (POST only; the agent may change tickets) ------
    "admin/tickets/ticket/<int:ticket_id>/note/": row(302, method="POST", **STAFF_ONLY),
    "admin/tickets/ticket/<int:ticket_id>/unmerge/": row(302, method="POST", **STAFF_ONLY),
    "admin/tickets/ticket/<int:ticket_id>/verify-sender/": row(302, method="POST", **STAFF_ONLY),
    "admin/tickets/ticket/<int:ticket_id>/reply/": row(302, method="POST", **STAFF_ONLY),
    "admin/tickets/ticket/attachment/<int:attachment_id>/": row(200, **STAFF_ONLY),
    "admin/sla/ticketsla/report/": row(403, admin=200, **STAFF_ONLY),
    # The reply-to-all form of a problem proposal: those who may change proposals.
    "admin/duplicates/problemproposal/<int:pk>/reply/": row(403, admin=200, **STAFF_ONLY),
    # --- admin: live chat and phone log (agents who may change tickets) ----------------
    "admin/portal/chatconversation/live/": row(200, **STAFF_ONLY),
    "admin/portal/chatconversation/live/heartbeat/": row(200, method="POST", **STAFF_ONLY),
    "admin/portal/chatconversation/live/<int:pk>/": row(200, **STAFF_ONLY),
    "admin/portal/chatconversation/phone-log/": row(200, **STAFF_ONLY),
}


@dataclass(frozen=True)
class AdminModel:
    """What the agent and the admin may do with a model's admin pages: letters of
    ``vacd`` (view, add, change, delete); a page they may not open answers 403."""

    agent: str = ""
    admin: str = "vacd"


# Every model registered in the admin. The superuser may do all the ModelAdmin allows
# (tickets are opened by channels and never deleted; chats are opened by customers).
ADMIN_MODELS = {
    "auth.group": AdminModel(),
    "auth.user": AdminModel(),
    "tickets.account": AdminModel(agent="v"),
    "tickets.contact": AdminModel(agent="v"),
    "tickets.department": AdminModel(),
    "tickets.supportline": AdminModel(),
    "tickets.ticket": AdminModel(agent="vc", admin="vc"),
    "channels_app.inboundrecord": AdminModel(admin="vc"),
    "outbox.outgoingmail": AdminModel(admin="vc"),
    "mailboxes.mailbox": AdminModel(),
    "workspace.macro": AdminModel(),
    "sla.businesscalendar": AdminModel(),
    "sla.calendarexception": AdminModel(),
    "sla.departmentcalendar": AdminModel(),
    "sla.linecalendar": AdminModel(),
    "sla.slapolicy": AdminModel(),
    "sla.ticketsla": AdminModel(admin="vc"),
    "sla.slaalert": AdminModel(admin="vcd"),
    "duplicates.duplicateflag": AdminModel(admin="vcd"),
    "duplicates.problemproposal": AdminModel(admin="vcd"),
    "kb.category": AdminModel(),
    "kb.article": AdminModel(agent="v"),
    "portal.chatconversation": AdminModel(agent="vc", admin="vcd"),
    "portal.agentpresence": AdminModel(),
    "api.integration": AdminModel(),
    "csat.survey": AdminModel(admin="v"),  # customers answer; nobody edits an answer
    # django-axes' records of sign-ins: read and cleared, never written by hand.
    "axes.accessattempt": AdminModel(admin="vcd"),
    "axes.accesslog": AdminModel(admin="vcd"),
    "axes.accessfailurelog": AdminModel(admin="vcd"),
}
ADMIN_PAGES = {  # page: (route suffix, the letters that open it)
    "changelist": ("", "vc"),
    "add": ("add/", "a"),
    "history": ("<path:object_id>/history/", "vc"),
    "delete": ("<path:object_id>/delete/", "d"),
    "change": ("<path:object_id>/change/", "vc"),
}


def admin_rows() -> dict[str, Row]:
    rows = {}
    for label, access in ADMIN_MODELS.items():
        app_label, model = label.split(".")
        for suffix, opens in ADMIN_PAGES.values():
            agent = 200 if set(opens) & set(access.agent) else 403
            admin = 200 if set(opens) & set(access.admin) else 403
            rows[f"admin/{app_label}/{model}/{suffix}"] = row(
                302, agent=agent, admin=admin, **STAFF_ONLY
            )
        # The bare object URL redirects to its change page (or, signed out, to the login).
        rows[f"admin/{app_label}/{model}/<path:object_id>/"] = row(302)
    return rows


def all_rows() -> dict[str, tuple[Row, ...]]:
    rows = {**admin_rows(), **ROWS}
    return {route: spec if isinstance(spec, tuple) else (spec,) for route, spec in rows.items()}


def url_conf_routes() -> dict[str, URLPattern]:
    """Return every URL pattern of the URL conf by its full route."""

    def walk(resolver: URLResolver, prefix: str):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    routes = {}
    for route, pattern in walk(get_resolver(), ""):
        routes[APP_INDEX if route.startswith("admin/^(?P<app_label>") else route] = pattern
    return routes


def concrete_url(route: str, world: World) -> str:
    """Fill a route's parameters with the world's objects."""
    special = {
        APP_INDEX: "admin/tickets/",
        "admin/(?P<url>.*)$": "admin/no-such-page/",
        "anymail/^mailgun/inbound(_mime)?/$": "anymail/mailgun/inbound/",
        "admin/r/<path:content_type_id>/<path:object_id>/": (
            f"admin/r/{content_type_of(world.ticket)}/{world.ticket.pk}/"
        ),
    }
    if route in special:
        return "/" + special[route]
    values = {
        "number": world.ticket.number,
        "ticket_id": world.ticket.pk,
        "reference": world.ticket.reference,
        "attachment_id": world.attachment.pk,
        "conversation_id": world.conversation.conversation_id,
        "pk": world.saved_view.pk
        if route.startswith("desk/")
        else world.objects["duplicates.problemproposal"].pk
        if "problemproposal" in route
        else world.conversation.pk,
        "key": "mine",
        "message_id": world.message.pk,
        "flag_id": world.objects["duplicates.duplicateflag"].pk,
        # The KB's article, or a support line for the portal's line chooser.
        "slug": "reseller" if route.startswith("portal/line/") else world.article.slug,
        "language": "nl",
        "token": "not-a-sign-in-token",
        "score": 5,
        "survey_id": world.objects["csat.survey"].pk,
        "id": world.agent.pk,
    }
    if match := re.match(r"admin/(\w+)/(\w+)/", route):
        label = f"{match[1]}.{match[2]}"
        if label in ADMIN_MODELS:
            values["object_id"] = world.objects[label].pk
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), route)
    assert "<" not in url and "^" not in url, f"no sample value for {route}"
    return "/" + url


@pytest.fixture
def world(settings, departments) -> World:
    # Production's webhook auth (anymail builds every ESP's view, and checks it).
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": "esp:not-given-to-any-role",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "k",
        "MAILERSEND_INBOUND_SECRET": "k",
        "POSTAL_WEBHOOK_KEY": "k",
        "MANDRILL_WEBHOOK_KEY": "k",
        "BREVO_API_KEY": "k",
        "SENDINBLUE_API_KEY": "k",
        "MAILTRAP_API_TOKEN": "k",
        "RESEND_API_KEY": "k",
    }
    return build_world()


def test_every_url_has_a_row():
    routes, rows = set(url_conf_routes()), set(all_rows())
    assert sorted(routes - rows) == [], "URLs without a row in the permission matrix"
    assert sorted(rows - routes) == [], "rows for URLs the URL conf no longer has"


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_every_role_gets_the_expected_status_from_every_url(world):
    wrong = []
    for route, rows in all_rows().items():
        url = concrete_url(route, world)
        for spec in rows:
            for role, expected in spec.statuses.items():
                client = world.client(role, fresh=spec.method != "GET")
                response = client.generic(
                    spec.method,
                    url,
                    *(_form(spec.data) if spec.method != "GET" else ()),
                )
                if response.status_code != expected:
                    wrong.append(f"{spec.method} {url} as {role}: {response.status_code}")
                    wrong[-1] += f", expected {expected}"
    assert not wrong, f"{len(wrong)} cells differ:\n" + "\n".join(wrong)


def _form(data: dict | None) -> tuple[str, str]:
    from urllib.parse import urlencode

    return urlencode(data or {}), "application/x-www-form-urlencoded"
