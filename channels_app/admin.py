"""Agents see every raw arrival, why it failed, and can process it again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from .inbound import inbound_retry
from .models import InboundRecord, InboundStatus

PREVIEW_BYTES = 4000


@admin.register(InboundRecord)
class InboundRecordAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "source",
        "status",
        "received_at",
        "attempts",
        "short_error",
        "ticket_link",
    )
    list_filter = ("status", "channel", "source")
    list_select_related = ("message__ticket",)
    search_fields = ("external_id", "error", "source")
    readonly_fields = (
        "channel",
        "source",
        "external_id",
        "sha256",
        "received_at",
        "status",
        "error",
        "attempts",
        "last_attempt_at",
        "processed_at",
        "message",
        "raw_preview",
        "payload",
    )
    exclude = ("raw",)
    actions = ["process_again"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: InboundRecord | None = None) -> bool:
        return False  # the raw ledger is the proof of what arrived

    @admin.display(description="Error")
    def short_error(self, obj: InboundRecord) -> str:
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.display(description="Ticket")
    def ticket_link(self, obj: InboundRecord) -> str:
        if obj.message is None:
            return "—"
        return obj.message.ticket.reference

    @admin.display(description="Raw data (start)")
    def raw_preview(self, obj: InboundRecord) -> str:
        if obj.raw is None:
            return "—"
        text = bytes(obj.raw[:PREVIEW_BYTES]).decode("utf-8", errors="replace")
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", text)

    @admin.action(description="Process the selected records again")
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundRecord]) -> None:
        count = 0
        for record in queryset.exclude(status=InboundStatus.PROCESSED):
            inbound_retry(record)
            count += 1
        self.message_user(request, f"{count} record(s) queued for processing.", messages.SUCCESS)
