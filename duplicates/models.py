"""What duplicate detection stores: each ticket's signature, its indexed retrieval keys,
and the flags agents act on.

``DuplicateBand`` is the index that keeps candidate retrieval sublinear: a new ticket
looks up its own few dozen keys (LSH bands and identifiers, namespaced by account or
contact) instead of scanning open tickets.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket


class TicketSignature(models.Model):
    """The comparable evidence of one ticket (see ``duplicates.features``)."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="duplicate_signature"
    )
    contact_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    text_hash = models.CharField(max_length=32)
    tokens = models.JSONField(default=list)
    subject_tokens = models.JSONField(default=list)
    identifiers = models.JSONField(default=dict)
    minhash = models.BinaryField(default=bytes, help_text="MinHash, 64 unsigned 64-bit ints")
    language = models.CharField(max_length=2, default="en")
    # ``markers.MARKS`` found in the text: a how-to question, settled in the contact, …
    marks = models.JSONField(default=list)
    # ``features.VERSION`` it was computed with; older ones are computed again before use.
    version = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)
    # What the last detection that ran to its end (its flags filed) read: the digest of
    # the features' inputs (``features.features_inputs``), then ``signatures.material_hash``
    # of the features. A reply that leaves the first as it was is not built, looked up or
    # scored again, one that leaves the second not looked up or scored. Written after
    # the flags, so a run cut off in between detects again.
    checked = models.CharField(max_length=64, blank=True, default="", db_default="")
    # A digest of the evidence a lookup decodes (the columns above but the MinHash): a
    # candidate's lookup row carries it, and a process that decoded that evidence before
    # keeps it, so the JSON is neither sent nor decoded again. NULL: filed before it was.
    evidence_stamp = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signature of ticket {self.ticket_id}"


class DuplicateBand(models.Model):
    """One retrieval key of a ticket; the (band_key, created_at) index answers lookups."""

    # The key is the pair: a surrogate id was one more index entry (and a sequence step)
    # on every insert into this, the largest table, and nothing read it. The pair's index
    # serves what is read by ticket (its keys filed before, a deleted ticket's keys) and
    # refuses a key filed twice (``signatures._bands_insert``). Migration 0010.
    pk = models.CompositePrimaryKey("ticket", "band_key")
    band_key = models.BigIntegerField()
    # No foreign key in the database: its check (``SELECT 1 … FOR KEY SHARE`` on the ticket,
    # one a key, ~19 keys a new ticket) was ~40% of the keys' insert (bench/README.md,
    # 2026-12-07 ingest-follow). Deleting a ticket still deletes its keys (Django's cascade,
    # as every delete here goes through it), a TRUNCATE of the tickets empties them
    # (migration 0008's trigger), and a key left by a ticket deleted meanwhile is harmless:
    # lookups join the tickets.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    contact_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["band_key", "created_at"], name="dupband_key_created")]

    def __str__(self) -> str:
        return f"{self.band_key} -> ticket {self.ticket_id}"


class FlagStatus(models.TextChoices):
    SUGGESTED = "suggested", _("Suggested")
    DISMISSED = "dismissed", _("Dismissed")
    MERGED = "merged", _("Merged")


class DuplicateFlag(models.Model):
    """``ticket`` is possibly a duplicate of the older ``candidate``."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="duplicate_flags")
    candidate = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=FlagStatus.choices,
        default=FlagStatus.SUGGESTED,
        db_index=True,
    )
    auto_merged = models.BooleanField(_("merged automatically"), default=False)
    # Set when the note and the assignee mail went out (the ``duplicates.announce`` task).
    announced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("duplicate flag")
        verbose_name_plural = _("duplicate flags")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "candidate"], name="dupflag_pair_unique"),
            models.CheckConstraint(
                condition=Q(status__in=FlagStatus.values), name="dupflag_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(ticket=models.F("candidate")), name="dupflag_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} possibly duplicates ticket {self.candidate_id}"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    OPENED = "opened", _("Problem ticket opened")
    DISMISSED = "dismissed", _("Dismissed")


class ProblemProposal(models.Model):
    """Many accounts report one error code or service at once: open a problem ticket?

    ``band_key`` is the global retrieval key of that code or service (``DuplicateBand``),
    so the incidents are found by the same index detection uses.
    """

    band_key = models.BigIntegerField()
    kind = models.CharField(max_length=12, help_text="error or service")
    value = models.CharField(max_length=200)
    accounts = models.PositiveIntegerField(
        _("accounts"), help_text=_("Accounts that reported it in the window")
    )
    first_ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        _("status"), max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED
    )
    problem = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("problem proposal")
        verbose_name_plural = _("problem proposals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["band_key", "status"], name="dupproposal_key_status")]
        constraints = [
            # One live proposal per code: the next reports update it instead.
            models.UniqueConstraint(
                fields=["band_key"],
                condition=Q(status="proposed"),
                name="dupproposal_one_proposed",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values), name="dupproposal_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.accounts} accounts report {self.kind} {self.value}"
