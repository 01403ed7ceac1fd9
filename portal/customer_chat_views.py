"""The customer's side of live chat: offered only when open and staffed, else the ticket form."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels_app.chat.conversations import chat_line_from_customer, chat_lines_after
from channels_app.chat.models import ChatConversation
from kb.search import article_search
from tickets.errors import TicketError
from tickets.models import Status

from .auth import contact_required
from .forms import ChatStartForm
from .lines import portal_line
from .presence import chat_allowed, chat_available
from .views import _primary_email

POLL_SECONDS = 3


def _fallback(request: HttpRequest, text: str = "") -> HttpResponse:
    messages.info(
        request,
        _(
            "Live chat is not available right now (outside chat hours or no agent online). "
            "Send us a ticket instead; we answer it by email."
        ),
    )
    query = urlencode({"subject": text[:80], "text": text}) if text else ""
    return HttpResponseRedirect(reverse("portal:ticket_new") + (f"?{query}" if query else ""))


@contact_required
@require_http_methods(["GET", "POST"])
def chat_start(request: HttpRequest) -> HttpResponse:
    form = ChatStartForm(request.POST or None)
    line = portal_line(request)
    if not chat_allowed(line, request.contact):
        messages.info(
            request,
            _(
                "Live chat on %(line)s is for resellers: send us a ticket instead; we answer "
                "it by email."
            )
            % {"line": line},
        )
        return HttpResponseRedirect(reverse("portal:ticket_new"))
    if not chat_available(line=line):
        return _fallback(request, request.POST.get("text", ""))
    suggestions = []
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        if "_suggest" in request.POST:
            suggestions = article_search(text)
        else:
            conversation_id = f"portal-{uuid.uuid4().hex}"
            try:
                chat_line_from_customer(
                    conversation_id=conversation_id,
                    contact=request.contact,
                    text=text,
                    email=_primary_email(request.contact),
                    line=line.slug,
                )
            except TicketError as exc:
                form.add_error(None, exc.message)
            else:
                return HttpResponseRedirect(reverse("portal:chat_room", args=[conversation_id]))
    return render(
        request,
        "portal/chat_start.html",
        {"contact": request.contact, "form": form, "suggestions": suggestions},
    )


def _conversation(request: HttpRequest, conversation_id: str) -> ChatConversation:
    conversation = (
        ChatConversation.objects.select_related("ticket")
        .filter(source="portal", conversation_id=conversation_id, contact=request.contact)
        .first()
    )
    if conversation is None:
        raise Http404("No such chat.")
    return conversation


@contact_required
@require_GET
def chat_room(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    return render(
        request,
        "portal/chat_room.html",
        {
            "contact": request.contact,
            "conversation": conversation,
            "lines": chat_lines_after(conversation, 0),
            "poll_seconds": POLL_SECONDS,
        },
    )


@contact_required
@require_GET
def chat_lines(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = _conversation(request, conversation_id)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        after = 0
    return JsonResponse(
        {
            "lines": chat_lines_after(conversation, after),
            "ended": conversation.ended_at is not None,
            # Solved while the customer watches: the page reloads to ask "How did we do?".
            "solved": conversation.ticket.status == Status.SOLVED,
        }
    )


@contact_required
@require_POST
def chat_send(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    text = request.POST.get("text", "").strip()
    ok = bool(text) and conversation.ended_at is None
    if ok:
        try:
            chat_line_from_customer(
                conversation_id=conversation.conversation_id,
                contact=request.contact,
                text=text[:2000],
                email=_primary_email(request.contact),
            )
        except TicketError as exc:
            ok = False
            messages.error(request, exc.message)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"ok": ok}, status=200 if ok else 400)
    return HttpResponseRedirect(reverse("portal:chat_room", args=[conversation_id]))
