"""Agents see every mail we send, why one failed, and can send it again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .models import MailStatus, OutgoingMail
from .services import mail_send_again

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

HIDDEN = gettext_lazy("(hidden: it holds a sign-in link)")


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "status",
        "to_email",
        "subject",
        "ticket",
        "attempts",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "kind")
    list_select_related = ("ticket",)
    search_fields = ("to_email", "message_id", "subject")
    fields = (
        "kind",
        "status",
        "error",
        "attempts",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "sent_at",
        "expires_at",
        "message_id",
        "provider_message_id",
        "ticket",
        "timeline_message",
        "from_email",
        "to",
        "cc",
        "reply_to",
        "subject",
        "headers",
        "text",
        "html",
        "files",
    )
    readonly_fields = fields
    actions = ["send_again"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutgoingMail | None = None) -> bool:
        return False  # what was sent is a record; "send again" is the one change

    def has_delete_permission(self, request: HttpRequest, obj: OutgoingMail | None = None) -> bool:
        return False  # our sent Message-IDs thread the customers' answers

    @admin.display(description=gettext_lazy("Error"))
    def short_error(self, obj: OutgoingMail) -> str:
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.display(description=gettext_lazy("Text"))
    def text(self, obj: OutgoingMail) -> StrOrPromise:
        return HIDDEN if obj.sensitive else obj.body_text

    @admin.display(description=gettext_lazy("HTML (source)"))
    def html(self, obj: OutgoingMail) -> StrOrPromise:
        return HIDDEN if obj.sensitive and obj.body_html else obj.body_html

    @admin.display(description=gettext_lazy("Attachments"))
    def files(self, obj: OutgoingMail) -> str:
        return ", ".join(f"{a.filename} ({a.size} bytes)" for a in obj.attachments.all()) or "—"

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        # The model's change permission, although the rows themselves are read-only.
        return request.user.has_perm("outbox.change_outgoingmail")

    @admin.action(
        description=gettext_lazy("Send the selected mails again"), permissions=["send_again"]
    )
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutgoingMail]) -> None:
        queued = sum(
            mail_send_again(mail=mail)
            for mail in queryset.filter(status__in=[MailStatus.FAILED, MailStatus.PENDING])
        )
        self.message_user(
            request,
            ngettext(
                "%(n)d mail queued to be sent again.",
                "%(n)d mails queued to be sent again.",
                queued,
            )
            % {"n": queued},
            messages.SUCCESS,
        )
        skipped = queryset.count() - queued
        if skipped:
            self.message_user(
                request, _("Sent mails and mails being sent are left as they are."), messages.INFO
            )
