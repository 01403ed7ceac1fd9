"""Agents review duplicate flags: both tickets one click away, merge or dismiss in bulk."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tickets.admin_hooks import admin_user
from tickets.errors import MergeError
from tickets.models import Ticket, format_reference

from .models import DuplicateFlag, FlagStatus
from .services import flag_dismiss, flag_merge


def _ticket_link(ticket: Ticket) -> str:
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    return format_html('<a href="{}">{}</a> {}', url, ticket.reference, ticket.subject[:60])


class PossibleDuplicateFilter(admin.SimpleListFilter):
    """Ticket list filter: tickets with an open (suggested) duplicate flag.

    ``duplicates.apps`` registers it with ``tickets.admin_hooks`` (tickets imports
    nothing from here).
    """

    title = gettext_lazy("possible duplicate")
    parameter_name = "possible_duplicate"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("yes", _("Possible duplicate")), ("no", _("No open duplicate flag"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        flagged = DuplicateFlag.objects.filter(status=FlagStatus.SUGGESTED).values("ticket_id")
        if self.value() == "yes":
            return queryset.filter(pk__in=flagged)
        if self.value() == "no":
            return queryset.exclude(pk__in=flagged)
        return queryset


class _EitherSideFormSet(BaseInlineFormSet):
    """The flags naming the ticket on either side, with the other ticket annotated.

    Inline formsets only know one foreign key (and overwrite it on each form's instance),
    so the other ticket's number and subject come as annotations; nothing is ever saved.
    """

    def get_queryset(self) -> QuerySet[DuplicateFlag]:
        if not hasattr(self, "_either_side"):
            me = self.instance.pk
            mine = Q(ticket_id=me)
            self._either_side = (
                DuplicateFlag.objects.filter(mine | Q(candidate_id=me))
                .annotate(
                    other_id=Case(When(mine, then=F("candidate_id")), default=F("ticket_id")),
                    other_number=Case(
                        When(mine, then=F("candidate__number")), default=F("ticket__number")
                    ),
                    other_subject=Case(
                        When(mine, then=F("candidate__subject")), default=F("ticket__subject")
                    ),
                    side=Case(
                        When(mine, then=Value("of")),
                        default=Value("by"),
                        output_field=CharField(),
                    ),
                )
                .order_by("-score", "-id")
            )
        return self._either_side

    def save(self, commit: bool = True) -> list:
        # Read-only: flags change through duplicates.services. The admin's change message
        # reads these lists.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class DuplicateFlagInline(admin.TabularInline):
    """Read-only: the duplicate flags where this ticket is either side, best score first."""

    model = DuplicateFlag
    fk_name = "ticket"
    formset = _EitherSideFormSet
    fields = ("relation", "other_ticket", "score", "reasons_text", "status", "auto_merged")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = gettext_lazy("duplicate flag")
    verbose_name_plural = gettext_lazy("Duplicate flags (either side)")

    def has_add_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("relation"))
    def relation(self, obj: DuplicateFlag) -> str:
        side = getattr(obj, "side", "")
        return {"of": _("possible duplicate of"), "by": _("possibly duplicated by")}.get(side, "")

    @admin.display(description=gettext_lazy("other ticket"))
    def other_ticket(self, obj: DuplicateFlag) -> str:
        row: Any = obj  # with the other ticket's columns, annotated by the inline's queryset
        if getattr(row, "other_id", None) is None:
            return "–"
        url = reverse("admin:tickets_ticket_change", args=[row.other_id])
        reference = format_reference(row.other_number)
        return format_html('<a href="{}">{}</a> {}', url, reference, row.other_subject[:60])

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_text(self, obj: DuplicateFlag) -> str:
        return "; ".join(obj.reasons)


@admin.register(DuplicateFlag)
class DuplicateFlagAdmin(admin.ModelAdmin):
    list_display = ("ticket_link", "candidate_link", "score", "status", "why", "created_at")
    list_filter = ("status", "auto_merged", "created_at")
    list_select_related = ("ticket", "candidate")
    search_fields = ("ticket__subject", "candidate__subject", "ticket__number", "candidate__number")
    readonly_fields = (
        "ticket_link",
        "candidate_link",
        "score",
        "why",
        "status",
        "auto_merged",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    actions = ("merge_into_candidate", "dismiss")
    ordering = ("-created_at", "-id")

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket__number")
    def ticket_link(self, obj: DuplicateFlag) -> str:
        return _ticket_link(obj.ticket)

    @admin.display(description=gettext_lazy("possible duplicate of"), ordering="candidate__number")
    def candidate_link(self, obj: DuplicateFlag) -> str:
        return _ticket_link(obj.candidate)

    @admin.display(description=gettext_lazy("reasons"))
    def why(self, obj: DuplicateFlag) -> str:
        return "; ".join(obj.reasons)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # flags come from detection

    @admin.action(
        description=gettext_lazy("Merge the ticket into its possible duplicate (older ticket)")
    )
    def merge_into_candidate(
        self, request: HttpRequest, queryset: QuerySet[DuplicateFlag]
    ) -> HttpResponse | None:
        flags = list(queryset.select_related("ticket__account", "candidate__account"))
        confirmed = request.POST.get("confirm_cross_account") == "yes"
        cross = [f for f in flags if _cross_account(f) and f.status == FlagStatus.SUGGESTED]
        if cross and not confirmed:  # ask first; nothing is merged until the agent says yes
            return TemplateResponse(
                request,
                "admin/duplicates/confirm_cross_account.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Merge tickets of different accounts?"),
                    "cross": cross,
                    "queryset": flags,
                    "back": request.get_full_path(),
                },
            )
        merged = 0
        for flag in flags:
            if flag.status != FlagStatus.SUGGESTED:
                continue
            try:
                flag_merge(flag=flag, actor=admin_user(request), confirm_cross_account=confirmed)
                merged += 1
            except MergeError as exc:
                self.message_user(request, f"{flag.ticket.reference}: {exc}", messages.ERROR)
        if merged:
            self.message_user(
                request,
                ngettext("Merged %(n)d ticket.", "Merged %(n)d tickets.", merged) % {"n": merged},
                messages.SUCCESS,
            )
        return None

    @admin.action(description=gettext_lazy("Dismiss: not a duplicate"))
    def dismiss(self, request: HttpRequest, queryset: QuerySet[DuplicateFlag]) -> None:
        count = 0
        for flag in queryset.filter(status=FlagStatus.SUGGESTED):
            flag_dismiss(flag=flag, actor=admin_user(request))
            count += 1
        self.message_user(
            request,
            ngettext("Dismissed %(n)d flag.", "Dismissed %(n)d flags.", count) % {"n": count},
            messages.SUCCESS,
        )


def _cross_account(flag: DuplicateFlag) -> bool:
    first, second = flag.ticket.account_id, flag.candidate.account_id
    return bool(first and second and first != second)


from .admin_problems import ProblemProposalAdmin  # noqa: E402,F401 - registers it
