"""Mailboxes in the admin: settings, write-only credentials, and each mailbox's health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .crypto import CredentialKeyError
from .health import OK, mailboxes_health
from .models import AuthMethod, Mailbox, MailboxAlert

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SECRET_FIELDS = {
    "password": "set_password",
    "oauth_client_secret": "set_oauth_client_secret",
    "oauth_refresh_token": "set_refresh_token",
}


class MailboxForm(forms.ModelForm):
    """Credentials are written, never shown: an empty field keeps what is stored."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Password sign-in. Empty: keep the stored one."),
    )
    oauth_token_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text=_("Token endpoint; empty: the provider's own."),
    )
    oauth_client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("OAuth2 client secret. Empty: keep the stored one."),
    )
    oauth_refresh_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("OAuth2 refresh token of the mailbox's account. Empty: keep the stored one."),
    )

    class Meta:
        model = Mailbox
        fields = (
            "name",
            "department",
            "is_active",
            "host",
            "port",
            "security",
            "ca_certificates",
            "folder",
            "move_to",
            "mark_seen",
            "auth",
            "username",
            "oauth_client_id",
            "oauth_tenant",
            "oauth_token_url",
            "poll_every_seconds",
            "backfill_days",
        )

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        auth = data.get("auth")
        stored = self.instance
        if auth == AuthMethod.PASSWORD and not (data.get("password") or stored.password_encrypted):
            self.add_error("password", _("Enter the mailbox's password."))
        if auth in (AuthMethod.GOOGLE, AuthMethod.MICROSOFT):
            if not data.get("oauth_client_id"):
                self.add_error("oauth_client_id", _("OAuth2 needs the application's client id."))
            if not (data.get("oauth_refresh_token") or stored.oauth_refresh_token_encrypted):
                self.add_error(
                    "oauth_refresh_token", _("OAuth2 needs a refresh token of the mailbox account.")
                )
        for field, setter in SECRET_FIELDS.items():
            if value := data.get(field):
                try:
                    getattr(self.instance, setter)(value)
                except CredentialKeyError as exc:
                    self.add_error(field, str(exc))
        return data


class AlertInline(admin.TabularInline):
    model = MailboxAlert
    extra = 0
    can_delete = False
    fields = ("kind", "raised_at", "resolved_at", "detail")
    readonly_fields = fields
    ordering = ("-raised_at",)
    max_num = 0
    verbose_name_plural = _("alerts (latest first)")


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = (
        "name",
        "department",
        "line",
        "host",
        "folder",
        "health_state",
        "last_success_at",
        "lag",
        "stored_today",
        "short_error",
    )
    list_filter = ("is_active", "department")
    search_fields = ("name", "host", "username")
    inlines = [AlertInline]
    actions = ["poll_now", "reconcile_now"]
    readonly_fields = (
        "health_state",
        "last_poll_at",
        "last_success_at",
        "lag",
        "stored_today",
        "error_streak",
        "last_error",
        "last_error_at",
        "move_error",
        "uidvalidity",
        "last_uid",
        "last_reconciled_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "department", "is_active")}),
        (_("Server"), {"fields": ("host", "port", "security", "ca_certificates")}),
        (_("Folders"), {"fields": ("folder", "move_to", "mark_seen")}),
        (
            _("Sign-in"),
            {
                "fields": (
                    "auth",
                    "username",
                    "password",
                    "oauth_client_id",
                    "oauth_client_secret",
                    "oauth_tenant",
                    "oauth_token_url",
                    "oauth_refresh_token",
                )
            },
        ),
        (_("Polling"), {"fields": ("poll_every_seconds", "backfill_days")}),
        (
            _("Health"),
            {
                "fields": (
                    "health_state",
                    "last_poll_at",
                    "last_success_at",
                    "lag",
                    "stored_today",
                    "error_streak",
                    "last_error",
                    "last_error_at",
                    "move_error",
                    "uidvalidity",
                    "last_uid",
                    "last_reconciled_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("department__line")

    @admin.display(description=_("Support line"))
    def line(self, obj: Mailbox) -> StrOrPromise:
        """The line of the mailbox's inbox (a department without one serves every line)."""
        line = obj.department.line if obj.department_id else None
        return str(line) if line else _("every line")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        response = super().changelist_view(request, extra_context)
        rows = getattr(getattr(response, "context_data", {}) or {}, "get", lambda _k: None)("cl")
        if rows is not None:  # one health query for the page's mailboxes
            self._health = {h.name: h for h in mailboxes_health(list(rows.result_list))}
        return response

    def _health_of(self, obj: Mailbox):
        cached = getattr(self, "_health", {})
        return cached.get(obj.name) or mailboxes_health([obj])[0]

    @admin.display(description=_("Health"))
    def health_state(self, obj: Mailbox) -> str:
        if obj.pk is None:
            return "—"
        state = self._health_of(obj).state
        colour = "#2e7d32" if state == OK else "#b26a00" if state == "warning" else "#c62828"
        return format_html('<strong style="color:{}">{}</strong>', colour, state)

    @admin.display(description=_("Lag"))
    def lag(self, obj: Mailbox) -> str:
        return "—" if obj.lag_seconds is None else f"{obj.lag_seconds:.0f} s"

    @admin.display(description=_("Stored today"))
    def stored_today(self, obj: Mailbox) -> int | str:
        return "—" if obj.pk is None else self._health_of(obj).stored_today

    @admin.display(description=_("Last error"))
    def short_error(self, obj: Mailbox) -> str:
        text = obj.last_error or obj.move_error
        return (text[:100] + "…") if len(text) > 100 else text

    @admin.action(description=_("Poll the selected mailboxes now"), permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._queue(request, queryset, reconcile=False)

    @admin.action(
        description=_("Compare the selected mailboxes with the server now (reconcile)"),
        permissions=["change"],
    )
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._queue(request, queryset, reconcile=True)

    def _queue(self, request: HttpRequest, queryset: QuerySet, *, reconcile: bool) -> None:
        from .tasks import poll

        for mailbox in queryset:
            poll.delay(mailbox.pk, reconcile)
        self.message_user(
            request,
            _("%(n)d poll(s) queued at %(time)s.")
            % {"n": queryset.count(), "time": timezone.localtime().strftime("%H:%M:%S %Z")},
            messages.SUCCESS,
        )
