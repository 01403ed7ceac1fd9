"""IMAP polling: a mail is marked seen or moved only after its raw bytes are stored.

The IMAP server is a fake client object injected through ``connect`` (the only
third-party network boundary); storage and processing are the real code.
"""

from __future__ import annotations

import imaplib

import pytest

from channels_app.email.imap import poll_mailbox
from channels_app.inbound import inbound_process
from channels_app.models import InboundRecord
from tickets.models import Ticket

from .mail_helpers import make_mail

pytestmark = pytest.mark.django_db
CONFIG = {"name": "support", "host": "imap.example", "username": "u", "password": "p"}


class FakeImap:
    """Just enough of imaplib.IMAP4_SSL; records calls and checks the store-first rule."""

    def __init__(self, mails: dict[bytes, bytes], *, fail_fetch: set[bytes] = frozenset()):
        self.mails = mails
        self.flags: dict[bytes, set[str]] = {uid: set() for uid in mails}
        self.fail_fetch = set(fail_fetch)
        self.calls: list[tuple] = []
        self.capabilities = ("IMAP4REV1", "MOVE")
        self.moved: dict[bytes, str] = {}

    def __call__(self, host: str, port: int) -> FakeImap:
        self.calls.append(("connect", host, port))
        return self

    def login(self, user: str, password: str):
        return "OK", [b"logged in"]

    def select(self, folder: str):
        return "OK", [str(len(self.mails)).encode()]

    def uid(self, command: str, *args):
        self.calls.append((command, *args))
        if command == "SEARCH":
            waiting = [
                u for u in self.mails if "\\Seen" not in self.flags[u] and u not in self.moved
            ]
            return "OK", [b" ".join(waiting)]
        uid = args[0]
        if command == "FETCH":
            assert args[1] == "(BODY.PEEK[])"  # fetching must not mark the mail seen
            if uid in self.fail_fetch:
                self.fail_fetch.discard(uid)
                raise imaplib.IMAP4.abort("connection reset")
            return "OK", [(b"1 (UID " + uid + b" BODY[] {n}", self.mails[uid]), b")"]
        if command in ("STORE", "MOVE"):
            # The rule under test: the raw mail is already in the ledger.
            assert InboundRecord.objects.filter(raw=self.mails[uid]).exists()
            if command == "STORE":
                self.flags[uid].add(args[2].strip("()"))
            else:
                self.moved[uid] = args[1]
            return "OK", [b""]
        raise AssertionError(command)

    def logout(self):
        return "BYE", [b""]


def test_poll_stores_then_marks_seen(departments):
    server = FakeImap({b"1": make_mail(subject="one"), b"2": make_mail(subject="two")})
    result = poll_mailbox(CONFIG, connect=server)
    assert (result.fetched, result.stored, result.errors) == (2, 2, [])
    assert all("\\Seen" in flags for flags in server.flags.values())
    assert InboundRecord.objects.filter(source="imap:support").count() == 2
    for record in InboundRecord.objects.all():
        inbound_process(record.pk)
    assert Ticket.objects.count() == 2


def test_a_failure_mid_run_loses_nothing_and_blocks_nothing(departments):
    """Mail 2's fetch dies: 1 and 3 are stored and marked; 2 stays unseen and the next
    poll stores it, with no duplicate of the others."""
    mails = {b"1": make_mail(), b"2": make_mail(), b"3": make_mail()}
    server = FakeImap(mails, fail_fetch={b"2"})
    first = poll_mailbox(CONFIG, connect=server)
    assert first.stored == 2 and len(first.errors) == 1
    assert "\\Seen" not in server.flags[b"2"]
    second = poll_mailbox(CONFIG, connect=server)
    assert second.stored == 1 and second.errors == []
    assert InboundRecord.objects.count() == 3


def test_move_to_folder_after_store(departments):
    server = FakeImap({b"7": make_mail()})
    poll_mailbox({**CONFIG, "move_to": "Processed"}, connect=server)
    assert server.moved == {b"7": "Processed"}


def test_refetch_of_a_stored_mail_is_a_duplicate(departments):
    raw = make_mail()
    poll_mailbox(CONFIG, connect=FakeImap({b"1": raw}))
    again = poll_mailbox(CONFIG, connect=FakeImap({b"9": raw}))
    assert (again.stored, again.duplicates) == (0, 1)
