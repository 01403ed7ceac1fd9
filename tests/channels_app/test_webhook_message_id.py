"""A webhook delivery reads its Message-ID from the header lines as compat32's parser does,
without the parser (issue 16: a tenth of a delivery's CPU was the parser's machinery)."""

from __future__ import annotations

import os
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels_app.email.receivers import _header_block, header_message_id

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
CORPUS = Path(
    os.environ.get("SUPPORTDESK_EMAIL_CORPUS")
    or Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "zammad-mail"
)


def _parsers(block: bytes) -> str:
    return str(BytesHeaderParser(policy=compat32).parsebytes(block).get("Message-ID") or "")


def test_every_fixture_and_corpus_mail_gives_the_parsers_message_id():
    paths = sorted(FIXTURES.glob("*.eml")) + sorted(CORPUS.glob("*.eml"))
    assert len(paths) > 100
    for path in paths:
        block = _header_block(path.read_bytes())
        assert header_message_id(block) == _parsers(block), path.name


_LINES = st.sampled_from(
    [
        b"Message-ID: <a@example.org>",
        b"Message-Id:<b@example.org>",
        b"message-id:   <c@example.org>  ",
        b"MESSAGE-ID: d@example.org",
        b"Message-ID : <space@example.org>",
        b"Message-ID:",
        b"  <folded@example.org>",
        b"\t(comment)",
        b" ",
        b"From carol@example.org Mon Jan  1 00:00:00 2024",
        b"From: carol@example.org",
        b"Subject: hello",
        b"X-Weird:value:with:colons",
        b":no name",
        b"not a header line",
        b"",
        b"Received: from mx (mx [1.2.3.4])",
    ]
)


@settings(max_examples=600, deadline=None)
@given(
    lines=st.lists(_LINES, min_size=0, max_size=12),
    newline=st.sampled_from([b"\r\n", b"\n", b"\r"]),
    tail=st.sampled_from([b"", b"\r\n", b"\n", b"\xe9t\xe9"]),
)
def test_any_header_block_gives_the_parsers_message_id(lines, newline, tail):
    block = newline.join(lines) + tail
    assert header_message_id(block) == _parsers(block)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b"From: a@b\r\nMessage-ID: <x@y>\r\n\r\n", "<x@y>"),
        (b"Message-ID: <x@y>\r\n <z@w>\r\nSubject: s\r\n\r\n", "<x@y>\r\n <z@w>"),
        (b"Subject: s\nbody line\nMessage-ID: <late@y>\n", ""),
        (b"Message-ID: <\xe9@y>\n\n", _parsers(b"Message-ID: <\xe9@y>\n\n")),
    ],
)
def test_examples(block, expected):
    assert header_message_id(block) == expected
