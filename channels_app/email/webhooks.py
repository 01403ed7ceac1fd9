"""anymail's inbound webhook views, taking mail up to ``SUPPORTDESK_WEBHOOK_MAX_BYTES``.

Django refuses request bodies over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) with a 400,
which an ESP retries and then drops: mail with a few MB of attachments never arrived.
Only on the inbound URLs (``supportdesk/webhooks.py`` wraps each view with this, inside its
basic-auth check, so a stranger cannot make us read a large body), the body is read here
and handed to anymail as already read, with forms
parsed without Django's per-field cap. A mail larger than the limit is stored without
what does not fit (see ``shrink.py``) and answered 200, so the ESP stops retrying; a body
past ``HARD_LIMIT_FACTOR`` times the limit is not read at all (413).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from functools import wraps
from typing import Any, cast

from anymail.exceptions import AnymailWebhookValidationFailure
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.utils.datastructures import MultiValueDict

from tickets.models import Channel

from ..inbound import inbound_store
from ..middleware import MARK
from ..windows import enqueue_in_window
from .receivers import store_raw_email

logger = logging.getLogger(__name__)
# ESPs that post the whole raw mail in one field (Mailgun's MIME URL, SendGrid's "POST the
# raw, full MIME message", Postmark's RawEmail option).
RAW_MIME_FIELDS = {"mailgun": "body-mime", "sendgrid": "email", "postmark": "RawEmail"}
# A request carries the mail in JSON or a form, maybe with its attachments in base64 a
# second time; no ESP sends more (they cap inbound mail at 25-40 MB). Past it, nothing is
# read.
HARD_LIMIT_FACTOR = 2


def inbound_view(view: Callable[..., HttpResponse], esp: str) -> Callable[..., HttpResponse]:
    """Wrap an anymail inbound view: read its body up to the hard limit before it runs;
    for ESPs that post the raw MIME, check the post as anymail would and store those
    exact bytes without anymail's parse (also MIME it could not parse, e.g. nested
    thousands deep); other posts go through anymail's view and ``receivers.py``."""

    @wraps(view)  # keeps csrf_exempt and login_not_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if not hasattr(request, "_body"):
            size = int(request.META.get("CONTENT_LENGTH") or 0)
            hard_limit = HARD_LIMIT_FACTOR * settings.SUPPORTDESK_WEBHOOK_MAX_BYTES
            if size > hard_limit:
                return HttpResponse(
                    f"Request body of {size} bytes is over {hard_limit} bytes; not read.",
                    status=413,
                )
            _read_body(request)
        raw = _posted_mime(request, esp)
        if raw is not None:
            # The ESP posted the raw mail: authenticate as anymail would, store the bytes
            # as posted and answer; the worker parses them. anymail's parse of the whole
            # MIME was most of a request's cost, for a message nothing here read (what it
            # could not parse was stored raw all the same).
            _validate(view, request)
            return QueuedAfterAnswer(store_raw_email(raw, esp, queue=False))
        try:
            return view(request, *args, **kwargs)
        except (SuspiciousOperation, AnymailWebhookValidationFailure):
            raise  # not authenticated: a 400, nothing stored
        except Exception:
            if not _authenticated(view, request):
                # The ESP's own check could not even read the post (Mailgun JSON that is a
                # bare number): not a webhook we can trust, so a 400 and nothing stored.
                return HttpResponseBadRequest(
                    f"This post is not a {esp} inbound webhook the desk can verify."
                )
            # anymail could not parse what the ESP posted: keep the request as it came, so
            # processing fails it with the reason, visible in the admin, and answer 200:
            # the same post would fail the same way on every retry.
            logger.exception("%s inbound webhook: anymail failed; storing what came", esp)
            _store_unparsed(request, esp)
            return HttpResponse()

    # Posts to it skip the browser middleware (``channels_app.middleware``); functools.wraps
    # carries the mark through the basic-auth and CSRF-exempt wrappers.
    setattr(wrapped, MARK, True)
    return wrapped


class QueuedAfterAnswer(HttpResponse):
    """The 200 for a delivery whose raw mail is committed; its record joins the current
    collection window only when the server closes the response, after the answer has
    been written to the ESP's connection (WSGI servers, gunicorn among them, and Django's
    ASGI handler call ``close()`` once the body is sent).

    The window's Redis push, and for the window's first delivery the Celery publish of its
    task, were a second and third round trip inside every ack (in the 200/s burst, the
    publish was in the slowest 2.5% of acks by itself). The mail is stored either way; a
    record whose push never happens (the process killed in between) waits for the beat
    sweep that re-queues what has waited too long, as when Redis does not answer.
    """

    def __init__(self, record_id: int | None) -> None:
        super().__init__()
        self._record_id = record_id

    def close(self) -> None:
        try:
            if self._record_id is not None:
                record_id, self._record_id = self._record_id, None  # once, if closed twice
                enqueue_in_window(record_id)
        finally:
            super().close()


def _store_unparsed(request: HttpRequest, esp: str) -> None:
    """Keep the post's body as it came (bytes: no JSON rule can refuse them)."""
    inbound_store(channel=Channel.EMAIL, source=esp, raw=request.body or b" ")


def _posted_mime(request: HttpRequest, esp: str) -> bytes | None:
    """Return the raw MIME the ESP posted, for ESPs that post it as a field."""
    field = RAW_MIME_FIELDS.get(esp)
    if field is None:
        return None
    if esp == "postmark":
        try:
            raw = json.loads(request.body).get(field)
        except (ValueError, AttributeError):
            return None
        return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) and raw else None
    return getattr(request, "_supportdesk_fields", {}).get(field) or None


def _validate(view: Callable[..., HttpResponse], request: HttpRequest) -> None:
    """Run the anymail view's own checks (basic auth, the ESP's signature); raise
    AnymailWebhookValidationFailure (a 400) when they fail."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:  # not an anymail view: nothing of ours would trust it
        raise AnymailWebhookValidationFailure("No anymail view to authenticate the post.")
    view_class(**getattr(view, "view_initkwargs", {})).run_validators(request)


def _authenticated(view: Callable[..., HttpResponse], request: HttpRequest) -> bool:
    """Run the anymail view's own checks (basic auth, the ESP's signature) again."""
    try:
        _validate(view, request)
    except Exception:  # any failure, even one the ESP's check raised on a strange body
        return False
    return True


def _read_body(request: HttpRequest) -> None:
    """Read the body and, for a multipart form, parse it into POST and FILES (Django's
    own parser would refuse a field over DATA_UPLOAD_MAX_MEMORY_SIZE, such as Mailgun's
    ``body-mime``). URL-encoded and JSON bodies are parsed by Django from ``_body``."""
    body = request.read()
    request._body = body  # Django's cache of the body
    if request.content_type == "multipart/form-data":
        post, files, fields = _parse_multipart(
            request.META.get("CONTENT_TYPE", ""), body, request.encoding or "utf-8"
        )
        request._post, request._files = post, files  # type: ignore[attr-defined]
        request._supportdesk_fields = fields  # type: ignore[attr-defined] # undecoded


def _parse_multipart(
    content_type: str, body: bytes, encoding: str
) -> tuple[QueryDict, MultiValueDict, dict[str, bytes]]:
    """Parse multipart/form-data with the standard library's MIME parser; return POST,
    FILES and the text fields' bytes as posted."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    form = BytesParser(policy=HTTP).parsebytes(head + body)
    post = QueryDict(mutable=True, encoding=encoding)
    files: MultiValueDict[str, UploadedFile] = MultiValueDict()
    fields: dict[str, bytes] = {}
    parts = form.get_payload() if form.is_multipart() else []
    for part in parts:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = cast(bytes | None, part.get_payload(decode=True)) or b""  # decoded: bytes
        filename = part.get_filename()
        if filename is not None:
            files.appendlist(name, SimpleUploadedFile(filename, data, part.get_content_type()))
        else:
            fields.setdefault(name, data)
            post.appendlist(name, data.decode(part.get_content_charset() or encoding, "replace"))
    post._mutable = False
    return post, files, fields
