"""Fill a PostgreSQL database with a busy desk for bench/desk.py: 1,000,000 tickets and
about 5,000,000 messages, in bulk SQL (INSERT … SELECT generate_series), never row by row.

Every table is filled by copying one template row made through the services (so columns
other apps add later get their defaults) with SQL expressions for what differs. A spec
table (``bench_desk_spec``, one row per ticket) holds each ticket's pseudo-random traits,
drawn with ``hashint4`` so every fill is the same:

* 20,000 reseller accounts, one verified owner each; 50 agents;
* tickets over ~2 years (one every 63 s), the newest 150,000 two-thirds unsolved
  (~100,000: new, open, pending customer, on hold), the rest solved or closed;
* 1–9 messages a ticket (mean 5), in time order across tickets: the customer's on the
  ticket's channel, replies on the channel a reply goes out on, internal notes, chat
  lines; inbound mail with HTML, a Message-ID and, one in twenty, an attachment;
* events as the services record them (created, one per message, assigned, status);
* SLA clocks: a running first-response target due between 6 h ago and 5 days ahead
  (at-risk windows of 12 min, 1.6 h or 4.8 h), paused while waiting, met when solved;
  an alert per breach and risk; 2% of unsolved tickets flagged as possible duplicates;
  10% tagged; the workspace's read model rows (``TicketRow``) for every ticket.

``rows_check`` then rebuilds a sample of read-model rows with ``workspace.rows`` and
compares: the SQL fill and the receivers must agree, or the bench measures a fiction.
"""

from __future__ import annotations

import random
import time as clock
from typing import Any

TICKETS = 1_000_000
ACCOUNTS = 20_000
AGENTS = 50
RECENT = 150_000  # the newest tickets, two-thirds of them unsolved
FIRST_NUMBER = 500_000_000  # far from the live counter
TAGS = ("vip", "refund", "outage", "dns", "billing")
SUBJECTS = (
    "Cannot log in to the control panel",
    "Invoice shows the wrong VAT number",
    "Domain transfer stuck",
    "Mailbox over quota",
    "SSL certificate not renewed",
    "Refund for a cancelled order",
    "DNS changes not visible",
    "Server unreachable since this morning",
)
BODY = (
    "Hello support, we have a problem with one of our customers' services and need help. "
    "It started this morning after the maintenance window; the panel shows no error, but "
    "the customer cannot reach the service and asks for an update every hour. We tried "
    "the usual steps from the knowledge base without luck. Kind regards, reseller support."
)


def scale(tickets: int) -> None:
    """Fill ``tickets`` instead (accounts and unsolved tickets in proportion): a quick try."""
    global TICKETS, ACCOUNTS, RECENT
    TICKETS, ACCOUNTS, RECENT = tickets, max(tickets // 50, 10), tickets * 15 // 100


def h(salt: int, mod: int) -> str:
    """SQL for a stable pseudo-random integer in [0, mod) per spec row ``g``."""
    return f"(abs(hashint4(g * 16 + {salt})::bigint) % {mod})"


def copy_rows(model: Any, template_pk: int, overrides: dict[str, str], source: str) -> str:
    """Return INSERT … SELECT copying the template row once per row of ``source`` (an SQL
    FROM item aliased ``s``), with SQL ``overrides`` per column (the primary key too)."""
    table = model._meta.db_table
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in overrides:
            continue
        columns.append(f'"{field.column}"')
        values.append(overrides.get(field.column, f't."{field.column}"'))
    unknown = set(overrides) - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
    # Bench-only SQL from model metadata and constants, never from input.
    return (
        f'INSERT INTO "{table}" ({", ".join(columns)}) '  # noqa: S608
        f'SELECT {", ".join(values)} FROM "{table}" t, {source} '
        f'WHERE t."{model._meta.pk.column}" = {template_pk}'
    )


def filled() -> bool:
    from tickets.models import Ticket

    return Ticket.objects.filter(number__gt=FIRST_NUMBER).count() == TICKETS


def fill() -> dict[str, Any]:
    """Empty the desk's tables and fill them; return the seconds each step took."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db import connection
    from django.utils import timezone

    from supportdesk.celery import app
    from tickets.models import Account, Contact, ContactEmail, Department, Tag
    from tickets.services import MessageIn, ticket_assign, ticket_open
    from workspace.models import AgentProfile, SavedView

    steps: dict[str, float] = {}
    began = clock.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE tickets_ticket, tickets_account, tickets_contact, tickets_contactemail, "
            "channels_app_inboundrecord, tickets_tag, workspace_savedview, workspace_ticketrowtag "
            "RESTART IDENTITY CASCADE"
        )
        cur.execute("DROP TABLE IF EXISTS bench_desk_spec")
    group, _ = Group.objects.get_or_create(name="Bench agents")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="tickets", codename__in=["view_ticket", "change_ticket"]
        )
    )
    users = get_user_model()
    agents = []
    for i in range(AGENTS):
        agent, _ = users.objects.get_or_create(
            username=f"bench-agent-{i:02d}",
            defaults={"is_staff": True, "first_name": f"Agent {i:02d}", "last_name": "Bench"},
        )
        agent.groups.add(group)
        AgentProfile.objects.get_or_create(
            user=agent,
            defaults={
                "time_zone": "Europe/Moscow" if i % 2 else "Europe/Amsterdam",
                "language": "ru" if i % 5 == 4 else "en",
            },
        )
        agents.append(agent.pk)
    tags = [Tag.objects.create(name=name).pk for name in TAGS]
    departments = [
        Department.objects.get(slug=s).pk
        for s in ("customer-support", "technical-support", "legal-abuse")
    ]
    # Template rows through the services (the SLA recompute runs inline).
    app.conf.task_always_eager = True
    account = Account.objects.create(name="template", reseller_id="TEMPLATE")
    contact = Contact.objects.create(account=account, name="template", role="owner")
    email = ContactEmail.objects.create(contact=contact, email="t@template.example")
    opened = ticket_open(
        subject="template",
        department=Department.objects.get(pk=departments[0]),
        contact=contact,
        message=MessageIn(channel="email", body_text="template", author_contact=contact),
    )
    ticket_assign(ticket=opened.ticket, assignee=users.objects.get(pk=agents[0]))
    app.conf.task_always_eager = False
    template = {"ticket": opened.ticket.pk, "message": opened.message.pk}
    steps["templates"] = clock.perf_counter() - began

    with connection.cursor() as cur:
        cur.execute("SET work_mem = '256MB'")
        # Whole seconds: the SLA explanation keeps its moments to the second.
        now = f"'{timezone.now().replace(microsecond=0).isoformat()}'::timestamptz"

        def run(step: str, sql: str) -> None:
            started = clock.perf_counter()
            cur.execute(sql.replace("%(now)s", now))
            steps[step] = clock.perf_counter() - started

        run("spec", _spec_sql(opened.ticket.pk, agents, departments, tags))
        run(
            "accounts",
            copy_rows(
                Account,
                account.pk,
                {
                    "id": f"{account.pk} + a",
                    "name": "'Reseller ' || lpad(a::text, 5, '0')",
                    "reseller_id": "'R' || lpad(a::text, 5, '0')",
                    "tier": "(ARRAY['standard','standard','basic','premium'])[1 + a % 4]",
                },
                f"generate_series(1, {ACCOUNTS}) a",
            ),
        )
        run(
            "contacts",
            copy_rows(
                Contact,
                contact.pk,
                {
                    "id": f"{contact.pk} + a",
                    "account_id": f"{account.pk} + a",
                    "name": "'Owner ' || a",
                    "verified_at": "%(now)s - interval '400 days'",
                },
                f"generate_series(1, {ACCOUNTS}) a",
            ),
        )
        run(
            "contact emails",
            copy_rows(
                ContactEmail,
                email.pk,
                {
                    "contact_id": f"{contact.pk} + a",
                    "email": "'owner' || a || '@reseller' || a || '.example'",
                    "is_primary": "true",
                },
                f"generate_series(1, {ACCOUNTS}) a",
            ),
        )
        _fill_tickets(run, template, contact.pk, account.pk, agents[0])
        for table in ("tickets_ticket", "tickets_account", "tickets_contact"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
    _saved_views(agents[0], SavedView)
    # The templates go (the ORM cascades to their messages, events, clocks and row).
    from tickets.models import Ticket

    Ticket.objects.filter(pk=template["ticket"]).delete()
    ContactEmail.objects.filter(pk=email.pk).delete()
    Contact.objects.filter(pk=contact.pk).delete()
    Account.objects.filter(pk=account.pk).delete()
    started = clock.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    steps["vacuum analyze"] = clock.perf_counter() - started
    steps["total"] = clock.perf_counter() - began
    return {k: round(v, 1) for k, v in steps.items()}


def _spec_sql(base: int, agents: list[int], departments: list[int], tags: list[int]) -> str:
    """Return the spec table's CREATE; ticket ids run from ``base`` + 1, oldest first."""
    agent_array = f"ARRAY[{', '.join(map(str, agents))}]"
    dept_array = f"ARRAY[{', '.join(map(str, departments))}]"
    unsolved = f"(g < {RECENT} AND {h(0, 1000)} < 667)"
    # Bench-only SQL from constants and ids, never from input.
    return f"""
    CREATE UNLOGGED TABLE bench_desk_spec AS
    SELECT g, id, created_at, status, unsolved, channel, severity, department_id,
        contact_n, assignee_id, k, needs_verification, due, risk_at, flagged, tag_id,
        status IN ('new', 'open') AS running,
        created_at + (k - 1) * step AS last_at, step
    FROM (
        SELECT g, {base + TICKETS} - g AS id,
            %(now)s - g * interval '63 seconds' AS created_at,
            {unsolved} AS unsolved,
            CASE WHEN {unsolved} THEN
                (CASE WHEN {h(1, 100)} < 25 THEN 'new' WHEN {h(1, 100)} < 70 THEN 'open'
                      WHEN {h(1, 100)} < 90 THEN 'pending_customer' ELSE 'on_hold' END)
                WHEN g < 30000 THEN 'solved' ELSE 'closed' END AS status,
            CASE WHEN {h(2, 100)} < 55 THEN 'email' WHEN {h(2, 100)} < 75 THEN 'portal'
                 WHEN {h(2, 100)} < 90 THEN 'chat' ELSE 'phone' END AS channel,
            CASE WHEN {h(3, 100)} < 3 THEN 1 WHEN {h(3, 100)} < 20 THEN 2
                 WHEN {h(3, 100)} < 80 THEN 3 ELSE 4 END AS severity,
            ({dept_array})[CASE WHEN {h(4, 100)} < 70 THEN 1 WHEN {h(4, 100)} < 95 THEN 2
                              ELSE 3 END] AS department_id,
            1 + {h(5, ACCOUNTS)} AS contact_n,
            CASE WHEN {unsolved} AND {h(6, 1000)} < 300 THEN NULL
                 ELSE ({agent_array})[1 + {h(6, 1000)} % {AGENTS}] END AS assignee_id,
            1 + {h(7, 9)} AS k,
            {unsolved} AND {h(0, 1000)} < 20 AS needs_verification,
            %(now)s + ({h(8, 7560)} - 360) * interval '1 minute' AS due,
            %(now)s + ({h(8, 7560)} - 360) * interval '1 minute'
                - (ARRAY[12, 96, 288])[1 + {h(9, 3)}] * interval '1 minute' AS risk_at,
            {unsolved} AND {h(10, 1000)} < 20 AS flagged,
            CASE WHEN {unsolved} AND {h(11, 100)} < 10
                 THEN (ARRAY[{", ".join(map(str, tags))}])[1 + {h(12, len(tags))}]
            END AS tag_id,
            -- messages come 17 minutes apart, closer for the newest tickets (never ahead)
            LEAST(interval '17 minutes', (g * 63 / 10 + 1) * interval '1 second') AS step
        FROM generate_series(0, {TICKETS - 1}) g
    ) x
    """  # noqa: S608


def _fill_tickets(
    run: Any, template: dict[str, int], contact0: int, account0: int, agent0: int
) -> None:
    from duplicates.models import DuplicateFlag
    from sla.models import SlaAlert, TicketSla
    from tickets.models import Attachment, Message, Ticket, TicketEvent
    from workspace.models import TicketRow, TicketRowTag

    subjects = "ARRAY[" + ", ".join(f"'{s}'" for s in SUBJECTS) + "]"
    run(
        "tickets",
        copy_rows(
            Ticket,
            template["ticket"],
            {
                "id": "s.id",
                "number": f"{FIRST_NUMBER} + s.id",
                "subject": f"({subjects})[1 + s.id % {len(SUBJECTS)}] || ' (' || s.id || ')'",
                "status": "s.status",
                "severity": "s.severity",
                "department_id": "s.department_id",
                "assignee_id": "s.assignee_id",
                "account_id": f"{account0} + s.contact_n",
                "contact_id": f"{contact0} + s.contact_n",
                "origin_channel": "s.channel",
                "needs_verification": "s.needs_verification",
                "created_at": "s.created_at",
                "updated_at": "s.last_at",
                "solved_at": "CASE WHEN s.status = 'solved' THEN s.last_at END",
                "closed_at": "CASE WHEN s.status = 'closed' THEN s.last_at END",
            },
            "(SELECT * FROM bench_desk_spec ORDER BY id) s",
        ),
    )
    # One row per message: which channel and direction the j-th message of a ticket has.
    messages = """(
        SELECT s.*, j, s.created_at + j * s.step AS at,
            CASE WHEN s.channel = 'chat' THEN 'chat'
                 WHEN j % 4 = 3 THEN 'note'
                 WHEN j = 0 THEN s.channel
                 WHEN j % 2 = 1
                     THEN (CASE s.channel WHEN 'portal' THEN 'portal' ELSE 'email' END)
                 ELSE (CASE s.channel WHEN 'phone' THEN 'email' ELSE s.channel END)
            END AS m_channel,
            CASE WHEN s.channel <> 'chat' AND j % 4 = 3 THEN 'internal'
                 WHEN j % 2 = 0 THEN 'inbound' ELSE 'outbound' END AS m_direction
        FROM bench_desk_spec s JOIN generate_series(0, 8) j ON j < s.k
        ORDER BY at, s.id
    ) s"""
    body = BODY.replace("'", "''")
    run(
        "messages",
        copy_rows(
            Message,
            template["message"],
            {
                "ticket_id": "s.id",
                "channel": "s.m_channel",
                "direction": "s.m_direction",
                "author_contact_id": f"CASE WHEN s.m_direction = 'inbound' "
                f"THEN {contact0} + s.contact_n END",
                "author_user_id": "CASE WHEN s.m_direction <> 'inbound' "
                f"THEN COALESCE(s.assignee_id, {agent0}) END",
                "body_text": f"CASE WHEN s.m_channel = 'chat' THEN 'Chat line ' || s.j || "
                f"' about ticket ' || s.id ELSE 'Message ' || s.j || ' of ticket ' || s.id "
                f"|| '. ' || '{body}' END",
                "body_html": "CASE WHEN s.m_channel = 'email' AND s.m_direction = 'inbound' "
                f"THEN '<p>Message ' || s.j || ' of ticket ' || s.id || '.</p><p>{body}</p>"
                "<blockquote><p>On an earlier day support wrote: we are looking into it."
                "</p></blockquote>' ELSE '' END",
                "occurred_at": "s.at",
                "received_at": "s.at",
                "external_id": "CASE WHEN s.m_channel = 'email' AND s.m_direction = 'inbound' "
                "THEN '<' || s.id || '.' || s.j || '@mail.reseller.example>' END",
            },
            messages,
        ),
    )
    run(
        "attachments",
        """INSERT INTO tickets_attachment (message_id, file, filename, content_type, size,
            sha256, content_id, is_inline)
        SELECT id, 'attachments/00/bench/screenshot.png', 'screenshot-' || id || '.png',
            'image/png', 48213, repeat('0', 64), '', false
        FROM tickets_message
        WHERE channel = 'email' AND direction = 'inbound' AND id % 20 = 0""",
    )
    assert Attachment._meta.db_table == "tickets_attachment"
    _fill_events(run, TicketEvent, template["ticket"])
    _fill_sla(run, TicketSla, SlaAlert, template["ticket"])
    run(
        "duplicate flags",
        f"""INSERT INTO {DuplicateFlag._meta.db_table} (ticket_id, candidate_id, score, reasons,
            status, auto_merged, created_at, updated_at)
        SELECT s.id, c.id, 0.8, '["same contact", "similar subject"]'::jsonb, 'suggested',
            false, s.created_at, s.created_at
        FROM bench_desk_spec s
        CROSS JOIN LATERAL (SELECT max(t.id) AS id FROM tickets_ticket t
            WHERE t.contact_id = {contact0} + s.contact_n AND t.id < s.id) c
        WHERE s.flagged AND c.id IS NOT NULL""",  # noqa: S608
    )
    run(
        "tags",
        f"""INSERT INTO {Ticket.tags.through._meta.db_table} (ticket_id, tag_id)
        SELECT id, tag_id FROM bench_desk_spec WHERE tag_id IS NOT NULL""",  # noqa: S608
    )
    run(
        "workspace rows",
        copy_rows(
            TicketRow,
            template["ticket"],
            {
                "ticket_id": "s.id",
                "number": "x.number",
                "subject": "x.subject",
                "status": "s.status",
                "unsolved": "s.unsolved",
                "severity": "s.severity",
                "department_id": "s.department_id",
                "assignee_id": "s.assignee_id",
                "account_id": "x.account_id",
                "contact_id": "x.contact_id",
                "origin_channel": "s.channel",
                "needs_verification": "s.needs_verification",
                "sla_due": "CASE WHEN s.running THEN s.due END",
                "sla_risk_at": "CASE WHEN s.running THEN s.risk_at END",
                "sla_risk_reached": "s.running AND s.risk_at <= %(now)s",
                "possible_duplicate": "s.unsolved AND EXISTS (SELECT 1 FROM "  # noqa: S608
                f"{DuplicateFlag._meta.db_table} f WHERE f.ticket_id = s.id "
                "AND f.status = 'suggested')",
                "due_sort": "CASE WHEN s.running THEN s.due ELSE '9999-12-31T00:00:00Z' END",
                "last_activity_at": "s.last_at",
                "created_at": "s.created_at",
            },
            "bench_desk_spec s JOIN tickets_ticket x ON x.id = s.id",
        ),
    )
    run(
        "workspace row tags",
        f"""INSERT INTO {TicketRowTag._meta.db_table} (ticket_id, tag_id, due_sort)
        SELECT s.id, s.tag_id, CASE WHEN s.running THEN s.due ELSE '9999-12-31T00:00:00Z' END
        FROM bench_desk_spec s WHERE s.tag_id IS NOT NULL AND s.unsolved""",  # noqa: S608
    )


def _fill_events(run: Any, model: Any, template_ticket: int) -> None:
    from tickets.models import TicketEvent

    created = TicketEvent.objects.filter(ticket_id=template_ticket, kind="created").first()
    assert created is not None
    run(
        "events: created",
        copy_rows(
            model,
            created.pk,
            {
                "ticket_id": "s.id",
                "kind": "'created'",
                "data": "'{}'::jsonb",
                "actor_id": "NULL",
                "created_at": "s.created_at",
            },
            "(SELECT * FROM bench_desk_spec ORDER BY id) s",
        ),
    )
    run(
        "events: messages",
        copy_rows(
            model,
            created.pk,
            {
                "ticket_id": "s.ticket_id",
                "kind": "'message_added'",
                "actor_id": "s.author_user_id",
                "data": "jsonb_build_object('message', s.id, 'channel', s.channel, "
                "'direction', s.direction)",
                "created_at": "s.received_at",
            },
            f"(SELECT * FROM tickets_message WHERE ticket_id <> {template_ticket} "  # noqa: S608
            "ORDER BY id) s",
        ),
    )
    run(
        "events: assigned, status",
        copy_rows(
            model,
            created.pk,
            {
                "ticket_id": "s.id",
                "kind": "s.kind",
                "actor_id": "s.assignee_id",
                "data": "CASE s.kind WHEN 'assigned' THEN jsonb_build_object('assignee', "
                "s.assignee_id, 'previous', NULL) ELSE jsonb_build_object('status', s.status, "
                "'previous', 'new', 'reason', '') END",
                "created_at": "s.created_at + s.after",
            },
            "(SELECT s.*, e.kind, e.after FROM bench_desk_spec s, (VALUES ('assigned', "
            "interval '5 minutes'), ('status_changed', interval '20 minutes')) e(kind, after) "
            "WHERE (e.kind = 'assigned' AND s.assignee_id IS NOT NULL) OR "
            "(e.kind = 'status_changed' AND s.status <> 'new') ORDER BY s.created_at + e.after) s",
        ),
    )


def _iso(column: str) -> str:
    return f"""to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""


def _fill_sla(run: Any, model: Any, alerts: Any, template_ticket: int) -> None:
    state = "CASE WHEN s.running THEN 'running' WHEN s.unsolved THEN 'paused' ELSE 'met' END"
    explanation = (
        "jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(t.explanation, "
        f"'{{targets,first_response,due}}', to_jsonb({_iso('s.due')})), "
        f"'{{targets,first_response,risk_at}}', to_jsonb({_iso('s.risk_at')})), "
        f"'{{targets,first_response,state}}', to_jsonb({state})), "
        f"'{{targets,first_response,started_at}}', to_jsonb({_iso('s.created_at')})), "
        "'{targets,first_response,met_at}', CASE WHEN s.unsolved THEN 'null'::jsonb "
        f"ELSE to_jsonb({_iso('s.created_at + s.step')}) END)"
    )
    run(
        "sla clocks",
        copy_rows(
            model,
            template_ticket,
            {
                "ticket_id": "s.id",
                "started_at": "s.created_at",
                "first_response_due": "s.due",
                "first_response_at": "CASE WHEN s.unsolved THEN NULL "
                "ELSE s.created_at + s.step END",
                "first_response_state": state,
                "paused": "s.unsolved AND NOT s.running",
                "first_response_breached": "s.running AND s.due <= %(now)s",
                "breached_at": "CASE WHEN s.running AND s.due <= %(now)s THEN s.due END",
                "next_check_at": "CASE WHEN NOT s.running THEN NULL WHEN s.risk_at > %(now)s "
                "THEN s.risk_at WHEN s.due > %(now)s THEN s.due END",
                "explanation": explanation,
                "computed_at": "%(now)s",
            },
            "(SELECT * FROM bench_desk_spec ORDER BY id) s",
        ),
    )
    run(
        "sla alerts",
        f"""INSERT INTO {alerts._meta.db_table} (ticket_id, target, kind, due_at, created_at,
            notified)
        SELECT s.id, 'first_response', a.kind, s.due, a.at, '[]'::jsonb
        FROM bench_desk_spec s, LATERAL (VALUES ('at_risk', s.risk_at), ('breached', s.due))
            a(kind, at)
        WHERE s.running AND a.at <= %(now)s""",  # noqa: S608
    )


def _saved_views(owner_id: int, model: Any) -> None:
    """Two views of the agent's own and two shared ones, as a team would keep."""
    model.objects.bulk_create(
        [
            model(
                name="My S1/S2 mail",
                owner_id=owner_id,
                filters={"severities": [1, 2], "channels": ["email"]},
            ),
            model(
                name="VIP",
                owner_id=owner_id,
                filters={"tags": ["vip"]},
                columns=["due", "customer", "account", "tags"],
            ),
            model(
                name="Chats waiting",
                owner_id=owner_id,
                shared=True,
                filters={"channels": ["chat"], "statuses": ["new", "open"]},
            ),
            model(name="Technical S1", owner_id=owner_id, shared=True, filters={"severities": [1]}),
        ]
    )


def rows_check(sample: int = 2000) -> int:
    """Rebuild ``sample`` random tickets' rows with workspace.rows; return how many
    differed from what the SQL fill wrote (0, or the bench stops)."""
    from django.forms.models import model_to_dict

    from tickets.models import Ticket
    from workspace.models import TicketRow, TicketRowTag
    from workspace.rows import rows_refresh, rows_tick

    rows_tick()  # what the minute beat does: at-risk moments passed since the fill

    rng = random.Random(13)
    bench = Ticket.objects.filter(number__gt=FIRST_NUMBER).order_by("pk")
    first, last = bench.first().pk, bench.last().pk
    ids = sorted(rng.sample(range(first, last + 1), sample))
    before = {r.pk: model_to_dict(r) for r in TicketRow.objects.filter(ticket_id__in=ids)}
    tags = TicketRowTag.objects.filter(ticket_id__in=ids).values_list
    tags_before = set(tags("ticket_id", "tag_id", "due_sort"))
    rows_refresh(ids)
    after = {r.pk: model_to_dict(r) for r in TicketRow.objects.filter(ticket_id__in=ids)}
    tags_after = set(tags("ticket_id", "tag_id", "due_sort"))
    return sum(1 for pk in ids if before.get(pk) != after.get(pk)) + len(tags_before ^ tags_after)
