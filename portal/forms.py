"""Portal forms: sign-in, the three W's ticket form, replies."""

from __future__ import annotations

from django import forms

from tickets.attachment_policy import HEAD_BYTES, attachment_refusal
from tickets.models import Severity
from tickets.services import AttachmentIn

from .submission import TOPICS

MAX_FILES = 5


class SignInForm(forms.Form):
    email = forms.EmailField(label="Your email address")


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
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files; zip the rest.")
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
        label="What is it about?", choices=[(k, v[0]) for k, v in TOPICS.items()]
    )
    subject = forms.CharField(max_length=255, label="Subject")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label="What happened? Steps to reproduce",
        help_text="Everything we need to reproduce the problem.",
    )
    details = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Domains, order IDs, API calls involved",
    )
    happened_at = forms.DateTimeField(
        required=False,
        label="When did it happen?",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    severity = forms.TypedChoiceField(
        coerce=int,
        choices=Severity.choices,
        initial=Severity.S3,
        help_text="Severity 1 (critical) is for technical problems only.",
    )
    attachments = MultipleFileField(label="Attachments (screenshots, logs)")


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Your reply")
    attachments = MultipleFileField(label="Attach files")


class ChatStartForm(forms.Form):
    text = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="How can we help?"
    )
