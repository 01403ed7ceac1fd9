"""Forms of the workspace: saved views, the agent's settings, the composer, new tickets."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tickets.errors import InvalidInput
from tickets.models import Channel, Department, Severity, SupportLine
from tickets.tagging import clean_tag_names

from . import memo, queues
from .models import MAILED_KINDS, AgentProfile, NotificationKind, SavedView

_ZONES = sorted(available_timezones())


def _tags(value: str) -> list[str]:
    try:
        return clean_tag_names(value.replace(",", " ").split())
    except InvalidInput as exc:
        raise forms.ValidationError(exc.detail) from exc


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    shared = forms.BooleanField(label=_("Share with every agent"), required=False)
    statuses = forms.MultipleChoiceField(
        label=_("Statuses"),
        required=False,
        choices=[(s.value, s.label) for s in queues.WORKING_STATUSES],
        help_text=_("None: every unsolved ticket."),
    )
    assignee = forms.ChoiceField(
        label=_("Assignee"),
        required=False,
        choices=[("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))],
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"), required=False, queryset=Department.objects.filter(is_active=True)
    )
    lines = forms.ModelMultipleChoiceField(
        label=_("Support lines"), required=False, queryset=SupportLine.objects.all()
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), required=False, choices=Channel.choices
    )
    severities = forms.TypedMultipleChoiceField(
        label=_("Severities"), required=False, choices=Severity.choices, coerce=int
    )
    tags = forms.CharField(label=_("Tags (all of)"), required=False, max_length=200)
    sla = forms.ChoiceField(
        label=_("SLA"),
        required=False,
        choices=[("", _("Any")), ("at_risk", _("At risk")), ("breached", _("Breached"))],
    )
    needs_verification = forms.BooleanField(label=_("Needs verification"), required=False)
    possible_duplicate = forms.BooleanField(label=_("Possible duplicate"), required=False)
    columns = forms.MultipleChoiceField(
        label=_("Columns"),
        required=False,
        choices=list(queues.COLUMNS.items()),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, initial_view: queues.View | None = None, **kwargs: Any):
        if initial_view is not None:
            f = initial_view.filters
            kwargs["initial"] = {
                "statuses": list(f.statuses),
                "assignee": f.assignee if f.assignee in ("me", "none") else "",
                "departments": list(f.departments),
                "lines": list(f.lines),
                "channels": list(f.channels),
                "severities": list(f.severities),
                "tags": " ".join(f.tags),
                "sla": f.sla,
                "needs_verification": f.needs_verification,
                "possible_duplicate": f.possible_duplicate,
                "columns": list(initial_view.columns),
            }
        super().__init__(*args, **kwargs)

    def clean_tags(self) -> list[str]:
        return _tags(self.cleaned_data.get("tags") or "")

    def filters(self) -> queues.ViewFilters:
        data = self.cleaned_data
        return queues.ViewFilters(
            statuses=tuple(data["statuses"]),
            assignee=data["assignee"],
            departments=tuple(d.pk for d in data["departments"]),
            lines=tuple(line.pk for line in data["lines"]),
            channels=tuple(data["channels"]),
            severities=tuple(data["severities"]),
            tags=tuple(data["tags"]),
            sla=data["sla"],
            needs_verification=data["needs_verification"],
            possible_duplicate=data["possible_duplicate"],
        )

    def save_for(self, user: User) -> SavedView:
        from .services import saved_view_create

        return saved_view_create(
            owner=user,
            name=self.cleaned_data["name"],
            shared=self.cleaned_data["shared"],
            filters=self.filters(),
            columns=self.cleaned_data["columns"],
        )


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(z, z) for z in _ZONES])
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    notify = forms.MultipleChoiceField(
        label=_("Show in the workspace"),
        required=False,
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    email = forms.MultipleChoiceField(
        label=_("Also send me by email"),
        required=False,
        choices=[(k, label) for k, label in NotificationKind.choices if k in MAILED_KINDS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "SLA alerts are mailed to the ticket's assignee and the department's list by the "
            "SLA checks themselves."
        ),
    )

    class Meta:
        model = AgentProfile
        fields = ["time_zone", "language", "signature", "sound", "browser_notifications"]
        widgets = {"signature": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        muted = set(self.instance.muted_kinds or [])
        self.fields["notify"].initial = [k for k in NotificationKind.values if k not in muted]
        self.fields["email"].initial = list(self.instance.email_kinds or [])

    def save(self, commit: bool = True) -> AgentProfile:
        wanted = set(self.cleaned_data.get("notify") or [])
        self.instance.muted_kinds = [k for k in NotificationKind.values if k not in wanted]
        mailed = set(self.cleaned_data.get("email") or [])
        self.instance.email_kinds = [k for k in NotificationKind.values if k in mailed]
        return super().save(commit)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    """The composer: an answer on the customer's channel, or an internal note."""

    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    channel = forms.ChoiceField(label=_("Answer by"), choices=[])
    cc = forms.CharField(label=_("CC"), required=False, max_length=500)
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    signature = forms.BooleanField(label=_("Add my signature"), required=False, initial=True)
    status_after = forms.ChoiceField(label=_("and set status"), required=False, choices=[])
    assignee_after = forms.CharField(required=False, widget=forms.HiddenInput)
    tags_add = forms.CharField(label=_("Add tags"), required=False, max_length=200)

    def __init__(
        self, *args: Any, ticket: Any, profile: AgentProfile, channels: Any = None, **kwargs: Any
    ) -> None:
        from .composer import reply_channels

        super().__init__(*args, **kwargs)
        channels = channels if channels is not None else reply_channels(ticket)
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            (c.channel, c.label) for c in channels if c.available
        ]
        default = next((c.channel for c in channels if c.default), "")
        self.fields["channel"].initial = default
        cast(forms.ChoiceField, self.fields["status_after"]).choices = status_after_choices(ticket)
        self.fields["signature"].initial = bool(profile.signature)

    def clean_cc(self) -> list[str]:
        from django.core.validators import validate_email

        out = []
        for raw in (self.cleaned_data.get("cc") or "").replace(";", ",").split(","):
            address = raw.strip().lower()
            if not address:
                continue
            try:
                validate_email(address)
            except forms.ValidationError as exc:
                raise forms.ValidationError(
                    _("%(address)s is not an email address.") % {"address": raw.strip()}
                ) from exc
            out.append(address)
        return out

    def clean_tags_add(self) -> list[str]:
        return _tags(self.cleaned_data.get("tags_add") or "")


def status_after_choices(ticket: Any) -> list[tuple[str, str]]:
    """The composer's "and set status" choices: keep it, or a status the ticket may go to."""
    return list(_status_after(get_language(), ticket.status))


@memo.cleared_with_settings
@functools.lru_cache(maxsize=128)
def _status_after(language: str | None, status: str) -> tuple[tuple[str, str], ...]:
    """Per language and status: fixed labels, translated once (every ticket page)."""
    from tickets.models import Status
    from tickets.services import TRANSITIONS

    allowed = TRANSITIONS.get(status, frozenset())
    keep = _("(keep %(status)s)") % {"status": dict(Status.choices).get(status, status)}
    return (("", str(keep)), *((s.value, str(s.label)) for s in Status if s in allowed))


@dataclass(frozen=True)
class _Initial:
    """A field of an unbound form as ``composer_html`` reads it (``form[name]``)."""

    initial: Any = None
    label: Any = ""
    errors: tuple[str, ...] = ()

    def value(self) -> Any:
        return self.initial


class FreshReply:
    """What an unbound ``ReplyForm`` shows (its initial values, no errors), for the
    composer of a ticket page opened afresh, without building the form: Django deep-copies
    every field of each form it builds, ~5 % of a ticket page's CPU. It has what
    ``workspace.ticket_html.composer_html`` reads of a form, no more;
    tests/workspace/test_page_parts.py renders the composer from both and compares."""

    def __init__(self, *, ticket: Any, profile: AgentProfile, channels: Any) -> None:
        default = next((c.channel for c in channels if c.default), "")
        self._fields = {
            "channel": _Initial(default),
            "body": _Initial(None, ReplyForm.base_fields["body"].label),
            "cc": _Initial(),
            "attachments": _Initial(),
            "signature": _Initial(bool(profile.signature)),
            "status_after": _Initial(),
            "assignee_after": _Initial(),
            "tags_add": _Initial(),
        }
        self.fields = {"status_after": SimpleNamespace(choices=status_after_choices(ticket))}

    def __getitem__(self, name: str) -> _Initial:
        return self._fields[name]

    def non_field_errors(self) -> list[str]:
        return []


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 4}))


class NewTicketForm(forms.Form):
    """A ticket an agent opens: from a phone call, or for a customer."""

    contact_email = forms.EmailField(label=_("Customer's email"), required=False)
    contact_phone = forms.CharField(label=_("or phone"), required=False, max_length=40)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    channel = forms.ChoiceField(
        label=_("How the customer reached us"),
        choices=[
            ("phone", _("Phone call")),
            ("email", _("Email")),
            ("portal", _("On their behalf")),
        ],
    )
    body = forms.CharField(
        label=_("What the customer said"), widget=forms.Textarea(attrs={"rows": 6})
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.filter(is_active=True)
    )
    line = forms.ModelChoiceField(
        label=_("Support line"),
        queryset=SupportLine.objects.all(),
        required=False,
        empty_label=_("the department's line"),
    )
    severity = forms.TypedChoiceField(
        label=_("Severity"), choices=Severity.choices, coerce=int, initial=Severity.S3
    )
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)
