"""``GET /api/v1/search/?q=``: the agents' search for integrations (internal notes left
out), with the API's own authentication and the "read tickets" permission."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .forms import SearchForm
from .selectors import INTEGRATIONS, ticket_search


class SearchHitOut(serializers.Serializer):
    reference = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    department = serializers.CharField()
    channel = serializers.CharField()
    updated_at = serializers.DateTimeField()
    score = serializers.FloatField()
    matched = serializers.ListField(child=serializers.CharField())
    snippet = serializers.CharField(help_text="HTML; the matches in <mark>.")
    url = serializers.CharField()


class SearchPageOut(serializers.Serializer):
    query = serializers.CharField()
    page = serializers.IntegerField()
    total = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    suggestion = serializers.CharField()
    recent_only = serializers.BooleanField(
        help_text="The words are too common (stop words alone): only recent conversations "
        "were searched."
    )
    results = SearchHitOut(many=True)


class SearchView(APIView):
    required_scope = "can_read_tickets"

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="Words or an identifier."),
            OpenApiParameter("status", str, many=True),
            OpenApiParameter("department", int, many=True, description="department id"),
            OpenApiParameter("channel", str, many=True),
            OpenApiParameter("assignee", str, many=True, description="agent id or 'none'"),
            OpenApiParameter("tag", str),
            OpenApiParameter("created_from", str, description="YYYY-MM-DD (desk time zone)"),
            OpenApiParameter("created_to", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("page", int),
        ],
        responses=SearchPageOut,
        summary="Search tickets: numbers, reseller IDs, addresses, phone numbers, words",
    )
    def get(self, request: Request) -> Response:
        form = SearchForm(request.query_params, zone=ZoneInfo(settings.TIME_ZONE))
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        if not form.cleaned_data["q"].strip():
            raise ValidationError({"q": ["Give the words or identifier to search for."]})
        number = form.cleaned_data.get("page") or 1
        page = ticket_search(
            form.cleaned_data["q"], filters=form.filters(), scope=INTEGRATIONS, page=number
        )
        following = None
        if page.more:
            params = request.query_params.copy()
            params["page"] = str(number + 1)
            following = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
        return Response(
            {
                "query": page.query.text,
                "page": number,
                "total": page.total,
                "next": following,
                "suggestion": page.suggestion,
                "recent_only": page.recent_only,
                "results": [
                    {
                        "reference": h.ticket.reference,
                        "subject": h.ticket.subject,
                        "status": h.ticket.status,
                        "department": h.ticket.department.slug,
                        "channel": h.ticket.origin_channel,
                        "updated_at": h.ticket.updated_at,
                        "score": round(h.score, 3),
                        "matched": h.reasons,
                        "snippet": str(h.snippet),
                        "url": reverse("api:ticket", args=[h.ticket.reference]),
                    }
                    for h in page.hits
                ],
            }
        )
