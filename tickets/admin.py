"""The agents' workspace: ticket queues, one timeline per ticket, accounts and contacts.

Ticket state is never saved by the admin form itself: ``save_model`` hands each changed
field to the service that owns it, so the admin obeys the same rules as every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.safestring import mark_safe

from . import admin_hooks, selectors, services
from .admin_list import CappedCountPaginator, TicketChangeList
from .downloads import attachment_response
from .errors import TicketError
from .line_models import LINE_CHANNELS
from .models import (
    Account,
    Attachment,
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    Department,
    Direction,
    Language,
    LineInbox,
    LineText,
    Status,
    SupportLine,
    Ticket,
    TicketEvent,
)
from .reply_senders import reply_sender
from .sanitize import html_for_display


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("name", "role", "verified_at", "chat_handle")
    extra = 0
    show_change_link = True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "reseller_id", "tier", "created_at")
    list_filter = ("tier",)
    search_fields = ("name", "reseller_id")
    inlines = [ContactInline]


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 1


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    extra = 1


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "role", "verified_at", "primary_email")
    list_filter = ("role",)
    list_select_related = ("account",)
    search_fields = (
        "name",
        "emails__email",
        "phones__number",
        "account__name",
        "account__reseller_id",
    )
    autocomplete_fields = ("account",)
    inlines = [ContactEmailInline, ContactPhoneInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return super().get_queryset(request).prefetch_related("emails")

    @admin.display(description="Email")
    def primary_email(self, obj: Contact) -> str:
        emails = list(obj.emails.all())  # prefetched: no query per row
        return next((e.email for e in emails if e.is_primary), emails[0].email if emails else "")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "line",
        "kind",
        "inbox_email",
        "accepts_chat",
        "accepts_phone",
        "registered_contacts_only",
        "is_active",
    )
    list_filter = ("line",)
    prepopulated_fields = {"slug": ("name",)}


class LineInboxInline(admin.TabularInline):
    model = LineInbox
    fields = ("email", "label", "department", "language")
    extra = 0


class LineTextInline(admin.TabularInline):
    model = LineText
    fields = ("key", "language", "text")
    extra = 0


class SupportLineForm(forms.ModelForm):
    languages = forms.MultipleChoiceField(
        choices=Language.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    channels = forms.MultipleChoiceField(
        choices=[(c, Channel(c).label) for c in LINE_CHANNELS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every channel.",
    )

    class Meta:
        model = SupportLine
        fields = [
            "name",
            "slug",
            "organisation",
            "is_default",
            "time_zone",
            "language",
            "languages",
            "channels",
            "phone_number",
            "portal_host",
            "requires_reseller_id",
            "chat_requires_reseller",
            "customisation_to_forum",
            "severity_1_technical_only",
        ]


@admin.register(SupportLine)
class SupportLineAdmin(admin.ModelAdmin):
    """A line with its inboxes (each with its language) and its own texts per language."""

    form = SupportLineForm
    list_display = ("name", "organisation", "is_default", "language", "phone_number", "portal_host")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [LineInboxInline, LineTextInline]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    fields = ("created_at", "kind", "actor", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False
    classes = ("collapse",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoteForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), label="Internal note"
    )


class UnmergeForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"size": 60}),
        label="Why (optional)",
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}), label="Reply to the customer"
    )


# Fields an agent edits on the ticket page, each owned by one service.
EDITABLE = ("status", "severity", "department", "assignee")


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ("tickets/admin.css",)}

    list_display = (
        "reference",
        "subject",
        "account",
        "contact",
        "origin_channel",
        "status",
        "severity",
        "line",
        "department",
        "assignee",
        "updated_at",
    )
    list_display_links = ("reference", "subject")
    list_filter = (
        "status",
        "severity",
        "line",
        "department",
        "origin_channel",
        "needs_verification",
        "cloned_by_customer",
        "assignee",
    )
    list_select_related = ("account", "contact", "department", "assignee", "line")
    search_fields = (
        "subject",
        "account__name",
        "account__reseller_id",
        "contact__name",
        "contact__emails__email",
    )
    list_per_page = 50
    show_full_result_count = False  # a second COUNT(*) over every ticket buys nothing
    paginator = CappedCountPaginator  # counts to 10,000 at most (see admin_list)
    readonly_fields = (
        "reference",
        "subject",
        "line",
        "language",
        "account",
        "contact",
        "origin_channel",
        "needs_verification",
        "linked_to",
        "merged_into",
        "cloned_by_customer",
        "created_at",
        "updated_at",
        "solved_at",
        "closed_at",
    )
    fields = (
        "reference",
        "subject",
        "line",
        "language",
        *EDITABLE,
        "account",
        "contact",
        "origin_channel",
        "needs_verification",
        "linked_to",
        "merged_into",
        "cloned_by_customer",
        "created_at",
        "updated_at",
        "solved_at",
        "closed_at",
    )
    inlines = [TicketEventInline]
    change_form_template = "admin/tickets/ticket/change_form.html"

    @admin.display(description="Number", ordering="number")
    def reference(self, obj: Ticket) -> str:
        return obj.reference

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets are opened by channels (email, portal, chat, phone log)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is evidence: close or merge instead

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # Checked before any wrapper (webcache's list cache) may answer from a cache.
        return admin_hooks.ticket_list(  # type: ignore[return-value]  # rendered or replayed
            request, lambda: super(TicketAdmin, self).changelist_view(request, extra_context)
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[TicketChangeList]:
        return TicketChangeList  # renders the rows without a template per cell

    def get_list_filter(self, request: HttpRequest) -> tuple:
        return (*super().get_list_filter(request), *admin_hooks.list_filters())

    def get_inlines(self, request: HttpRequest, obj: Ticket | None) -> list:
        return [*super().get_inlines(request, obj), *admin_hooks.inlines()]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        search = admin_hooks.ticket_search()
        if search is not None and search_term.strip():
            found = search(queryset, search_term)
            if found is not None:
                return found, False  # no DISTINCT: the search returns each ticket once
        number = selectors.parse_reference(search_term)
        if number is not None:
            return queryset.filter(number=number), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(
        self, request: HttpRequest, obj: Ticket, form: forms.ModelForm, change: bool
    ) -> None:
        # Replay each changed field through its service; the form never saves the row.
        original = Ticket.objects.get(pk=obj.pk)
        actor = admin_hooks.admin_user(request)
        steps = {
            "department": lambda: services.ticket_department_set(
                ticket=original, department=obj.department, actor=actor
            ),
            "severity": lambda: services.ticket_severity_set(
                ticket=original, severity=obj.severity, actor=actor
            ),
            "assignee": lambda: services.ticket_assign(
                ticket=original, assignee=obj.assignee, actor=actor
            ),
            "status": lambda: services.ticket_status_set(
                ticket=original, status=obj.status, actor=actor
            ),
        }
        for name in form.changed_data:
            if name in steps:
                steps[name]()

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except TicketError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Ticket | None = None,
    ) -> HttpResponse:
        if obj is not None:
            timeline = selectors.ticket_timeline(obj)
            for message in timeline:
                # Remote images stay blocked here too (tracking pixels); cid: images keep
                # their reference (a browser fetches nothing for it). The workspace shows
                # remote images on request and renders cid: images from the attachments.
                cast(Any, message).display_html = mark_safe(  # noqa: S308 - cleaned by nh3
                    html_for_display(message.body_html, inline_url=lambda cid: f"cid:{cid}")[0]
                )
            context["timeline"] = timeline
            context["note_form"] = NoteForm()
            context["note_url"] = reverse("admin:tickets_ticket_note", args=[obj.pk])
            context["panels"] = admin_hooks.panels(request, obj)
            if obj.needs_verification and obj.status != Status.MERGED:
                context["verify_url"] = reverse("admin:tickets_ticket_verify", args=[obj.pk])
            if obj.status == Status.MERGED:
                context["unmerge_form"] = UnmergeForm()
                context["unmerge_url"] = reverse("admin:tickets_ticket_unmerge", args=[obj.pk])
            if reply_sender(Channel.EMAIL) is not None:
                context["reply_form"] = ReplyForm()
                context["reply_url"] = reverse("admin:tickets_ticket_reply", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list:
        own = [
            path(
                "<int:ticket_id>/note/",
                self.admin_site.admin_view(self.note_view),
                name="tickets_ticket_note",
            ),
            path(
                "<int:ticket_id>/unmerge/",
                self.admin_site.admin_view(self.unmerge_view),
                name="tickets_ticket_unmerge",
            ),
            path(
                "<int:ticket_id>/verify-sender/",
                self.admin_site.admin_view(self.verify_view),
                name="tickets_ticket_verify",
            ),
            path(
                "<int:ticket_id>/reply/",
                self.admin_site.admin_view(self.reply_view),
                name="tickets_ticket_reply",
            ),
            path(
                "attachment/<int:attachment_id>/",
                self.admin_site.admin_view(self.attachment_view),
                name="tickets_attachment_download",
            ),
        ]
        return own + super().get_urls()

    def _ticket_action(
        self,
        request: HttpRequest,
        ticket_id: int,
        form_class: type[forms.Form],
        act: Callable[[Ticket, forms.Form], str],
        *,
        invalid_message: str | None,
    ) -> HttpResponse:
        """Run one agent action posted from the ticket page; return there with its outcome.

        ``act`` calls the service and returns the success message; a TicketError it raises
        is shown instead. An invalid form shows ``invalid_message``, or, when that is None
        (every field optional), still runs ``act``.
        """
        ticket = get_object_or_404(Ticket, pk=ticket_id)
        if request.method != "POST" or not self.has_change_permission(request, ticket):
            raise PermissionDenied
        form = form_class(request.POST)
        target = HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
        if not form.is_valid() and invalid_message is not None:
            self.message_user(request, invalid_message, level=messages.ERROR)
            return target
        try:
            done = act(ticket, form)
        except TicketError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
        else:
            self.message_user(request, done)
        return target

    def note_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        def add_note(ticket: Ticket, form: forms.Form) -> str:
            services.message_add(
                ticket=ticket,
                message=services.MessageIn(
                    channel=Channel.NOTE,
                    direction=Direction.INTERNAL,
                    body_text=form.cleaned_data["body"],
                    author_user=admin_hooks.admin_user(request),
                ),
                actor=admin_hooks.admin_user(request),
            )
            return "Note added."

        return self._ticket_action(
            request,
            ticket_id,
            NoteForm,
            add_note,
            invalid_message="Write the note before saving it.",
        )

    def unmerge_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        """Take a merged ticket back out of its survivor (``services.ticket_unmerge``)."""

        def unmerge(ticket: Ticket, form: forms.Form) -> str:
            reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
            services.ticket_unmerge(
                ticket=ticket, actor=admin_hooks.admin_user(request), reason=reason
            )
            return f"{ticket.reference} is un-merged: its messages are back on it."

        return self._ticket_action(request, ticket_id, UnmergeForm, unmerge, invalid_message=None)

    def verify_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        """Confirm the sender of a ticket marked needs verification
        (``services.ticket_sender_verify``)."""

        def verify(ticket: Ticket, form: forms.Form) -> str:
            done = services.ticket_sender_verify(
                ticket=ticket, actor=admin_hooks.admin_user(request)
            )
            return f"{done.contact} is now a verified contact of {done.account}."

        return self._ticket_action(request, ticket_id, forms.Form, verify, invalid_message=None)

    def reply_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        """Send the agent's reply by email (threaded, with the ticket token) and log it."""
        if reply_sender(Channel.EMAIL) is None:
            raise PermissionDenied

        def reply(ticket: Ticket, form: forms.Form) -> str:
            services.ticket_reply(
                ticket=ticket, body=form.cleaned_data["body"], actor=admin_hooks.admin_user(request)
            )
            return "Reply saved; it is on its way by email (Outbox > Outgoing mails)."

        return self._ticket_action(
            request,
            ticket_id,
            ReplyForm,
            reply,
            invalid_message="Write the reply before sending it.",
        )

    def attachment_view(self, request: HttpRequest, attachment_id: int) -> HttpResponseBase:
        attachment = get_object_or_404(
            Attachment.objects.select_related("message__ticket"), pk=attachment_id
        )
        if not self.has_view_permission(request, attachment.message.ticket):
            raise PermissionDenied
        return attachment_response(attachment)  # a download, never rendered
