"""Search's beat tasks: the vocabulary used for typo corrections, the index's bands."""

from __future__ import annotations

from celery import shared_task

from .bands import bands_build, pending_flush
from .words import words_refresh as _words_refresh


@shared_task(name="search.words_refresh", soft_time_limit=240, time_limit=300, expires=240)
def words_refresh() -> int:
    """Add the words of newly indexed messages to the typo vocabulary; return how many
    entries were read."""
    return _words_refresh()


@shared_task(name="search.bands", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60, expires=540)
def bands() -> list[str]:
    """Close the full newest band of the words' index and open the next, build the bands
    an upgraded desk lacks, drop what they replace (``search.bands``), concurrently: the
    desk keeps searching and writing meanwhile."""
    return bands_build(concurrently=True)


@shared_task(name="search.pending", soft_time_limit=50, time_limit=55, expires=55)
def pending() -> list[str]:
    """Move the new entries waiting in the GIN pending lists into the indexes' trees, so
    a search never reads more than a minute's writes unsorted (``search.bands``)."""
    return pending_flush()
