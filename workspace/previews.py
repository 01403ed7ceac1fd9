"""Previews of attachments for agents: images inline, text in the page, a PDF's first page.

Nothing a customer sent is ever served as HTML, SVG or script in our origin: images are
served only for raster types whose first bytes match, with ``nosniff`` and a sandboxing
CSP; everything else is a download (or text shown escaped).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.urls import reverse

from tickets.models import Attachment

log = logging.getLogger(__name__)

# Raster types a browser shows without running anything, by their magic bytes.
IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
TEXT_TYPES = ("text/plain", "text/csv", "text/x-log", "application/json", "message/delivery-status")
TEXT_EXTENSIONS = (".txt", ".log", ".csv", ".json", ".md")
TEXT_PREVIEW_BYTES = 64 * 1024
PDF_MAX_BYTES = 20 * 1024 * 1024
PDF_WIDTH = 800


def kind(attachment: Attachment) -> str:
    """Return how the attachment can be previewed: image, text, pdf or file."""
    content_type = (attachment.content_type or "").lower().split(";")[0].strip()
    name = attachment.filename.lower()
    if content_type in IMAGE_MAGIC:
        return "image"
    if content_type == "application/pdf" or name.endswith(".pdf"):
        return "pdf"
    if content_type in TEXT_TYPES or name.endswith(TEXT_EXTENSIONS):
        return "text"
    return "file"


def is_image(attachment: Attachment) -> bool:
    return kind(attachment) == "image"


def describe(attachment: Attachment) -> dict[str, Any]:
    """Return what the conversation shows for an attachment."""
    found = kind(attachment)
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "kind": found,
        "download_url": reverse("workspace:attachment_download", args=[attachment.pk]),
        "inline_url": reverse("workspace:attachment_inline", args=[attachment.pk])
        if found == "image"
        else "",
        "preview_url": reverse("workspace:attachment_preview", args=[attachment.pk])
        if found in ("text", "pdf")
        else "",
    }


def image_bytes(attachment: Attachment) -> tuple[bytes, str] | None:
    """Return the image's bytes and type if they really are that raster type."""
    content_type = (attachment.content_type or "").lower().split(";")[0].strip()
    magics = IMAGE_MAGIC.get(content_type)
    if not magics:
        return None
    with attachment.file.open("rb") as handle:
        data = handle.read()
    if not data.startswith(magics):
        return None
    if content_type == "image/webp" and data[8:12] != b"WEBP":
        return None
    return data, content_type


def text_preview(attachment: Attachment) -> tuple[str, bool]:
    """Return the start of a text attachment (decoded, replacement characters for bad
    bytes) and whether it was cut."""
    with attachment.file.open("rb") as handle:
        data = handle.read(TEXT_PREVIEW_BYTES + 1)
    cut = len(data) > TEXT_PREVIEW_BYTES
    return data[:TEXT_PREVIEW_BYTES].decode("utf-8", errors="replace"), cut


def pdf_first_page_png(attachment: Attachment) -> bytes | None:
    """Return the PDF's first page as a PNG (None if it cannot be rendered)."""
    if attachment.size > PDF_MAX_BYTES:
        return None
    try:
        import pypdfium2 as pdfium

        with attachment.file.open("rb") as handle:
            document = pdfium.PdfDocument(handle.read())
        try:
            if len(document) == 0:
                return None
            page = document[0]
            width = page.get_width() or PDF_WIDTH
            image = page.render(scale=min(2.0, PDF_WIDTH / width)).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG")
            return out.getvalue()
        finally:
            document.close()
    except Exception:  # a broken or hostile PDF gets the download link only
        log.warning(
            "could not render the first page of attachment %s", attachment.pk, exc_info=True
        )
        return None
