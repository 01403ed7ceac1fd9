"""``/api/v1/``: outside systems push chat lines and calls, and list, read and open tickets."""

from __future__ import annotations

import re
from typing import Any

from django.db import DatabaseError
from django.db.models import Prefetch
from django.http import HttpResponseBase
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.inbound import inbound_process, inbound_store
from channels_app.models import InboundRecord, InboundStatus
from tickets.errors import InvalidInput, TicketError
from tickets.models import Account, Channel, ContactEmail, Status
from tickets.selectors import (
    contacts_by_email,
    ticket_by_reference,
    ticket_list,
    ticket_list_rows,
    ticket_timeline,
)
from tickets.submission import Submission, submission_open
from webcache import list_cache

from . import serializers as s
from .models import Integration
from .parsers import StrictJSONParser

SLUG = r"^[-a-zA-Z0-9_]+$"
FILTERS = ("status", "department", "channel", "contact_email", "updated_since")


def _sync(request: Request) -> bool:
    return request.query_params.get("sync") in ("1", "true", "yes")


class _InboundView(APIView):
    """Validate, store the raw payload first, then queue (or, with ``?sync=1``, run) processing."""

    channel: str
    serializer_class: type[serializers.Serializer]
    id_field: str
    parser_classes = [StrictJSONParser]  # the raw payload is stored as sent: one JSON object

    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send one JSON object per entry."]})
        checked = self.serializer_class(data=request.data)
        checked.is_valid(raise_exception=True)
        integration: Integration = request.auth
        # The integration's name is part of the stored payload, so two integrations that send
        # the same body are two raw records (each keeps its own source).
        payload = {
            **request.data,
            **_jsonable(checked.validated_data),
            "integration": integration.name,
            # The integration's line: its chats and calls are that line's tickets.
            **({"line": integration.line.slug} if integration.line_id else {}),
        }
        external_id = f"{integration.name}:{checked.validated_data[self.id_field]}"
        if _changed_resend(self.channel, external_id, payload):
            return Response(
                {
                    self.id_field: [
                        "This id was already sent with other content; an entry cannot be "
                        "changed. Send the new content under a new id."
                    ]
                },
                status=status.HTTP_409_CONFLICT,
            )
        record, created = inbound_store(
            channel=self.channel,
            source=f"api:{integration.name}",
            payload=payload,
            external_id=external_id,
        )
        if not _sync(request):
            return Response(
                {"record": record.pk, "status": record.status},
                status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            )
        try:
            record = inbound_process(record.pk)
        except DatabaseError:  # e.g. two first lines of one chat at once: the task retries it
            return Response(
                {"record": record.pk, "status": record.status}, status=status.HTTP_202_ACCEPTED
            )
        if record.status == InboundStatus.FAILED:
            return Response(
                {"record": record.pk, "status": record.status, "error": record.error},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        body = {"record": record.pk, "status": record.status}
        if record.message_id:
            body |= {"ticket": record.message.ticket.reference, "message": record.message_id}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _changed_resend(channel: str, external_id: str, payload: dict[str, Any]) -> bool:
    """Whether an entry with this id was stored before with other content (a re-sent id
    with new text would otherwise be answered as stored while the text is dropped)."""
    earlier = (
        InboundRecord.objects.filter(channel=channel, external_id=external_id)
        .values_list("payload", flat=True)
        .first()
    )
    return earlier is not None and earlier != payload


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}


_SYNC_PARAM = OpenApiParameter(
    "sync", bool, description="Process in the request and return the ticket (201)."
)


class ChatLineView(_InboundView):
    required_scope = "can_push_chat"
    channel = Channel.CHAT
    serializer_class = s.ChatLineIn
    id_field = "id"

    @extend_schema(
        request=s.ChatLineIn,
        responses={202: s.InboundAccepted, 201: s.InboundAccepted, 200: s.InboundAccepted},
        parameters=[_SYNC_PARAM],
        summary="Push one chat line (idempotent on id: 200 for one sent before)",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class CallView(_InboundView):
    required_scope = "can_push_phone"
    channel = Channel.PHONE
    serializer_class = s.CallIn
    id_field = "call_id"

    @extend_schema(
        request=s.CallIn,
        responses={202: s.InboundAccepted, 201: s.InboundAccepted, 200: s.InboundAccepted},
        parameters=[_SYNC_PARAM],
        summary="Push one call record (idempotent on call_id: 200 for one sent before)",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class TicketCursor(CursorPagination):
    ordering = ("-updated_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isascii() and raw.isdigit() and 0 < int(raw)):
            raise ValidationError({"page_size": ["Send a whole number from 1 to 200."]})
        return super().get_page_size(request)

    def decode_cursor(self, request: Request) -> Any:
        cursor = super().decode_cursor(request)
        # The position is an updated_at we wrote; anything else would reach the database.
        if cursor is not None and cursor.position is not None:
            try:
                when = parse_datetime(cursor.position)
            except ValueError:
                when = None
            if when is None or "\x00" in cursor.position:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class TicketListView(generics.GenericAPIView):
    required_scope = {"GET": "can_read_tickets", "POST": "can_open_tickets"}
    pagination_class = TicketCursor
    serializer_class = s.TicketOut

    def get_queryset(self):
        qs = ticket_list_rows()
        params = self.request.query_params
        blank = [name for name in FILTERS if name in params and not params[name].strip()]
        if blank:
            raise ValidationError(
                {name: ["Give a value, or leave the filter out."] for name in blank}
            )
        if value := params.get("status"):
            if value not in Status.values:
                raise ValidationError({"status": [f"Use one of {', '.join(Status.values)}."]})
            qs = qs.filter(status=value)
        if value := params.get("department"):
            if not re.fullmatch(SLUG, value):
                raise ValidationError({"department": ["Use a department slug."]})
            qs = qs.filter(department__slug=value)
        if value := params.get("channel"):
            if value not in Channel.values:
                raise ValidationError({"channel": [f"Use one of {', '.join(Channel.values)}."]})
            qs = qs.filter(origin_channel=value)
        if value := params.get("contact_email"):
            qs = qs.filter(contact__in=contacts_by_email(value).values("pk"))
        if value := params.get("updated_since"):
            try:
                when = serializers.DateTimeField().to_internal_value(value)
            except serializers.ValidationError as exc:
                raise ValidationError({"updated_since": exc.detail}) from exc
            qs = qs.filter(updated_at__gte=when)
        return qs

    @extend_schema(
        responses=s.TicketOut(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=Status.values),
            OpenApiParameter("department", str, description="department slug", pattern=SLUG),
            OpenApiParameter(
                "channel", str, enum=Channel.values, description="the channel it came in by"
            ),
            OpenApiParameter("contact_email", str),
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="ISO 8601 with offset"
            ),
        ],
        summary="List tickets, most recently updated first (cursor pagination)",
    )
    def get(self, request: Request) -> HttpResponseBase:
        # DRF authenticated the integration and checked its read permission before this
        # handler runs: only now may a page come from the cache, kept per integration.
        return list_cache.cached_page(
            request._request,
            principal=request.auth,
            scopes=[list_cache.ALL],
            render=lambda: self._rendered(request, self._page()),
        )

    def _page(self) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([s.ticket_json(t) for t in page])

    def _rendered(self, request: Request, response: Response) -> Response:
        """Render the answer here (``dispatch`` would, later) so its bytes can be kept."""
        response = self.finalize_response(request, response)
        response.render()
        return response

    @extend_schema(
        request=s.TicketIn,
        responses={201: s.TicketDetailOut, 200: s.TicketDetailOut},
        summary="Open a ticket as the portal does (idempotent on external_id: 200 again)",
    )
    def post(self, request: Request) -> Response:
        checked = s.TicketIn(data=request.data)
        checked.is_valid(raise_exception=True)
        data = checked.validated_data
        integration: Integration = request.auth
        account = None
        if reseller_id := data.get("reseller_id"):
            account = Account.objects.filter(reseller_id=reseller_id).first()
            if account is None:
                raise ValidationError({"reseller_id": ["No account has this reseller ID."]})
        contact = contacts_by_email(data["from_email"]).first()
        external = data.get("external_id")
        try:
            result = submission_open(
                Submission(
                    topic=data["topic"],
                    subject=data["subject"],
                    description=data["description"],
                    details=data.get("details", ""),
                    happened_at=data.get("happened_at"),
                    severity=int(data["severity"]),
                    channel=Channel.API,
                    contact=contact,
                    account=account,
                    from_email=data["from_email"],
                    external_id=f"{integration.name}:{external}" if external else None,
                    line=integration.line,
                )
            )
        except InvalidInput as exc:
            raise ValidationError({exc.field: [exc.detail]}) from exc
        except TicketError as exc:
            raise ValidationError({"non_field_errors": [exc.message]}) from exc
        ticket = result.ticket
        return Response(
            _detail(ticket),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class TicketDetailView(APIView):
    required_scope = "can_read_tickets"

    @extend_schema(responses=s.TicketDetailOut, summary="One ticket with its timeline")
    def get(self, request: Request, reference: str) -> Response:
        ticket = ticket_by_reference(reference)
        if ticket is None:
            raise NotFound(f"No ticket {reference!r}.")
        return Response(_detail(ticket))


def _detail(ticket) -> dict:
    ticket = (
        ticket_list()
        .select_related("line")
        .prefetch_related(
            Prefetch("contact__emails", queryset=ContactEmail.objects.order_by("-is_primary", "id"))
        )
        .get(pk=ticket.pk)
    )
    # Internal notes stay internal: integrations are outside systems.
    timeline = [m for m in ticket_timeline(ticket) if m.channel != Channel.NOTE]
    return s.TicketDetailOut(ticket, context={"timeline": timeline}).data
