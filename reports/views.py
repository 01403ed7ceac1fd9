"""The leads' dashboards (``/desk/reports/``) and reports over any dates, with CSV."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import wraps
from typing import Any, cast

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tickets.models import Channel, Department, Status
from workspace.access import AgentRequest, agent_required

from .contributions import HAS_LINE, report_zone
from .csvexport import report_rows
from .facts import _today
from .figures import Scope, figures

DASHBOARD_DAYS = 56  # eight weeks: the daily charts and the weekly SLA figures
MAX_REPORT_DAYS = 3 * 366
PERMISSION = "reports.view_dashboard"


def lead_required(view):
    """Agents with "Can see dashboards and reports" (leads) only."""

    @agent_required
    @wraps(view)
    def wrapper(request: AgentRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied(_("Dashboards are for team leads: ask for the permission."))
        return view(request, *args, **kwargs)

    return wrapper


def scopes() -> list[tuple[str, str]]:
    """Return (key, label) of every dashboard: the desk, each line, each department."""
    out = [("all", _("Whole desk"))]
    if HAS_LINE:
        from django.apps import apps

        lines = apps.get_model("tickets", "SupportLine").objects.order_by("name")
        out += [
            (f"line:{pk}", _("Line: %s") % name) for pk, name in lines.values_list("pk", "name")
        ]
    out += [
        (f"department:{pk}", _("Department: %s") % name)
        for pk, name in Department.objects.order_by("name").values_list("pk", "name")
    ]
    return out


def parse_scope(key: str) -> Scope:
    kind, _sep, value = (key or "all").partition(":")
    if kind == "line" and value.isdigit() and HAS_LINE:
        return Scope(line_id=int(value))
    if kind == "department" and value.isdigit():
        return Scope(department_id=int(value))
    return Scope()


@require_GET
@lead_required
def dashboard(request: AgentRequest) -> HttpResponse:
    key = request.GET.get("scope", "all")
    choices = scopes()
    if key not in dict(choices):
        key = "all"
    last = _today()
    first = last - timedelta(days=DASHBOARD_DAYS - 1)
    data = figures(parse_scope(key), first, last)
    return render(
        request,
        "reports/dashboard.html",
        {
            "scopes": choices,
            "current": key,
            "label": dict(choices)[key],
            "data": data,
            "labels": chart_labels(),
        },
    )


def chart_labels() -> dict[str, Any]:
    """Return the words the charts show, in the agent's language."""
    return {
        "channels": {c: str(label) for c, label in Channel.choices},
        "statuses": {s: str(label) for s, label in Status.choices},
        "ages": {
            "lt1d": _("under a day"),
            "1to3d": _("1–3 days"),
            "3to7d": _("3–7 days"),
            "7to30d": _("1–4 weeks"),
            "gt30d": _("over 4 weeks"),
        },
        "fr_met": _("first response met %"),
        "res_met": _("resolution met %"),
        "fr_breached": _("first response breaches"),
        "res_breached": _("resolution breaches"),
        "median": _("median"),
        "p90": _("90th percentile"),
        "load": _("open now"),
        "replies": _("replies"),
        "solved": _("solved"),
        "flagged": _("flagged as possible duplicates"),
        "merged": _("merged"),
        "kb_shown": _("articles shown"),
        "kb_yes": _("found helpful"),
        "kb_no": _("not helpful"),
        "kb_submitted": _("tickets from portal and chat"),
        "ratings": _("ratings"),
    }


class ReportForm(forms.Form):
    scope = forms.ChoiceField(label=gettext_lazy("Dashboard of"), required=False)
    first = forms.DateField(label=gettext_lazy("From"))
    last = forms.DateField(label=gettext_lazy("Until (inclusive)"))
    include_excluded = forms.BooleanField(
        label=gettext_lazy("Include tickets cloned by the customer and merged tickets"),
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["scope"]).choices = scopes()

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                self.add_error("last", _("The end date comes before the start date."))
            elif (last - first).days >= MAX_REPORT_DAYS:
                self.add_error("last", _("Choose at most three years."))
        return data


@require_GET
@lead_required
def report(request: AgentRequest) -> HttpResponse:
    today = _today()
    initial: dict[str, Any] = {"scope": "all", "first": today - timedelta(days=29), "last": today}
    form = ReportForm(request.GET or None, initial=initial)
    data = None
    if form.is_bound and form.is_valid():
        c = form.cleaned_data
        data = figures(
            parse_scope(c["scope"] or "all"),
            c["first"],
            c["last"],
            include_excluded=c["include_excluded"],
        )
        if request.GET.get("format") == "csv":
            return _csv(data, c["first"], c["last"])
    elif not form.is_bound:
        data = figures(Scope(), initial["first"], initial["last"])
    return render(
        request,
        "reports/report.html",
        {
            "form": form,
            "data": data,
            "zone": report_zone().key,
            "query": request.GET.urlencode(),
            "week_rows": _week_rows(data) if data else [],
            "agent_rows": _agent_rows(data) if data else [],
        },
    )


def _week_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    sla, frt, csat = data["sla"], data["frt"], data["csat"]
    return [
        {
            "week": week,
            "fr_met_pct": sla["fr_met_pct"][i],
            "fr_breached": sla["fr_breached"][i],
            "res_met_pct": sla["res_met_pct"][i],
            "res_breached": sla["res_breached"][i],
            "median": frt["median_hours"][i],
            "p90": frt["p90_hours"][i],
            "ratings": csat["weekly_ratings"][i],
            "satisfied": csat["weekly_satisfied_pct"][i],
        }
        for i, week in enumerate(data["weeks"])
    ]


def _agent_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    agents = data["agents"]
    return [
        {
            "name": name,
            "load": agents["load"][i],
            "replies": agents["replies"][i],
            "solved": agents["solved"][i],
        }
        for i, name in enumerate(agents["names"])
    ]


def _csv(data: dict[str, Any], first: date, last: date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="report-{first}-{last}.csv"'
    writer = csv.writer(response)
    for row in report_rows(data):
        writer.writerow(row)
    return response
