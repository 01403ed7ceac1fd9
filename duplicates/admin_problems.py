"""Agents act on problem proposals: open the problem ticket with its incidents linked,
link later reports, dismiss, and reply once to all incidents (one text per language)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tickets.admin_hooks import admin_user
from tickets.errors import TicketError
from tickets.models import Ticket
from tickets.services import incidents_link

from .language import LANGUAGES
from .models import ProblemProposal, ProposalStatus
from .problems import problem_reply_all, proposal_accept, proposal_dismiss, proposal_incidents

_LANGUAGE_NAMES = {
    "en": gettext_lazy("English"),
    "nl": gettext_lazy("Dutch"),
    "de": gettext_lazy("German"),
    "es": gettext_lazy("Spanish"),
    "ru": gettext_lazy("Russian"),
}


class ReplyToAllForm(forms.Form):
    """One reply per language; incidents in a language left empty get the English one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for lang in LANGUAGES:
            self.fields[lang] = forms.CharField(
                label=_LANGUAGE_NAMES[lang],
                required=lang == "en",
                widget=forms.Textarea(attrs={"rows": 4, "cols": 90}),
            )


@admin.register(ProblemProposal)
class ProblemProposalAdmin(admin.ModelAdmin):
    list_display = ("what", "accounts", "status", "first_ticket_link", "problem_link", "created_at")
    list_filter = ("status", "kind", "created_at")
    list_select_related = ("first_ticket", "problem")
    readonly_fields = list_display + ("updated_at",)
    fields = readonly_fields
    actions = ("open_problem", "link_new_incidents", "dismiss")
    ordering = ("-created_at", "-id")

    @admin.display(description=gettext_lazy("reported"))
    def what(self, obj: ProblemProposal) -> str:
        return f"{obj.kind} {obj.value}"

    @admin.display(description=gettext_lazy("first report"))
    def first_ticket_link(self, obj: ProblemProposal) -> str:
        return _link(obj.first_ticket)

    @admin.display(description=gettext_lazy("problem ticket"))
    def problem_link(self, obj: ProblemProposal) -> str:
        if obj.problem is None:
            return "-"
        reply = reverse("admin:duplicates_problemproposal_reply", args=[obj.pk])
        return format_html('{} (<a href="{}">{}</a>)', _link(obj.problem), reply, _("reply to all"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposals come from detection

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.reply_view)
        return [path("<int:pk>/reply/", view, name="duplicates_problemproposal_reply")] + (
            super().get_urls()
        )

    @admin.action(description=gettext_lazy("Open the problem ticket and link its incidents"))
    def open_problem(self, request: HttpRequest, queryset: QuerySet[ProblemProposal]) -> None:
        for proposal in queryset.filter(status=ProposalStatus.PROPOSED):
            problem = proposal_accept(proposal=proposal, actor=admin_user(request))
            count = problem.incidents.count()
            text = ngettext(
                "%(ref)s opened with %(n)d incident.", "%(ref)s opened with %(n)d incidents.", count
            )
            self.message_user(
                request, text % {"ref": problem.reference, "n": count}, messages.SUCCESS
            )

    @admin.action(description=gettext_lazy("Link later reports to the open problem ticket"))
    def link_new_incidents(self, request: HttpRequest, queryset: QuerySet[ProblemProposal]) -> None:
        for proposal in queryset.filter(status=ProposalStatus.OPENED, problem__isnull=False):
            problem = proposal.problem
            if problem is None:  # never: filtered on it
                continue
            try:
                linked = incidents_link(
                    incidents=proposal_incidents(proposal),
                    problem=problem,
                    actor=admin_user(request),
                )
            except TicketError as exc:
                self.message_user(request, f"{problem.reference}: {exc}", messages.ERROR)
                continue
            text = ngettext(
                "%(n)d incident linked to %(ref)s.",
                "%(n)d incidents linked to %(ref)s.",
                len(linked),
            )
            self.message_user(request, text % {"n": len(linked), "ref": problem.reference})

    @admin.action(description=gettext_lazy("Dismiss: not one problem"))
    def dismiss(self, request: HttpRequest, queryset: QuerySet[ProblemProposal]) -> None:
        for proposal in queryset.filter(status=ProposalStatus.PROPOSED):
            proposal_dismiss(proposal=proposal)
        self.message_user(request, _("Dismissed."), messages.SUCCESS)

    def reply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Write the reply once per language; every live incident gets it on its channel."""
        proposal = get_object_or_404(ProblemProposal.objects.select_related("problem"), pk=pk)
        if not self.has_change_permission(request, proposal) or proposal.problem is None:
            raise PermissionDenied
        problem = proposal.problem
        form = ReplyToAllForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            bodies = {lang: text for lang, text in form.cleaned_data.items() if text}
            result = problem_reply_all(problem=problem, bodies=bodies, actor=admin_user(request))
            sent = len(result.sent)
            self.message_user(
                request,
                ngettext("Replied to %(n)d incident.", "Replied to %(n)d incidents.", sent)
                % {"n": sent},
            )
            for ticket_id, reason in result.failed.items():
                self.message_user(
                    request,
                    _("Ticket %(id)s: %(reason)s") % {"id": ticket_id, "reason": reason},
                    messages.ERROR,
                )
            return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[problem.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reply to all incidents of %(ref)s") % {"ref": problem.reference},
            "problem": problem,
            "incidents": problem.incidents.count(),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "duplicates/reply_to_all.html", context)


def _link(ticket: Ticket) -> str:
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    return format_html('<a href="{}">{}</a> {}', url, ticket.reference, ticket.subject[:60])
