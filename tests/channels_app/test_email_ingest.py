"""``manage.py ingest_email``: .eml files, mbox files and Maildir folders, in order."""

from __future__ import annotations

import io
import mailbox
from pathlib import Path

import pytest
from django.core.management import call_command

from channels_app.models import InboundRecord, InboundStatus
from tickets.models import Ticket

from .mail_helpers import FIXTURES, make_mail

pytestmark = pytest.mark.django_db


def ingest(*paths: Path | str, sync: bool = True) -> str:
    out = io.StringIO()
    args = [str(p) for p in paths] + (["--sync"] if sync else [])
    call_command("ingest_email", *args, stdout=out)
    return out.getvalue()


def test_eml_mbox_and_maildir_in_the_given_order_with_a_summary(tmp_path, departments):
    first = make_mail(subject="From the mbox", message_id="mbox-1@example.org")
    reply = make_mail(
        subject="Re: From the mbox",
        message_id="mbox-2@example.org",
        headers={"In-Reply-To": "<mbox-1@example.org>"},
    )
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(first)
    box.add(reply)
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    # Read in file-name order, so "b" (the reply) after "a" even if written first.
    (tmp_path / "Maildir" / "cur" / "b:2,S").write_bytes(
        make_mail(message_id="md-2@example.org", headers={"References": "<md-1@example.org>"})
    )
    (tmp_path / "Maildir" / "cur" / "a:2,S").write_bytes(
        make_mail(subject="Maildir first", message_id="md-1@example.org")
    )
    del maildir
    emls = tmp_path / "emls"
    emls.mkdir()
    for name in ("list_mail.eml", "koi8r_plain.eml"):
        (emls / name).write_bytes((FIXTURES / name).read_bytes())
    (emls / "zz_garbage.eml").write_bytes(b"\x00\x01 no headers at all")

    summary = ingest(tmp_path / "archive.mbox", tmp_path / "Maildir", emls)

    assert Ticket.objects.count() == 3
    assert "new tickets:       3" in summary
    assert "threaded replies:  2" in summary
    assert "1 × list mail" in summary
    assert "failed:            1" in summary and "zz_garbage.eml: Not a readable email" in summary
    assert Ticket.objects.get(subject="Maildir first").messages.count() == 2


def test_running_the_import_twice_counts_duplicates(tmp_path, departments):
    (tmp_path / "one.eml").write_bytes(make_mail(message_id="twice@example.org"))
    ingest(tmp_path)
    again = ingest(tmp_path)
    assert "1 identical file(s)" in again
    assert Ticket.objects.count() == 1


def test_without_sync_mails_are_stored_and_queued(tmp_path, departments):
    (tmp_path / "one.eml").write_bytes(make_mail())
    summary = ingest(tmp_path, sync=False)
    assert "queued for the worker: 1" in summary
    assert InboundRecord.objects.get().status == InboundStatus.RECEIVED


def test_all_fixtures_import_without_a_crash(departments):
    summary = ingest(FIXTURES)
    assert "failed:            0" in summary
    assert InboundRecord.objects.count() == len(list(FIXTURES.glob("*.eml")))
