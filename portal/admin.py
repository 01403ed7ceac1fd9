"""Admin entries for live chat, presence and the phone log (views in agent_views.py)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import path, reverse

from tickets.admin_hooks import TicketPanel
from tickets.models import Ticket

from . import agent_views
from .models import AgentPresence, ChatConversation
from .selectors import ticket_chats


@admin.register(ChatConversation)
class ChatConversationAdmin(admin.ModelAdmin):
    list_display = ("conversation_id", "ticket", "contact", "source", "started_at", "ended_at")
    list_filter = ("source",)
    list_select_related = ("ticket", "contact")
    change_list_template = "portal/admin/chat_changelist.html"
    readonly_fields = ("conversation_id", "ticket", "contact", "source", "started_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self) -> list:
        def view(func):
            def checked(request: HttpRequest, *args, **kwargs):
                # Answering chats and logging calls writes tickets: agents who may change them.
                if not request.user.has_perm("tickets.change_ticket"):
                    raise PermissionDenied
                return func(self.admin_site, request, *args, **kwargs)

            return self.admin_site.admin_view(checked)

        own = [
            path("live/", view(agent_views.live_chats), name="portal_live_chats"),
            path("live/heartbeat/", view(agent_views.heartbeat), name="portal_heartbeat"),
            path("live/<int:pk>/", view(agent_views.chat_detail), name="portal_chat_detail"),
            path("phone-log/", view(agent_views.phone_log), name="portal_phone_log"),
        ]
        return own + super().get_urls()


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    list_display = ("user", "available", "last_seen_at")


def chat_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel | None:
    """Return the ticket page's "Live chat" panel: a link to each chat that fed the ticket.

    Agents answer a chat in its chat window (admin:portal_chat_detail), which only agents
    who may change tickets open; others see the chats without links.
    """
    chats = ticket_chats(ticket)
    if not chats:
        return None
    may_answer = request.user.has_perm("tickets.change_ticket")
    rows = [
        {
            "chat": chat,
            "url": reverse("admin:portal_chat_detail", args=[chat.pk]) if may_answer else "",
            "merged_from": chat.ticket if chat.ticket_id != ticket.pk else None,
        }
        for chat in chats
    ]
    html = render_to_string("portal/admin/chat_panel.html", {"rows": rows})
    return TicketPanel(title="Live chat", html=html, css_id="chat-panel")
