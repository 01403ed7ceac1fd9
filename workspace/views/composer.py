"""The composer (answers, notes, macros), presence, and tickets agents open themselves."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import services
from tickets.errors import InvalidInput, StaleTicket, TicketError
from tickets.models import Channel, Contact, Direction
from tickets.selectors import contacts_by_email, contacts_by_phone

from .. import composer, macros, notify, presence
from ..access import AgentRequest, access_ticket, agent_required
from ..forms import NewTicketForm, NoteForm, ReplyForm
from ..models import Macro
from .ticket import _version, apply_fields, page_context, page_response, refused


@require_POST
@agent_required(change=True)
def reply(request: AgentRequest, number: int) -> HttpResponse:
    """Send the answer on the chosen channel, then apply "and set status", the macro's
    assignee and tags, all in one transaction checked against the page's version."""
    ticket = access_ticket(request, number)
    form = ReplyForm(request.POST, request.FILES, ticket=ticket, profile=request.agent_profile)
    if not form.is_valid():
        context = page_context(request, ticket, reply_form=form)
        return page_response(request, context, status=400)
    data = form.cleaned_data
    body = data["body"]
    if data["signature"] and data["channel"] != Channel.CHAT:
        body = composer.with_signature(body, request.agent_profile.signature)
    try:
        with transaction.atomic():
            services.ticket_version_check(ticket=ticket, version=_version(request))
            message = composer.reply_send(
                ticket=ticket,
                actor=request.user,
                channel=data["channel"],
                body=body,
                cc=data["cc"],
                attachments=composer.attachments_in(data["attachments"]),
            )
            after = {}
            if data["status_after"]:
                after["status"] = data["status_after"]
            if data["assignee_after"]:
                after["assignee"] = (
                    "" if data["assignee_after"] == "none" else data["assignee_after"]
                )
            if data["tags_add"]:
                current = list(message.ticket.tags.values_list("name", flat=True))
                after["tags"] = " ".join([*current, *data["tags_add"]])
            if after:
                apply_fields(request, message.ticket, after)
    except StaleTicket as exc:
        return refused(request, access_ticket(request, number), exc, reply_form=form)
    except TicketError as exc:
        form.add_error(None, exc.message)
        context = page_context(request, ticket, reply_form=form)
        return page_response(request, context, status=400)
    presence.seen(ticket.pk, request.user, typing=False)
    labels = {"email": _("by email"), "portal": _("in the portal"), "chat": _("in the chat")}
    messages.success(request, _("Answer sent %(how)s.") % {"how": labels[data["channel"]]})
    return HttpResponseRedirect(reverse("workspace:ticket", args=[message.ticket.number]))


@require_POST
@agent_required(change=True)
def note(request: AgentRequest, number: int) -> HttpResponse:
    """Add an internal note; the agents it @mentions are notified."""
    ticket = access_ticket(request, number)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write the note before saving it."))
        return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))
    try:
        message, mentioned = composer.note_add(
            ticket=ticket, actor=request.user, body=form.cleaned_data["body"]
        )
    except TicketError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("workspace:ticket", args=[number]))
    notify.mentions(message, mentioned, request.user)
    messages.success(request, _("Note added."))
    return HttpResponseRedirect(reverse("workspace:ticket", args=[message.ticket.number]))


@require_POST
@agent_required
def presence_ping(request: AgentRequest, number: int) -> HttpResponse:
    """The page's heartbeat: who else is here, and whether the ticket changed meanwhile."""
    ticket = access_ticket(request, number)
    viewers = presence.visit(ticket.pk, request.user, typing=request.POST.get("typing") == "1")
    news: list[str] = []
    version = request.POST.get("version", "")
    current = services.ticket_version(ticket.pk)
    if version.isdigit() and int(version) < current:
        from tickets.models import TicketEvent

        from ..timeline import event_news

        events = list(
            TicketEvent.objects.filter(ticket=ticket, pk__gt=int(version))
            .select_related("actor")
            .order_by("pk")[:20]
        )
        news = event_news(events)
    return render(
        request,
        "workspace/ticket/_presence.html",
        {"viewers": viewers, "news": news, "ticket": ticket},
    )


@require_GET
@agent_required
def macro_apply(request: AgentRequest, number: int) -> HttpResponse:
    """The composer filled in by a macro (text with placeholders, status, assignee, tags)."""
    ticket = access_ticket(request, number)
    macro_id = request.GET.get("macro", "")
    macro = Macro.objects.filter(
        pk=int(macro_id) if macro_id.isdigit() else 0, is_active=True
    ).first()
    if macro is None:
        raise Http404("No such macro.")
    values = macros.apply(macro, ticket, request.user)
    initial = {"channel": request.GET.get("channel") or None, **values}
    form = ReplyForm(
        ticket=ticket,
        profile=request.agent_profile,
        initial={k: v for k, v in initial.items() if v},
    )
    context = page_context(request, ticket, reply_form=form, applied_macro=macro)
    if request.headers.get("HX-Request"):
        return render(request, "workspace/ticket/_composer.html", context)
    return page_response(request, context)


@require_http_methods(["GET", "POST"])
@agent_required(change=True)
def ticket_new(request: AgentRequest) -> HttpResponse:
    """Open a ticket for a customer: a phone call, or on their behalf."""
    form = NewTicketForm(request.POST or None, initial={"contact_phone": request.GET.get("caller")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = _find_contact(data["contact_email"], data["contact_phone"])
        channel = data["channel"]
        metadata = {"opened_by": request.user.get_username()}
        if data["contact_email"]:
            metadata["from"] = data["contact_email"].lower()
        if data["contact_phone"]:
            metadata["caller"] = data["contact_phone"]
        try:
            with transaction.atomic():
                ticket = services.ticket_open(
                    subject=data["subject"],
                    department=data["department"],
                    line=data["line"],
                    contact=contact,
                    severity=data["severity"],
                    actor=request.user,
                    message=services.MessageIn(
                        channel=channel,
                        direction=Direction.INBOUND,
                        body_text=data["body"],
                        author_contact=contact,
                        metadata=metadata,
                    ),
                ).ticket
                if data["assign_to_me"]:
                    services.ticket_assign(ticket=ticket, assignee=request.user, actor=request.user)
        except TicketError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("%(ticket)s opened.") % {"ticket": ticket.reference})
            return HttpResponseRedirect(reverse("workspace:ticket", args=[ticket.number]))
    return render(request, "workspace/ticket/new.html", {"form": form})


def _find_contact(email: str, phone: str) -> Contact | None:
    if email:
        found = contacts_by_email(email).first()
        if found is not None:
            return found
    if phone:
        try:
            return contacts_by_phone(phone).first()
        except InvalidInput:
            return None
    return None
