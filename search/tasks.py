"""Search's beat task: the vocabulary used for typo corrections."""

from __future__ import annotations

from celery import shared_task

from .words import words_refresh as _words_refresh


@shared_task(name="search.words_refresh", soft_time_limit=240, time_limit=300, expires=240)
def words_refresh() -> int:
    """Add the words of newly indexed messages to the typo vocabulary; return how many
    entries were read."""
    return _words_refresh()
