"""Admin: calendars and policies editable; ticket SLAs read-only with explanations; a report."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from tickets.admin_hooks import TicketPanel
from tickets.models import Department, SupportLine, Ticket

from .calendar_store import calendar_bump, holidays_sync
from .models import (
    BusinessCalendar,
    CalendarException,
    DepartmentCalendar,
    LineCalendar,
    SlaAlert,
    SlaPolicy,
    TicketSla,
)
from .policies import all_conflicts, coverage_gaps, policy_conflicts
from .selectors import (
    REPORT_GROUPS,
    format_business,
    overall_state,
    sla_report,
    target_statuses,
    without_policy,
)


class NoPolicyFilter(admin.SimpleListFilter):
    """Tickets no SLA policy matches: they have no deadlines until a policy covers them."""

    title = "SLA policy match"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("no", "No policy matches (no deadlines)"), ("yes", "A policy matches")]

    def queryset(self, request: HttpRequest, queryset):
        if self.value() == "no":
            return queryset.filter(policy__isnull=True)
        if self.value() == "yes":
            return queryset.filter(policy__isnull=False)
        return queryset


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


class RecomputesOpenTickets(_AdminBase):
    """Admin mix-in: a saved or deleted policy or calendar row moves the deadlines of the
    open tickets, so their recompute is queued (on the follow-up queue) after the commit."""

    def _recompute_open_tickets(self, request: HttpRequest) -> None:
        from .tasks import recompute_live

        if getattr(request, "_sla_recompute_queued", False):
            return  # once per request (a changelist edit saves many rows)
        request._sla_recompute_queued = True  # type: ignore[attr-defined]  # once per request

        def queue() -> None:
            try:
                recompute_live.delay()
            except Exception:  # broker down: say so; `manage.py sla_recompute` does it by hand
                self.message_user(
                    request,
                    "Could not queue the recompute of open tickets' deadlines; run "
                    "`manage.py sla_recompute`.",
                    level=messages.WARNING,
                )

        transaction.on_commit(queue)
        self.message_user(request, "Open tickets' deadlines are being recomputed.")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self._recompute_open_tickets(request)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        self._recompute_open_tickets(request)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        self._recompute_open_tickets(request)


class CalendarExceptionInline(admin.TabularInline):
    model = CalendarException
    extra = 1
    fields = ("date", "kind", "hours", "source", "name")
    ordering = ("-date",)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ("name", "tz", "holiday_country", "short_day_before_holiday", "version")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [CalendarExceptionInline]
    actions = ["sync_holidays_action"]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        calendar_bump(form.instance)  # every process rebuilds it on its next use

    @admin.action(description="Write public holidays for this year and the next two")
    def sync_holidays_action(self, request: HttpRequest, queryset) -> None:
        year = timezone.now().year
        for calendar in queryset:
            count = holidays_sync(calendar, range(year, year + 3))
            self.message_user(request, f"{calendar}: {count} holiday exception(s) written.")


@admin.register(CalendarException)
class CalendarExceptionAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ("date", "calendar", "kind", "hours", "source", "name")
    list_filter = ("calendar", "source", "kind")
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        calendar_bump(obj.calendar)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        calendar_bump(obj.calendar)

    def delete_queryset(self, request, queryset) -> None:
        calendars = {e.calendar for e in queryset.select_related("calendar")}
        super().delete_queryset(request, queryset)
        for calendar in calendars:
            calendar_bump(calendar)


@admin.register(DepartmentCalendar)
class DepartmentCalendarAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ("department", "calendar", "notify_emails")


@admin.register(LineCalendar)
class LineCalendarAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    list_display = ("line", "calendar", "chat_phone_calendar")


class SlaPolicyForm(forms.ModelForm):
    """Refuses a policy that would hide another one unannounced (``sla.policies``)."""

    class Meta:
        model = SlaPolicy
        exclude: list[str] = []

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        candidate = SlaPolicy(pk=self.instance.pk)
        for name in ("name", "is_active", "order", "channel", "severity", "account_tier"):
            setattr(candidate, name, data.get(name, getattr(self.instance, name)))
        for name in ("line", "department"):
            setattr(candidate, f"{name}_id", getattr(data.get(name), "pk", None))
        chosen = {p.pk for p in data.get("takes_precedence_over") or []}
        others = SlaPolicy.objects.filter(is_active=True).select_related("line", "department")
        conflicts = policy_conflicts(candidate, others, {candidate.pk: chosen})
        if conflicts:
            raise forms.ValidationError([str(c) for c in conflicts])
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(RecomputesOpenTickets, admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = (
        "name",
        "line",
        "department",
        "channel",
        "severity",
        "account_tier",
        "order",
        "is_active",
    )
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "line", "department", "channel")
    list_select_related = ("line", "department")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("takes_precedence_over",)
    change_list_template = "admin/sla/slapolicy/change_list.html"
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_active", "order", "description", "calendar")}),
        (
            "Matches (empty = any): line, then department, then channel, then severity decide",
            {
                "fields": (
                    "line",
                    "department",
                    "channel",
                    "severity",
                    "account_tier",
                    "takes_precedence_over",
                )
            },
        ),
        (
            "First response",
            {
                "fields": (
                    "first_response_amount",
                    "first_response_unit",
                    "first_response_closed_hours",
                )
            },
        ),
        (
            "Next response (restarted by each customer follow-up)",
            {
                "fields": (
                    "next_response_amount",
                    "next_response_unit",
                    "next_response_closed_hours",
                )
            },
        ),
        (
            "Resolution (paused while pending customer / on hold)",
            {"fields": ("resolution_amount", "resolution_unit", "resolution_closed_hours")},
        ),
        ("On breach", {"fields": ("escalate_to",)}),
    )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """Show, above the list, every policy that hides another unannounced and every kind
        of ticket a line takes that no policy gives deadlines."""
        policies = list(
            SlaPolicy.objects.select_related("line", "department").prefetch_related(
                "takes_precedence_over"
            )
        )
        context = {
            **(extra_context or {}),
            "conflicts": [str(c) for c in all_conflicts(policies)],
            "gaps": [
                str(g)
                for g in coverage_gaps(
                    policies, list(SupportLine.objects.all()), list(Department.objects.all())
                )
            ],
        }
        return super().changelist_view(request, context)


@admin.register(TicketSla)
class TicketSlaAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "state",
        "policy",
        "first_response_due",
        "next_response_due",
        "resolution_due",
        "time_left",
    )
    list_filter = (
        NoPolicyFilter,
        "policy",
        "first_response_state",
        "resolution_state",
        "paused",
        "first_response_breached",
        "resolution_breached",
    )
    list_select_related = ("ticket", "policy", "calendar")
    search_fields = ("ticket__subject",)
    ordering = ("next_check_at",)
    readonly_fields = ("ticket", "policy", "calendar", "started_at", "sla_summary")
    fields = readonly_fields
    change_list_template = "admin/sla/ticketsla/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # computed by the workers: view only

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="State")
    def state(self, obj: TicketSla) -> str:
        return overall_state(target_statuses(obj, timezone.now()))

    @admin.display(description="Time left (business)")
    def time_left(self, obj: TicketSla) -> str:
        left = [s.time_left for s in target_statuses(obj, timezone.now()) if s.time_left]
        return format_business(min(left)) if left else "–"

    @admin.display(description="Deadlines and why")
    def sla_summary(self, obj: TicketSla) -> str:
        from django.template.loader import render_to_string

        now = timezone.now()
        return format_html(
            "{}",
            render_to_string(
                "admin/sla/ticketsla/summary.html",
                {
                    "statuses": target_statuses(obj, now),
                    "explanation": obj.explanation,
                    "match": (obj.explanation or {}).get("match", {}),
                    "time_zone": (obj.explanation or {}).get("time_zone") or "UTC",
                    "now": now,
                },
            ),
        )

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [path("report/", report, name="sla_ticketsla_report"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):  # staff without it see no SLA figures
            raise PermissionDenied
        group = request.GET.get("group", "department")
        since, until = _date(request, "since"), _date(request, "until")
        # Duplicates the customer cloned on their own are not support's misses (issue 6).
        include_clones = request.GET.get("clones") == "1"
        tickets = TicketSla.objects.all()
        if not include_clones:
            tickets = tickets.exclude(ticket__cloned_by_customer=True)
        rows = sla_report(tickets, group, since, until)
        context = {
            "unmatched": without_policy(tickets, since, until),
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "SLA report",
            "rows": [(row, format_business(row.median_first_response)) for row in rows],
            "group": group,
            "groups": {k: label for k, (_, label) in REPORT_GROUPS.items()},
            "group_label": REPORT_GROUPS.get(group, REPORT_GROUPS["department"])[1],
            "since": since,
            "until": until,
            "include_clones": include_clones,
        }
        return TemplateResponse(request, "admin/sla/report.html", context)


def _date(request: HttpRequest, name: str) -> date | None:
    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        messages.warning(request, f"{name}={raw!r} is not a date; use YYYY-MM-DD.")
        return None


@admin.register(SlaAlert)
class SlaAlertAdmin(admin.ModelAdmin):
    list_display = ("created_at", "ticket", "target", "kind", "due_at", "escalated_to")
    list_filter = ("kind", "target")
    list_select_related = ("ticket", "escalated_to")
    readonly_fields = [f.name for f in SlaAlert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def sla_panel(request: HttpRequest, ticket: Ticket) -> TicketPanel | None:
    """Return the ticket page's SLA panel: each deadline, its state, business time left."""
    sla = TicketSla.objects.select_related("policy", "calendar").filter(ticket=ticket).first()
    if sla is None:
        return None
    explanation = sla.explanation or {}
    html = render_to_string(
        "admin/sla/ticketsla/panel.html",
        {
            "statuses": target_statuses(sla, timezone.now()),
            "time_zone": explanation.get("time_zone") or "UTC",
            "policy": sla.policy,
            "line": explanation.get("line", ""),
            "why": explanation.get("match", {}).get("why", ""),
            "warning": explanation.get("warning", ""),
            "escalations": explanation.get("escalations", []),
            "detail_url": reverse("admin:sla_ticketsla_change", args=[sla.pk]),
        },
    )
    return TicketPanel(title="SLA", html=html, css_id="sla-panel")  # autoescaped SafeString
