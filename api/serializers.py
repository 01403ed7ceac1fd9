"""Shapes of the API's input and output; validation only, writes happen in the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from sla.selectors import sla_json
from tickets.errors import InvalidInput
from tickets.models import (
    Department,
    Direction,
    Message,
    Severity,
    Status,
    Ticket,
    format_reference,
)
from tickets.phones import normalize_phone
from tickets.submission import TOPICS

SPOKEN = [(Direction.INBOUND, "inbound"), (Direction.OUTBOUND, "outbound")]
# Times from outside systems must be plausible: an SLA clock cannot count from 0001 or
# 2452, and a line dated in the future would sort after every answer to it.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
LONGEST_CALL_SECONDS = 24 * 3600


def plausible_time(value: datetime) -> datetime:
    if value < EARLIEST or value > timezone.now() + FUTURE_SLACK:
        raise serializers.ValidationError(
            "Send a time between 2000-01-01 and now (with its UTC offset)."
        )
    return value


def active_department(slug: str, *, chat: bool = False) -> str:
    department = Department.objects.filter(slug=slug, is_active=True).first()
    if department is None:
        raise serializers.ValidationError(f"No active department {slug!r}: use its slug.")
    if chat and not department.accepts_chat:
        raise serializers.ValidationError(f"{department} does not take chats; send email.")
    return slug


def active_agent(username: str) -> str:
    if not get_user_model().objects.filter(username=username, is_active=True).exists():
        raise serializers.ValidationError(f"No active agent {username!r}: send a username.")
    return username


class ChatLineIn(serializers.Serializer):
    id = serializers.CharField(max_length=300, help_text="The line's id in your system.")
    conversation_id = serializers.CharField(max_length=150)
    text = serializers.CharField(max_length=20000)
    occurred_at = serializers.DateTimeField(required=False)
    direction = serializers.ChoiceField(choices=SPOKEN, default=Direction.INBOUND)
    from_email = serializers.EmailField(required=False)
    from_handle = serializers.CharField(required=False, max_length=200)
    from_name = serializers.CharField(required=False, max_length=200)
    agent = serializers.CharField(required=False, max_length=150)
    subject = serializers.CharField(required=False, max_length=255)
    department = serializers.SlugField(required=False)

    def validate_occurred_at(self, value: datetime) -> datetime:
        return plausible_time(value)

    def validate_department(self, value: str) -> str:
        return active_department(value, chat=True)

    def validate_agent(self, value: str) -> str:
        return active_agent(value)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("direction") == Direction.OUTBOUND and not attrs.get("agent"):
            raise serializers.ValidationError(
                {"agent": "Outbound lines need the agent's username."}
            )
        return attrs


class CallIn(serializers.Serializer):
    call_id = serializers.CharField(max_length=300, help_text="The call's id in your system.")
    caller = serializers.CharField(max_length=40, help_text="The customer's number, any notation.")
    direction = serializers.ChoiceField(choices=SPOKEN, default=Direction.INBOUND)
    started_at = serializers.DateTimeField(required=False)
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=LONGEST_CALL_SECONDS, default=0
    )
    summary = serializers.CharField(max_length=20000)
    outcome = serializers.CharField(required=False, max_length=50, allow_blank=True)
    ticket = serializers.CharField(required=False, max_length=40)
    subject = serializers.CharField(required=False, max_length=255)
    department = serializers.SlugField(required=False)
    agent = serializers.CharField(required=False, max_length=150)

    def validate_caller(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except InvalidInput as exc:
            raise serializers.ValidationError(exc.detail) from exc

    def validate_started_at(self, value: datetime) -> datetime:
        return plausible_time(value)

    def validate_department(self, value: str) -> str:
        return active_department(value)

    def validate_agent(self, value: str) -> str:
        return active_agent(value)


class InboundAccepted(serializers.Serializer):
    record = serializers.IntegerField()
    status = serializers.CharField()
    ticket = serializers.CharField(required=False)
    message = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False)


class TicketIn(serializers.Serializer):
    topic = serializers.ChoiceField(choices=[(k, v[0]) for k, v in TOPICS.items()])
    subject = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=50000)
    details = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    happened_at = serializers.DateTimeField(required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.S3)
    from_email = serializers.EmailField()
    reseller_id = serializers.CharField(required=False, max_length=32)
    external_id = serializers.CharField(required=False, max_length=300)

    def validate_happened_at(self, value: datetime) -> datetime:
        return plausible_time(value)


class MessageOut(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name")
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "channel", "direction", "author", "body_text", "occurred_at", "attachments"]

    def get_attachments(self, obj: Message) -> list[dict]:
        return [
            {"filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in obj.attachments.all()
        ]


class TicketOut(serializers.ModelSerializer):
    reference = serializers.CharField()
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    account = serializers.SerializerMethodField()
    contact = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Status.choices)

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "number",
            "subject",
            "status",
            "severity",
            "department",
            "origin_channel",
            "account",
            "contact",
            "created_at",
            "updated_at",
        ]

    def get_account(self, obj: Ticket) -> dict | None:
        if obj.account_id is None:
            return None
        return {"name": obj.account.name, "reseller_id": obj.account.reseller_id}

    def get_contact(self, obj: Ticket) -> dict | None:
        if obj.contact_id is None:
            return None
        emails = [e.email for e in obj.contact.emails.all()]
        return {"name": obj.contact.name, "email": emails[0] if emails else ""}


def ticket_json(row: dict) -> dict:
    """Return what TicketOut returns for a ``tickets.selectors.ticket_list_rows`` row.

    Built directly from the row (no model instances, no serializer fields): the list is
    the API's busiest call, and this is several times cheaper than ``TicketOut``.
    """
    return {
        "reference": format_reference(row["number"]),
        "number": row["number"],
        "subject": row["subject"],
        "status": row["status"],
        "severity": row["severity"],
        "department": row["department__slug"],
        "origin_channel": row["origin_channel"],
        "account": {"name": row["account__name"], "reseller_id": row["account__reseller_id"]}
        if row["account_id"] is not None
        else None,
        "contact": {"name": row["contact__name"], "email": row["contact_email"] or ""}
        if row["contact_id"] is not None
        else None,
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


def _iso(value) -> str:
    # The same text DRF's DateTimeField renders with USE_TZ and UTC.
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class TicketDetailOut(TicketOut):
    timeline = serializers.SerializerMethodField()
    line = serializers.SerializerMethodField()
    sla = serializers.SerializerMethodField()

    class Meta(TicketOut.Meta):
        fields = [*TicketOut.Meta.fields, "line", "sla", "timeline"]

    def get_timeline(self, obj: Ticket) -> list[dict]:
        return MessageOut(self.context["timeline"], many=True).data

    def get_line(self, obj: Ticket) -> dict:
        """The support line the customer contacted."""
        line = obj.line
        return {"slug": line.slug, "name": line.name, "organisation": line.organisation}

    def get_sla(self, obj: Ticket) -> dict | None:
        """Each target's due time (ISO 8601 with the calendar's offset), state, policy and
        explanation; None until the ticket's clocks are first computed."""
        return sla_json(obj)
