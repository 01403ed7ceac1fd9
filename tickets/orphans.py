"""Remove stored files that no attachment refers to.

An attachment's file is written to the storage inside the transaction that adds its
message, before the commit: a committed row never points at a missing file. When that
transaction rolls back (a lost race, a crash, a constraint), the file stays behind with
no row. This sweep removes such files once they are older than a grace age, so a file
whose transaction is still open is never taken.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from .models import Attachment

log = logging.getLogger(__name__)

PREFIX = "attachments/"  # where attachment_upload_to puts every file
BATCH = 500


def orphan_files_remove(*, grace: timedelta, storage: Storage | None = None) -> int:
    """Delete the files under ``attachments/`` that no ``Attachment`` names and that were
    last written more than ``grace`` ago; return how many were deleted."""
    storage = storage or default_storage
    cutoff = timezone.now() - grace
    removed = 0
    batch: list[str] = []
    for name, modified in _stored_files(storage):
        if modified < cutoff:
            batch.append(name)
        if len(batch) >= BATCH:
            removed += _remove_unreferenced(storage, batch)
            batch = []
    if batch:
        removed += _remove_unreferenced(storage, batch)
    return removed


def _remove_unreferenced(storage: Storage, names: list[str]) -> int:
    referenced = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    removed = 0
    for name in names:
        if name not in referenced:
            storage.delete(name)
            log.info("removed orphaned file %s", name)
            removed += 1
    return removed


def _stored_files(storage: Storage) -> Iterator[tuple[str, datetime]]:
    """Yield (name, last modified) of every file under PREFIX."""
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:  # S3: one listing gives names and dates, no request per object
        location = getattr(storage, "location", "").strip("/")
        root = f"{location}/" if location else ""
        for obj in bucket.objects.filter(Prefix=root + PREFIX):
            yield obj.key[len(root) :], obj.last_modified
        return
    yield from _walk(storage, PREFIX.rstrip("/"))


def _walk(storage: Storage, folder: str) -> Iterator[tuple[str, datetime]]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        path = f"{folder}/{name}"
        yield path, storage.get_modified_time(path)
    for sub in folders:
        yield from _walk(storage, f"{folder}/{sub}")
