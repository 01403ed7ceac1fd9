"""Portal forms: sign-in, the three W's ticket form, replies."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.attachment_policy import HEAD_BYTES, attachment_refusal
from tickets.models import Severity
from tickets.services import AttachmentIn
from tickets.submission import TOPICS

MAX_FILES = 5


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                _("Attach at most %(count)d files; zip the rest.") % {"count": MAX_FILES}
            )
        for f in files:  # the attachment policy every channel shares
            head = f.read(HEAD_BYTES)
            f.seek(0)
            reason = attachment_refusal(
                filename=f.name, content_type=f.content_type or "", size=f.size, head=head
            )
            if reason:
                raise forms.ValidationError(f"{f.name}: {reason}.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def attachments_in(files) -> tuple[AttachmentIn, ...]:
    return tuple(
        AttachmentIn(
            filename=f.name,
            content=f.read(),
            content_type=f.content_type or "application/octet-stream",
        )
        for f in files or ()
    )


class TicketForm(forms.Form):
    topic = forms.ChoiceField(
        label=_("What is it about?"), choices=[(k, v[0]) for k, v in TOPICS.items()]
    )
    subject = forms.CharField(max_length=255, label=_("Subject"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label=_("What happened? Steps to reproduce"),
        help_text=_("Everything we need to reproduce the problem."),
    )
    details = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Domains, order IDs, API calls involved"),
    )
    happened_at = forms.DateTimeField(
        required=False,
        label=_("When did it happen?"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    severity = forms.TypedChoiceField(
        coerce=int,
        choices=Severity.choices,
        initial=Severity.S3,
        help_text=_("Severity 1 (critical) is for technical problems only."),
    )
    attachments = MultipleFileField(label=_("Attachments (screenshots, logs)"))


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("Your reply"))
    attachments = MultipleFileField(label=_("Attach files"))


class ChatStartForm(forms.Form):
    text = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label=_("How can we help?")
    )
