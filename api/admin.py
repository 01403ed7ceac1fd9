from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "can_push_chat",
        "can_push_phone",
        "can_read_tickets",
        "can_open_tickets",
        "created_at",
    )
    exclude = ("token_sha256",)
    actions = ["issue_token"]

    @admin.action(description="Issue a new API token (shown once)")
    def issue_token(self, request: HttpRequest, queryset: QuerySet[Integration]) -> None:
        for integration in queryset:
            token = integration.issue_token()
            self.message_user(
                request,
                f"{integration.name}: new token {token} — copy it now, it is not shown again.",
                level=messages.WARNING,
            )
