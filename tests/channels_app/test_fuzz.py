"""Fuzzing (hypothesis, bounded examples): the MIME parser and the ESP webhook views never
crash on what they are sent, and nothing a webhook accepted is lost.

- The parser raises only EmailParseError, whatever the bytes.
- A webhook answers anything but a 500; when it answers 2xx for a mail, the mail is stored,
  and processing the stored record ends it (processed, ignored or failed with a reason),
  never a crash that leaves it waiting.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.email.parsing import EmailParseError, parse_email
from channels_app.inbound import inbound_process
from channels_app.models import InboundRecord, InboundStatus

from .mail_helpers import FIXTURES, make_mail
from .test_email_webhooks import anymail_settings, auth, mailgun  # noqa: F401

SEEDS = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))[:12]] + [
    make_mail(attachments=[("a.pdf", b"%PDF", "application/pdf")], html="<p>hi</p>")
]
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "Reply-To",
        "Auto-Submitted",
        "List-Id",
        "X-Junk",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            'multipart/mixed; boundary="x"',
            "=?utf-8?b?w6k=?=",
            "<a@b>",
            "base64",
            "attachment; filename*=utf-8''%E2%82%AC.txt",
            "text/html; charset=bogus",
        ]
    ),
)


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    """A real mail with headers added and bytes flipped, cut or repeated."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        name, value = draw(HEADER_NAMES), draw(HEADER_VALUES)
        line = f"{name}: {value}\r\n".encode("utf-8", "surrogateescape")
        raw[0:0] = line
    for _ in range(draw(st.integers(0, 6))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        action = draw(st.sampled_from(["flip", "cut", "repeat", "nul"]))
        if action == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at : at + draw(st.integers(1, 200))]
        elif action == "repeat":
            raw[at:at] = raw[at : at + draw(st.integers(1, 200))]
        else:
            raw[at:at] = b"\x00"
    return bytes(raw)


ANY_MAIL = st.one_of(mutated_mail(), st.binary(max_size=2000))


@settings(max_examples=300, deadline=None)
@given(ANY_MAIL)
def test_the_parser_raises_only_its_own_error(raw: bytes) -> None:
    try:
        parsed = parse_email(raw)
    except EmailParseError:
        return
    assert parsed.message_id and isinstance(parsed.text, str)
    assert all(a.size == len(a.payload) for a in parsed.attachments)


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_kept(response, raw: bytes | None) -> None:
    """No 500; a 2xx for a mail leaves a stored record that processing ends."""
    assert response.status_code != 500, response.content[:500]
    if response.status_code // 100 != 2 or raw is None:
        return
    assert InboundRecord.objects.exists(), "answered 2xx but stored nothing"
    for record in InboundRecord.objects.filter(status=InboundStatus.RECEIVED):
        done = inbound_process(record.pk)
        assert done.status != InboundStatus.RECEIVED, done.error
        if done.status == InboundStatus.FAILED:
            assert done.error


@pytest.mark.django_db
@FUZZ
@given(raw=ANY_MAIL)
def test_the_mailgun_webhook_keeps_whatever_mail_it_accepts(departments, raw: bytes) -> None:
    InboundRecord.objects.all().delete()
    client = Client(raise_request_exception=False)
    text = raw.decode("utf-8", "replace")  # a form field is text
    response = mailgun(client, text.encode())
    assert_kept(response, raw if text.strip() else None)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
POSTMARK_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "FromFull": st.one_of(JSON_VALUES, st.just({"Email": "carol@example.org", "Name": "C"})),
        "ToFull": JSON_VALUES,
        "Subject": JSON_VALUES,
        "TextBody": JSON_VALUES,
        "HtmlBody": JSON_VALUES,
        "Headers": st.one_of(JSON_VALUES, st.just([{"Name": "X-A", "Value": "b"}])),
        "Attachments": JSON_VALUES,
        "MessageID": JSON_VALUES,
        "Date": JSON_VALUES,
        "RawEmail": st.one_of(ANY_MAIL.map(lambda b: b.decode("utf-8", "replace")), JSON_VALUES),
    },
)


@pytest.mark.django_db
@FUZZ
@given(payload=POSTMARK_FIELDS)
def test_the_postmark_webhook_keeps_whatever_mail_it_accepts(departments, payload) -> None:
    InboundRecord.objects.all().delete()
    client = Client(raise_request_exception=False)
    response = client.post(
        "/anymail/postmark/inbound/", json.dumps(payload), "application/json", **auth()
    )
    has_mail = isinstance(payload.get("RawEmail"), str) and payload["RawEmail"].strip()
    assert_kept(response, b"mail" if has_mail else None)


@pytest.mark.django_db
@FUZZ
@given(
    body=st.binary(max_size=3000),
    content_type=st.sampled_from(
        [
            "application/json",
            "multipart/form-data; boundary=xyz",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ]
    ),
)
def test_the_webhooks_take_any_body_without_a_500(departments, body, content_type) -> None:
    client = Client(raise_request_exception=False)
    for url in (
        "/anymail/mailgun/inbound/",
        "/anymail/postmark/inbound/",
        "/anymail/sendgrid/inbound/",
    ):
        response = client.generic("POST", url, body, content_type, **auth())
        assert response.status_code != 500, (url, response.content[:300])
