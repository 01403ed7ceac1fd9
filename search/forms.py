"""The search box and its filters, read the same way by the workspace and the API."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from tickets.models import Channel, Department, Status

from .query import MAX_QUERY_CHARS
from .selectors import HAS_LINE, Filters

UNASSIGNED = "none"


def _line_choices() -> list[tuple[str, str]]:
    if not HAS_LINE:
        return []
    from django.apps import apps

    line_model = apps.get_model("tickets", "SupportLine")
    return [(str(pk), name) for pk, name in line_model.objects.values_list("pk", "name")]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=MAX_QUERY_CHARS, required=False)
    status = forms.MultipleChoiceField(label=_("Status"), choices=Status.choices, required=False)
    department = forms.TypedMultipleChoiceField(
        label=_("Department"), coerce=int, required=False, choices=()
    )
    line = forms.TypedMultipleChoiceField(
        label=_("Support line"), coerce=int, required=False, choices=()
    )
    channel = forms.MultipleChoiceField(
        label=_("Channel"),
        choices=[c for c in Channel.choices if c[0] != Channel.NOTE],
        required=False,
    )
    created_from = forms.DateField(label=_("Created from"), required=False)
    created_to = forms.DateField(label=_("Created until (inclusive)"), required=False)
    assignee = forms.MultipleChoiceField(label=_("Assignee"), required=False, choices=())
    tag = forms.CharField(label=_("Tag"), max_length=50, required=False)
    page = forms.IntegerField(min_value=1, max_value=1000, required=False)

    def __init__(self, *args, zone: ZoneInfo, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        cast(forms.ChoiceField, self.fields["department"]).choices = [
            (str(pk), name) for pk, name in Department.objects.values_list("pk", "name")
        ]
        cast(forms.ChoiceField, self.fields["line"]).choices = _line_choices()
        agents = get_user_model().objects.filter(is_staff=True, is_active=True)
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [(UNASSIGNED, _("Nobody"))] + [
            (str(u.pk), u.get_full_name() or u.get_username()) for u in agents.order_by("pk")
        ]
        if not HAS_LINE:
            del self.fields["line"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", _("The end date comes before the start date."))
        return data

    def filters(self) -> Filters:
        """Return the filters of a valid form; dates are days in the form's zone."""
        data = self.cleaned_data
        start, end = data.get("created_from"), data.get("created_to")
        assignees = tuple(0 if a == UNASSIGNED else int(a) for a in data.get("assignee") or ())
        return Filters(
            statuses=tuple(data.get("status") or ()),
            department_ids=tuple(data.get("department") or ()),
            line_ids=tuple(data.get("line") or ()),
            channels=tuple(data.get("channel") or ()),
            created_from=datetime.combine(start, time(0), self.zone) if start else None,
            created_until=(
                datetime.combine(end + timedelta(days=1), time(0), self.zone) if end else None
            ),
            assignee_ids=assignees,
            tags=(data["tag"].strip().lower(),) if data.get("tag", "").strip() else (),
        )
