"""The agents' side, inside the admin: live chats with a reply box, presence, the call log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from channels_app.chat.conversations import chat_end, chat_line_from_agent, chat_lines_after
from channels_app.chat.models import ChatConversation
from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundStatus
from tickets.errors import InvalidInput, TicketError
from tickets.models import Channel, Direction, Status, Ticket
from tickets.phones import normalize_phone
from tickets.selectors import contacts_by_phone, ticket_by_reference

from .models import AgentPresence
from .presence import agents_online, presence_set

HEARTBEAT_SECONDS = 30
OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD)


def _context(admin_site, request: HttpRequest, title: str, **extra) -> dict:
    return {**admin_site.each_context(request), "title": title, **extra}


def live_chats(admin_site, request: HttpRequest) -> HttpResponse:
    """List live chats; the page's heartbeat keeps the agent online while it is open."""
    if request.method == "POST":
        presence_set(user=request.user, available=request.POST.get("available") == "1")
        return HttpResponseRedirect(request.path)
    presence = AgentPresence.objects.filter(user=request.user).first()
    if presence is not None:  # a page view is a heartbeat too (works without JavaScript)
        presence_set(user=request.user, available=presence.available)
    chats = (
        ChatConversation.objects.filter(ended_at__isnull=True)
        .select_related("ticket", "contact")
        .order_by("-started_at")[:100]
    )
    return TemplateResponse(
        request,
        "portal/admin/live_chats.html",
        _context(
            admin_site,
            request,
            "Live chats",
            chats=chats,
            available=bool(presence and presence.available),
            online=agents_online(),
            heartbeat_seconds=HEARTBEAT_SECONDS,
        ),
    )


def heartbeat(admin_site, request: HttpRequest) -> JsonResponse:
    presence = AgentPresence.objects.filter(user=request.user).first()
    available = bool(presence and presence.available)
    if request.method == "POST":
        presence_set(user=request.user, available=available)
    return JsonResponse({"available": available, "online": agents_online()})


def chat_detail(admin_site, request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(ChatConversation.objects.select_related("ticket"), pk=pk)
    if request.method == "POST":
        if "_end" in request.POST:
            chat_end(conversation)
            messages.success(request, "Chat ended; the ticket stays open for follow-up.")
            return HttpResponseRedirect(reverse("admin:portal_live_chats"))
        text = request.POST.get("text", "").strip()
        if text:
            try:
                chat_line_from_agent(conversation=conversation, agent=request.user, text=text)
            except TicketError as exc:
                messages.error(request, exc.message)
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"ok": bool(text)})
        return HttpResponseRedirect(request.path)
    if request.GET.get("after") is not None:
        try:
            after = int(request.GET["after"])
        except ValueError:
            after = 0
        return JsonResponse({"lines": chat_lines_after(conversation, after)})
    return TemplateResponse(
        request,
        "portal/admin/chat_detail.html",
        _context(
            admin_site,
            request,
            f"Chat on {conversation.ticket.reference}",
            conversation=conversation,
            lines=chat_lines_after(conversation, 0),
            ticket_url=reverse("admin:tickets_ticket_change", args=[conversation.ticket_id]),
        ),
    )


class CallLogForm(forms.Form):
    caller = forms.CharField(max_length=40, help_text="Any notation; +31 10 448 2299, 010-4482299…")
    direction = forms.ChoiceField(
        choices=[(Direction.INBOUND, "Customer called us"), (Direction.OUTBOUND, "We called")]
    )
    started_at = forms.DateTimeField(
        initial=timezone.now,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )
    duration_minutes = forms.IntegerField(min_value=0, initial=0)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "cols": 70}))
    outcome = forms.ChoiceField(
        choices=[
            ("solved", "Solved on the phone"),
            ("callback", "Call back"),
            ("escalated", "Escalated"),
            ("info", "Information given"),
            ("voicemail", "Voicemail"),
            ("no_answer", "No answer"),
        ]
    )
    ticket = forms.CharField(
        required=False, max_length=40, help_text="Append to this ticket (e.g. SD-100001)."
    )
    subject = forms.CharField(required=False, max_length=255, help_text="For a new ticket.")

    def clean_caller(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["caller"])
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from exc

    def clean_ticket(self) -> str:
        reference = self.cleaned_data["ticket"].strip()
        if reference and ticket_by_reference(reference) is None:
            raise forms.ValidationError("No such ticket; pick one of the caller's tickets or none.")
        return reference


def phone_log(admin_site, request: HttpRequest) -> HttpResponse:
    """Log a call: the caller's open tickets are proposed first (phone is for urgent cases)."""
    form = CallLogForm(request.POST or None, initial={"caller": request.GET.get("caller", "")})
    caller = request.POST.get("caller") or request.GET.get("caller") or ""
    contacts, open_tickets = [], []
    if caller:
        try:
            contacts = list(contacts_by_phone(caller))
        except InvalidInput:
            contacts = []
        open_tickets = list(
            Ticket.objects.filter(contact__in=contacts, status__in=OPEN_STATUSES)
            .select_related("department")
            .order_by("-updated_at")[:20]
        )
    if request.method == "POST" and "_lookup" not in request.POST and form.is_valid():
        data = form.cleaned_data
        call_id = f"admin-{request.user.pk}-{timezone.now().timestamp()}"
        payload = {
            "call_id": call_id,
            "caller": data["caller"],
            "direction": data["direction"],
            "started_at": data["started_at"].isoformat(),
            "duration_seconds": data["duration_minutes"] * 60,
            "summary": data["summary"],
            "outcome": data["outcome"],
            "agent": request.user.get_username(),
        }
        if data["ticket"]:
            payload["ticket"] = data["ticket"]
        if data["subject"]:
            payload["subject"] = data["subject"]
        record, _ = inbound_store(
            channel=Channel.PHONE,
            source=f"admin:{request.user.get_username()}",
            payload=payload,
            external_id=call_id,
        )
        record = inbound_process(record.pk)
        if record.status == InboundStatus.PROCESSED and record.message_id:
            messages.success(request, "Call logged.")
            return HttpResponseRedirect(
                reverse("admin:tickets_ticket_change", args=[record.message.ticket_id])
            )
        messages.error(request, f"The call could not be logged: {record.error}")
    return TemplateResponse(
        request,
        "portal/admin/phone_log.html",
        _context(
            admin_site,
            request,
            "Log a phone call",
            form=form,
            contacts=contacts,
            open_tickets=open_tickets,
        ),
    )
