"""The ticket page: conversation first, then the composer; the side panel beside it.

Changes post here with the version of the ticket the page was rendered from; a change
based on an outdated page is refused with what happened since (HTTP 409), and what the
agent typed is kept in the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from duplicates.models import DuplicateFlag, FlagStatus
from duplicates.services import flag_dismiss, flag_merge
from tickets import services
from tickets.downloads import attachment_response
from tickets.errors import InvalidInput, StaleTicket, TicketError
from tickets.models import Department, Message, Status, Ticket, format_reference
from tickets.selectors import parse_reference

from .. import (
    choices,
    composer,
    macros,
    memo,
    panel,
    presence,
    previews,
    reads,
    shell,
    ticket_html,
    timeline,
)
from ..access import (
    AgentRequest,
    access_attachment,
    access_ticket,
    access_ticket_page,
    agent_required,
)
from ..forms import FreshReply


def _version(request: HttpRequest) -> int:
    value = request.POST.get("version", "")
    if not value.isdigit():
        raise InvalidInput("version", _("The form is missing the ticket version; reload it."))
    return int(value)


# What the ticket page reads besides the ticket (reads.page_reads).
PAGE_SHAPE: dict[str, Any] = {
    "event_kinds": timeline.SHOWN_EVENTS,
    "others": panel.OTHER_TICKETS,
    "flags": panel.FLAGS,
    "follow_ups": 10,
}


def page_context(
    request: AgentRequest, ticket: Ticket, *, read: reads.PageReads | None = None, **extra: Any
) -> dict[str, Any]:
    """Return everything the ticket page renders (the same for GET and a refused POST);
    ``read``: what the page reads, when read with the ticket (``access_ticket_page``)."""
    now = timezone.now()
    shown = {int(v) for v in request.GET.getlist("images") if v.isdigit()}
    # Everything below but the presence comes from one statement (reads.page_reads).
    if read is None:
        read = reads.page_reads(ticket, **PAGE_SHAPE)
    agents, departments = read.agents, read.departments
    entries, said = timeline.conversation(
        ticket,
        remote_images_for=shown,
        known={"users": dict(agents), "departments": dict(departments)},
        read=read,
    )
    lists = read.lists
    channels = composer.reply_channels(
        ticket, said, contact_emails=lists.emails, live_chat=read.live_chat
    )
    allowed = {ticket.status} | services.TRANSITIONS.get(ticket.status, frozenset())
    context: dict[str, Any] = {
        "ticket": ticket,
        # Read with the ticket (workspace.reads.ticket_by_number / ticket_page_reads).
        "version": ticket.desk_version,  # type: ignore[attr-defined]  # set by ticket_by_number
        "entries": entries,
        "now": now,
        "others": read.others,
        "sla": panel.sla_panel_of(read.sla, ticket, now),
        "flags": read.flags,
        "addresses": {"emails": lists.emails, "phones": lists.phones},
        "follow_ups": [(n, format_reference(n)) for n in lists.follow_ups],
        "tags": lists.tags,
        "agents": agents,
        "departments": departments,
        "statuses": choices.status_choices(allowed),
        "severities": choices.severity_choices(),
        "live": ticket.status not in (Status.MERGED, Status.CLOSED),
        "channels": channels,
        "macros": macros.for_ticket(ticket, request.agent_profile, read.macros),
        # The messages' HTML fragments are memoized for this agent (message_html.py).
        "fragments_for": request.user.pk,
        **extra,
    }
    if "viewers" not in context:
        context["viewers"] = presence.others(ticket.pk, request.user.pk)
    if "reply_form" not in context:
        # The form itself only where it holds what was posted (a refused or failed answer).
        context["reply_form"] = FreshReply(
            ticket=ticket, profile=request.agent_profile, channels=channels
        )
    return context


def page_response(
    request: AgentRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The ticket page: its body written in Python (workspace/ticket_html.py) inside the
    workspace's frame, which is rendered by the template engine once per agent and
    language and kept (workspace/shell.py; the key names the principal, as the list
    page's does, and everything else the frame shows)."""
    user = request.user
    key = (
        "ticket-frame",
        user.pk,
        get_language(),
        user.get_full_name(),
        user.get_username(),
        user.has_perm("reports.view_dashboard"),
    )
    parts = shell.shell(key, request, "workspace/ticket/frame.html", {})
    values = shell.common_values(request)
    ticket = context["ticket"]
    body = ticket_html.page_html(
        {**context, "csrf_token": values["csrf_token"]}, request.agent_zone.key
    )
    values["title_html"] = ticket_html.title_html(ticket)
    values["body_html"] = body
    return HttpResponse(shell.fill(parts, values), status=status)


@require_GET
@agent_required
def ticket_page(request: AgentRequest, number: int) -> HttpResponse:
    # The ticket and all its page reads: one statement.
    ticket, read = access_ticket_page(request, number, **PAGE_SHAPE)
    viewers = presence.visit(ticket.pk, request.user, typing=False)  # one Redis round trip
    # The agent's language, zone and the URL prefix read once for the whole page.
    with memo.page_scope():
        return page_response(request, page_context(request, ticket, read=read, viewers=viewers))


@require_GET
@agent_required
def ticket_message(request: AgentRequest, number: int, message_id: int) -> HttpResponse:
    """One message again (htmx), e.g. with its remote images shown on request."""
    ticket = access_ticket(request, number)
    message = Message.objects.filter(pk=message_id, ticket=ticket).first()
    if message is None:
        raise Http404("No such message on this ticket.")
    entry = timeline.message_entry(message, allow_remote=request.GET.get("images") == "1")
    return render(
        request, "workspace/ticket/_message.html", {"entry": entry, "ticket": ticket, "live": True}
    )


def refused(request: AgentRequest, ticket: Ticket, exc: StaleTicket, **extra: Any) -> HttpResponse:
    """The page again, with what changed since the agent's version and their input kept."""
    with memo.page_scope():
        news = timeline.event_news(exc.events)
        context = page_context(request, ticket, stale_news=news, stale_message=exc.message, **extra)
        return page_response(request, context, status=409)


def _change(
    request: AgentRequest,
    number: int,
    act: Callable[[Ticket], str],
    *,
    check_version: bool = True,
) -> HttpResponse:
    """Run ``act`` (service calls) on the ticket in one transaction, after checking the
    page's version; go back to the ticket with its outcome."""
    ticket = access_ticket(request, number)
    try:
        with transaction.atomic():
            if check_version:
                services.ticket_version_check(ticket=ticket, version=_version(request))
            done = act(ticket)
    except StaleTicket as exc:
        return refused(request, access_ticket(request, number), exc)
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        if done:
            messages.success(request, done)
    return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))


@require_POST
@agent_required(change=True)
def ticket_update(request: AgentRequest, number: int) -> HttpResponse:
    """Status, assignee, department, severity and tags from the side panel."""

    def act(ticket: Ticket) -> str:
        return apply_fields(request, ticket, request.POST)

    return _change(request, number, act)


def apply_fields(request: AgentRequest, ticket: Ticket, data: Any) -> str:
    """Apply the ticket fields posted (only those that differ), each through its service."""
    actor = request.user
    changed = []
    ticket = Ticket.objects.get(pk=ticket.pk)
    if (value := data.get("department")) and value.isdigit() and int(value) != ticket.department_id:
        department = Department.objects.filter(pk=int(value)).first()
        if department is None:
            raise InvalidInput("department", _("Choose a department."))
        ticket = services.ticket_department_set(ticket=ticket, department=department, actor=actor)
        changed.append(_("department"))
    if (value := data.get("severity")) and value.isdigit() and int(value) != ticket.severity:
        ticket = services.ticket_severity_set(ticket=ticket, severity=int(value), actor=actor)
        changed.append(_("severity"))
    if "assignee" in data:
        value = data.get("assignee") or ""
        wanted = actor.pk if value == "me" else int(value) if value.isdigit() else None
        if wanted != ticket.assignee_id:
            assignee = get_user_model().objects.filter(pk=wanted).first() if wanted else None
            ticket = services.ticket_assign(ticket=ticket, assignee=assignee, actor=actor)
            changed.append(_("assignee"))
    if "tags" in data:
        wanted_tags = set(composer.parse_tags(data.get("tags", "")))
        current = set(ticket.tags.values_list("name", flat=True))
        if wanted_tags != current:
            services.ticket_tags_set(
                ticket=ticket, add=wanted_tags - current, remove=current - wanted_tags, actor=actor
            )
            changed.append(_("tags"))
    if (value := data.get("status")) and value != ticket.status:
        services.ticket_status_set(ticket=ticket, status=value, actor=actor)
        changed.append(_("status"))
    if not changed:
        return _("Nothing to change.")
    return _("Saved: %(fields)s.") % {"fields": ", ".join(changed)}


@require_POST
@agent_required(change=True)
def ticket_verify(request: AgentRequest, number: int) -> HttpResponse:
    def act(ticket: Ticket) -> str:
        done = services.ticket_sender_verify(ticket=ticket, actor=request.user)
        return _("%(contact)s is now a verified contact of %(account)s.") % {
            "contact": done.contact,
            "account": done.account,
        }

    return _change(request, number, act)


@require_POST
@agent_required(change=True)
def ticket_unmerge(request: AgentRequest, number: int) -> HttpResponse:
    def act(ticket: Ticket) -> str:
        services.ticket_unmerge(
            ticket=ticket, actor=request.user, reason=request.POST.get("reason", "")[:500]
        )
        return _("%(ticket)s is un-merged: its messages are back on it.") % {
            "ticket": ticket.reference
        }

    return _change(request, number, act, check_version=False)


@require_POST
@agent_required(change=True)
def ticket_split(request: AgentRequest, number: int, message_id: int) -> HttpResponse:
    ticket = access_ticket(request, number)
    message = Message.objects.filter(pk=message_id, ticket=ticket).first()
    if message is None:
        raise Http404("No such message on this ticket.")
    try:
        with transaction.atomic():
            services.ticket_version_check(ticket=ticket, version=_version(request))
            new = services.ticket_split(
                message=message, actor=request.user, subject=request.POST.get("subject", "")
            )
    except StaleTicket as exc:
        return refused(request, access_ticket(request, number), exc)
    except TicketError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))
    messages.success(
        request,
        _("The message is now %(new)s, linked to %(old)s.")
        % {"new": new.reference, "old": ticket.reference},
    )
    return HttpResponseRedirect(reverse("workspace:ticket", args=[new.number]))


@agent_required(change=True)
def ticket_merge(request: AgentRequest, number: int) -> HttpResponse:
    """Merge this ticket into another one (or another one into this): a confirmation page
    first, which says so loudly when the two belong to different accounts."""
    ticket = access_ticket(request, number)
    other_number = parse_reference(request.POST.get("other") or request.GET.get("other", ""))
    other = access_ticket(request, other_number) if other_number else None
    if other is None or other.pk == ticket.pk:
        messages.error(request, _("Type the number of the other ticket, e.g. SD-100001."))
        return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))
    into_other = (request.POST.get("direction") or request.GET.get("direction")) != "into_this"
    source, target = (ticket, other) if into_other else (other, ticket)
    across = source.account_id != target.account_id
    if (
        request.method != "POST"
        or "confirm" not in request.POST
        or (across and request.POST.get("confirm_accounts") != "1")
    ):
        return render(
            request,
            "workspace/ticket/merge_confirm.html",
            {
                "ticket": ticket,
                "source": source,
                "target": target,
                "across": across,
                "direction": "into_other" if into_other else "into_this",
                "version": services.ticket_version(ticket.pk),
                "missing_confirmation": request.method == "POST" and across,
            },
        )

    def act(current: Ticket) -> str:
        services.ticket_merge(
            source=source, target=target, actor=request.user, confirm_cross_account=across
        )
        DuplicateFlag.objects.filter(
            ticket_id__in=[source.pk, target.pk],
            candidate_id__in=[source.pk, target.pk],
            status=FlagStatus.SUGGESTED,
        ).update(status=FlagStatus.MERGED, updated_at=timezone.now())
        return _("%(source)s is merged into %(target)s.") % {
            "source": source.reference,
            "target": target.reference,
        }

    response = _change(request, number, act)
    if (
        response.status_code == 302
        and Ticket.objects.filter(pk=source.pk, merged_into=target.pk).exists()
    ):
        return HttpResponseRedirect(reverse("workspace:ticket", args=[target.number]))
    return response


@require_POST
@agent_required(change=True)
def flag_action(request: AgentRequest, number: int, flag_id: int) -> HttpResponse:
    """Merge or dismiss a duplicate flag naming this ticket (one click)."""
    ticket = access_ticket(request, number)
    flag = DuplicateFlag.objects.select_related("ticket", "candidate").filter(pk=flag_id).first()
    if flag is None or ticket.pk not in (flag.ticket_id, flag.candidate_id):
        raise Http404("No such flag on this ticket.")
    action = request.POST.get("action")

    def act(current: Ticket) -> str:
        if action == "dismiss":
            flag_dismiss(flag=flag, actor=request.user)
            return _("Not a duplicate: the flag is dismissed.")
        if (
            flag.ticket.account_id != flag.candidate.account_id
            and request.POST.get("confirm_accounts") != "1"
        ):
            raise InvalidInput(
                "confirm",
                _("These tickets belong to different accounts: use Merge… to confirm that."),
            )
        flag_merge(
            flag=flag,
            actor=request.user,
            confirm_cross_account=request.POST.get("confirm_accounts") == "1",
        )
        return _("%(source)s is merged into %(target)s.") % {
            "source": flag.ticket.reference,
            "target": flag.candidate.reference,
        }

    response = _change(request, number, act)
    if action != "dismiss" and response.status_code == 302 and flag.ticket_id == ticket.pk:
        merged = Ticket.objects.get(pk=ticket.pk)
        if merged.merged_into is not None:
            return HttpResponseRedirect(
                reverse("workspace:ticket", args=[merged.merged_into.number])
            )
    return response


# --- attachments --------------------------------------------------------------------------


@require_GET
@agent_required
def attachment_download(request: AgentRequest, attachment_id: int) -> HttpResponseBase:
    attachment = access_attachment(request, attachment_id)
    return attachment_response(attachment)  # a download, never rendered


@require_GET
@agent_required
def attachment_inline(request: AgentRequest, attachment_id: int) -> HttpResponse:
    """An image attachment (or ``cid:`` inline image) shown in the page."""
    attachment = access_attachment(request, attachment_id)
    found = previews.image_bytes(attachment)
    if found is None:
        raise Http404("Not an image that can be shown; download it instead.")
    data, content_type = found
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@agent_required
def attachment_preview(request: AgentRequest, attachment_id: int) -> HttpResponse:
    """A text attachment shown escaped, or a PDF's first page as an image."""
    attachment = access_attachment(request, attachment_id)
    found = previews.kind(attachment)
    if found == "pdf" and request.GET.get("png") == "1":
        png = previews.pdf_first_page_png(attachment)
        if png is None:
            raise Http404("This PDF cannot be previewed; download it instead.")
        response = HttpResponse(png, content_type="image/png")
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
    context: dict[str, Any] = {
        "attachment": attachment,
        "kind": found,
        "ticket": attachment.message.ticket,
    }
    if found == "text":
        context["text"], context["cut"] = previews.text_preview(attachment)
    elif found == "pdf":
        context["pdf_png_url"] = (
            reverse("workspace:attachment_preview", args=[attachment.pk]) + "?png=1"
        )
    else:
        raise Http404("No preview for this file; download it instead.")
    return render(request, "workspace/ticket/preview.html", context)
