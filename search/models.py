"""The search index: one entry per message and per ticket subject, written in the same
transaction as the message or ticket (``search.indexing``), so a search never misses
what has committed.

On PostgreSQL an entry carries a ``tsvector`` (GIN-indexed) and its identifiers as text
(trigram-indexed); on SQLite the words go to an FTS5 table (``search_fts``, rowid = entry
id) created by the migrations. Both are read through ``search.selectors``.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from tickets.models import Message, Ticket


class EntryKind(models.TextChoices):
    SUBJECT = "subject", "Ticket subject"
    MESSAGE = "message", "Message to or from the customer"
    NOTE = "note", "Internal note"


class Entry(models.Model):
    """What one subject or message contributes to the index."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=EntryKind.choices)
    config = models.CharField(max_length=16, help_text="Text search configuration (language).")
    # Identifiers (addresses, domains, phone digits, codes), space-separated: the part of
    # the entry matched by fragments (trigrams), e.g. the last digits of a phone number.
    idents = models.TextField(blank=True)
    # PostgreSQL only (NULL on SQLite, where search_fts holds the words).
    vector = SearchVectorField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=EntryKind.values), name="search_entry_kind_valid"
            ),
            # A ticket has one subject entry; a message entry names its message.
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(kind="subject"),
                name="search_entry_one_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="subject", message__isnull=True)
                | (~models.Q(kind="subject") & models.Q(message__isnull=False)),
                name="search_entry_subject_has_no_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of ticket #{self.ticket_id}"


class Word(models.Model):
    """The words the index holds, for "did you mean" on a query with a typo
    (trigram similarity on PostgreSQL). Kept by a beat task: a missing new word only
    delays its use as a correction, never its finding."""

    word = models.CharField(max_length=100, primary_key=True)
    documents = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.word


class WordConfig(models.Model):
    """How many entries of each text search configuration (language) hold a word, the
    word as written (``Word`` counts them over every configuration). The search's way to
    the newest matches estimates from these how often a query's words meet in one entry:
    words of one language meet far more often than by chance, a word shared by every
    language far less often with one language's words than their overall counts say.
    The row with the empty word counts the configuration's entries. Kept by the same beat
    task as ``Word``; the estimate reads it once it has caught up with ``Word``."""

    word = models.CharField(max_length=100, db_index=True)
    config = models.CharField(max_length=16)
    documents = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["word", "config"], name="search_wordconfig_unique")
        ]

    def __str__(self) -> str:
        return f"{self.word} ({self.config})"


class WordsWatermark(models.Model):
    """The last entry whose words are counted: row 1 for ``Word``, row 2 for
    ``WordConfig`` (each kept by its own pass, so the second can catch up on a desk that
    had the first before it)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_entry_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"words up to entry {self.last_entry_id}"
