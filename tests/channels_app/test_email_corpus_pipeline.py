"""The external Zammad corpus through the whole pipeline: store → process → ticket.

Every mail is stored; none crashes processing; a mail that is not a ticket (list mail,
bounce for no ticket) ends ``ignored`` with its reason; nothing ends ``failed``.
Field-level expectations are checked per mail in test_email_corpus.py.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Message

from .test_email_corpus import CORPUS_DIR, _require_corpus

pytestmark = pytest.mark.django_db

# Mails that may end failed (id -> why). Empty: every corpus mail must be processed.
EXPECTED_FAILURES: dict[str, str] = {}


def test_whole_corpus_through_import_and_processing(
    departments, django_capture_on_commit_callbacks
):
    _require_corpus()
    paths = sorted(CORPUS_DIR.glob("*.eml"))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # acknowledgements go out too
        call_command("ingest_email", str(CORPUS_DIR), "--sync", stdout=out)
    records = list(InboundRecord.objects.all())
    # Identical files are stored once; everything else has its own record.
    assert len({r.sha256 for r in records}) == len(records)
    assert len(records) == len({p.read_bytes() for p in paths})
    failed = {r.pk: r.error for r in records if r.status == InboundStatus.FAILED}
    assert len(failed) <= len(EXPECTED_FAILURES), (failed, out.getvalue())
    assert not [r for r in records if r.status == InboundStatus.RECEIVED]
    for record in records:
        if record.status == InboundStatus.IGNORED:
            assert record.error, "an ignored mail always says why"
    processed = [r for r in records if r.status == InboundStatus.PROCESSED]
    assert len(processed) > len(records) * 0.8, out.getvalue()
    assert Message.objects.count() >= len({r.message_id for r in processed})
