"""Admin entries for live chat, presence and the phone log (views in agent_views.py)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import path

from . import agent_views
from .models import AgentPresence, ChatConversation


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
