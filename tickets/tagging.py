"""Tags on tickets. Re-exported by ``tickets.services``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .errors import InvalidInput
from .events import record_event
from .models import EventKind, Tag, Ticket

TAG_PATTERN = re.compile(r"^[\w][\w.+-]{0,49}$")


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Return the names lower-cased, stripped and de-duplicated; raise InvalidInput for
    a name that is not a tag (letters, digits, ``_ . + -``; up to 50 characters)."""
    out: list[str] = []
    for raw in names:
        name = (raw or "").strip().lstrip("#").lower()
        if not name:
            continue
        if not TAG_PATTERN.match(name):
            raise InvalidInput(
                "tags",
                f"{raw!r} is not a tag: use letters, digits, _ . + - (no spaces, at most 50).",
            )
        if name not in out:
            out.append(name)
    return out


@transaction.atomic
def ticket_tags_set(
    *,
    ticket: Ticket,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: User | None = None,
) -> Ticket:
    """Add and remove tags on the ticket (new tag names are created); record the change."""
    to_add, to_remove = clean_tag_names(add), clean_tag_names(remove)
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    current = set(locked.tags.values_list("name", flat=True))
    added = [n for n in to_add if n not in current and n not in to_remove]
    removed = [n for n in to_remove if n in current]
    if not added and not removed:
        return locked
    if added:
        existing = {t.name: t for t in Tag.objects.filter(name__in=added)}
        missing = [Tag(name=n) for n in added if n not in existing]
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        locked.tags.add(*Tag.objects.filter(name__in=added))
    if removed:
        locked.tags.remove(*Tag.objects.filter(name__in=removed))
    record_event(locked, EventKind.TAGS_CHANGED, actor, added=added, removed=removed)
    locked.updated_at = timezone.now()
    locked.save(update_fields=["updated_at"])
    return locked
