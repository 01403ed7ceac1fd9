"""Serve a stored attachment once the caller has checked the permission.

Always a download (``application/octet-stream``, ``Content-Disposition: attachment``):
an HTML or SVG file from a customer must not render in our origin, nor in the store's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.http import content_disposition_header

from .models import Attachment

DOWNLOAD_TYPE = "application/octet-stream"


def attachment_response(attachment: Attachment) -> HttpResponseBase:
    """Return the download of ``attachment``: streamed from the storage, or a redirect to
    a short-lived signed URL when ``SUPPORTDESK_FILES_REDIRECT`` is on and the storage
    signs URLs (S3). Call only after the permission check."""
    if settings.SUPPORTDESK_FILES_REDIRECT and _signs_urls(attachment):
        storage: Any = attachment.file.storage  # one that signs URLs (S3) takes parameters
        url = storage.url(
            attachment.file.name,
            parameters={
                "ResponseContentType": DOWNLOAD_TYPE,
                "ResponseContentDisposition": content_disposition_header(
                    as_attachment=True, filename=attachment.filename
                ),
            },
        )
        response: HttpResponse = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"  # the URL is a bearer token
        return response
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=DOWNLOAD_TYPE,
    )


def _signs_urls(attachment: Attachment) -> bool:
    return bool(getattr(attachment.file.storage, "querystring_auth", False))
