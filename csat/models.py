"""Customer satisfaction: one "How did we do?" per solve of a ticket, and its answer."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Contact, Ticket, TicketEvent


class Via(models.TextChoices):
    EMAIL = "email", "Email link"
    PORTAL = "portal", "Portal"
    CHAT = "chat", "End of a chat"


SCORES = (1, 2, 3, 4, 5)


class Survey(models.Model):
    """The question asked after one solve (the ``solved`` status event): at most one per
    solve, so a ticket solved twice is asked twice, never twice for one solve."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    solve_event = models.OneToOneField(TicketEvent, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(blank=True, help_text="Where the question was mailed, if it was.")
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    rated_via = models.CharField(max_length=8, choices=Via.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-created_at"], name="csat_survey_ticket")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="csat_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rated_at__isnull=False),
                name="csat_rated_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"survey of ticket #{self.ticket_id} ({self.rating or 'unanswered'})"
