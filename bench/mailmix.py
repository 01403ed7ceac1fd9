"""The mails ``bench/ingest.py`` sends (and ``bench/search_write.py`` borrows): a quarter
new tickets from verified reseller contacts, a quarter from unknown senders, a quarter
replies threading by In-Reply-To, a quarter by the subject token; every tenth with a small
attachment.

Every mail is numbered, and its number makes it a different story (sender, subject,
problem). Numbers are never reused on one database: an invocation starts after every
earlier one (``first_number``), or the second point of ``bench/ingest_curve.py`` (or any
re-run on the same database) re-sends the first one's mails, which duplicate detection
rightly merges, and the bench measures merging instead of ordinary traffic.
"""

from __future__ import annotations

import random
import uuid
from email.message import EmailMessage

SEED_SOURCE = "bench-seed"  # the seed records' source starts with it (one per invocation)
SEED_OFFSET = 100_000  # seed mails tell other stories than the measured ones (n % 50 kept)
# Numbers one invocation may use (seed, runs, burst, latency mails: ~112,000 at the
# defaults); a multiple of 800 (4 kinds × 10 × 50 resellers × 8 problems × 4 / 2), so
# every invocation sends the same mix.
INVOCATION_SPAN = 10_000_000
INBOXES = ["support@supportdesk.localhost", "tech@supportdesk.localhost"]
# Different problems, each with its own number, so duplicate detection sees ordinary
# traffic, not one mail re-sent (which it would merge).
PROBLEMS = [
    "the transfer of example-{n}.com is still pending. Could you check it?",
    "our invoice INV-{n} shows the wrong VAT rate for the Netherlands.",
    "the API returns error 502 on POST /v1/orders since this morning (order {n}).",
    "mail for shop-{n}.nl bounces with 'mailbox unavailable' after the DNS change.",
    "please add a second administrator to account {n}; the owner changed jobs.",
    "the SSL certificate of portal-{n}.example renewed but the browser shows the old one.",
    "we were charged twice for order {n}; please refund one of the payments.",
    "after update {n} the control panel logs us out every few minutes.",
]
BODY = "Hello,\n\n{problem}\nReseller ID: {reseller}\n\nKind regards\n-- \nSent from my phone\n"
QUOTE = "\n\nOn Tue, 5 Mar 2024 at 10:15, Support wrote:\n> We are looking into it.\n> " * 1


def first_number() -> int:
    """Return the first mail number of this invocation: after every earlier invocation's
    on this database (each stored its seed under a source of its own)."""
    from channels_app.models import InboundRecord

    earlier = (
        InboundRecord.objects.filter(source__startswith=SEED_SOURCE)
        .values("source")
        .distinct()
        .count()
    )
    return earlier * INVOCATION_SPAN


def seed_source(invocation: str) -> str:
    """Return the source the seed records of the invocation ``invocation`` are stored under."""
    return f"{SEED_SOURCE}-{invocation}"


def mail(n: int, *, sender: str, subject: str, reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INBOXES[n % 2]
    msg["Subject"] = subject
    msg["Date"] = "Tue, 05 Mar 2024 10:15:00 +0100"
    msg["Message-ID"] = f"<bench-{uuid.uuid4().hex}@example.org>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    problem = PROBLEMS[(n // 4) % len(PROBLEMS)].format(n=n)  # n % 4 picks the kind
    body = BODY.format(problem=problem, reseller=200000 + n % 50) + (QUOTE if reply_to else "")
    msg.set_content(body)
    if n % 10 == 0:  # every tenth mail carries a small attachment
        msg.add_attachment(b"log line\n" * 200, maintype="text", subtype="plain", filename="x.log")
    return msg.as_bytes()


def workload(n: int, threads: list[tuple[str, str, str]], start: int = 0) -> list[bytes]:
    """Return n mails numbered from ``start`` (each run its own numbers: a run must not
    re-send an earlier run's mails, which duplicate detection would merge)."""
    rng = random.Random(42 + start)
    out = []
    for i in range(start, start + n):
        kind = i % 4
        if kind == 0:  # new ticket from a verified reseller contact
            out.append(mail(i, sender=f"owner{i % 50}@reseller.example", subject=f"Issue {i}"))
        elif kind == 1:  # new ticket from an unknown sender (no account)
            out.append(mail(i, sender=f"new{i}@customer.example", subject=f"Question {i}"))
        elif kind == 2:  # reply threading by In-Reply-To
            parent, _, sender = rng.choice(threads)
            out.append(mail(i, sender=sender, subject="Re: x", reply_to=parent))
        else:  # reply threading by the subject token (sender is a contact of the account)
            _, ref, sender = rng.choice(threads)
            out.append(mail(i, sender=sender, subject=f"Re: [{ref}] more"))
    return out
