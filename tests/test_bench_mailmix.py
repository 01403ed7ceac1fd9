"""The ingest bench's mails (bench/mailmix.py): a re-run on the same database sends new
mails, not the earlier run's again. bench/ingest_curve.py runs bench/ingest.py once per
worker count on one database; when every invocation numbered its mails from 0, the 2- and
4-process points re-sent the 1-process point's mails, duplicate detection merged them, and
the curve measured merging (5× the worker CPU a mail) instead of more processes."""

from __future__ import annotations

import importlib.util
import re
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from types import ModuleType

import pytest

from channels_app.inbound import inbound_store

pytestmark = pytest.mark.django_db

THREADS = [(f"seed-{i}@example.org", f"T-{1000 + i}", f"owner{i}@reseller.example") for i in (1, 2)]


def _mailmix() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "bench" / "mailmix.py"
    spec = importlib.util.spec_from_file_location("bench_mailmix", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _invocation(mix: ModuleType, name: str, count: int) -> list[Message]:
    """Number one bench invocation as bench/ingest.py does: its seed stored first."""
    first = mix.first_number()
    raw = mix.mail(first + mix.SEED_OFFSET, sender="owner0@reseller.example", subject="Seed")
    inbound_store(channel="email", source=mix.seed_source(name), raw=raw, enqueue=False)
    return [message_from_bytes(m) for m in mix.workload(count, THREADS, first)]


def _story(msg: Message) -> tuple[str, str, str]:
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return (msg["From"], msg["Subject"], text.get_payload(decode=True).decode())


def test_a_second_invocation_on_the_same_database_sends_none_of_the_first_ones_mails():
    mix = _mailmix()
    one, two = _invocation(mix, "q1", 400), _invocation(mix, "q2", 400)
    new_tickets = [m for m in one + two if not m["Subject"].startswith("Re:")]
    stories = {_story(m) for m in new_tickets}
    # Every new-ticket mail of both invocations tells a story of its own: none is a re-send
    # that duplicate detection would merge.
    assert len(stories) == len(new_tickets) == 400


def test_every_invocation_sends_the_same_mix():
    mix = _mailmix()
    one, two = _invocation(mix, "q1", 200), _invocation(mix, "q2", 200)

    def shape(msg: Message) -> tuple[object, ...]:
        subject = msg["Subject"]
        return (
            msg["To"],
            subject.split()[0],  # Issue / Question / Re:
            "In-Reply-To" in msg,
            msg.is_multipart(),  # the attachment of every tenth
            # The problem's wording (its number left out) and the reseller it names.
            re.sub(r"\d+", "#", _story(msg)[2].splitlines()[2]),
            _story(msg)[2].splitlines()[3],
        )

    assert [shape(m) for m in one] == [shape(m) for m in two]
