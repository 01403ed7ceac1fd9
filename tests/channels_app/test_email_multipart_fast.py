"""The parser's own reading of a simple multipart (channels_app.email.parsing._multipart)
gives the very tree the stdlib's feed parser gives: every part's headers, payload,
defects, preamble and epilogue; anything it does not read goes to the feed parser."""

from __future__ import annotations

import sys
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from channels_app.email.parsing import _parse_single_part, parse_email

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))


def _tree(msg: Message) -> tuple:
    payload = msg._payload
    children = tuple(_tree(p) for p in payload) if isinstance(payload, list) else payload
    return (
        msg._headers, children, [type(d) for d in msg.defects], msg.get_unixfrom(),
        msg.get_default_type(), msg.preamble, msg.epilogue, msg.get_charset(),
    )  # fmt: skip


def _same_as_feed_parser(raw: bytes) -> bool:
    """Assert the fast reading, when there is one, is the feed parser's; return whether
    there was one."""
    fast = _parse_single_part(raw)
    if fast is not None:
        assert _tree(fast) == _tree(BytesParser(policy=compat32).parsebytes(raw))
    return fast is not None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_every_fixture_reads_as_the_feed_parser_reads_it(path):
    _same_as_feed_parser(path.read_bytes().lstrip(b"\r\n"))


def test_the_bench_mails_are_read_without_the_feed_parser():
    """The ingest bench's mails with an attachment (multipart/mixed, a text part and a
    base64 file) are read here, as the feed parser reads them."""
    from mailmix import workload

    mails = workload(40, [("parent@example.org", "T-1", "anna@example.org")])
    multipart = [m for m in mails if b"multipart/" in m]
    assert multipart and all(_same_as_feed_parser(m) for m in multipart)
    assert all(_same_as_feed_parser(m) for m in mails)


def _mail(parts: list[tuple[str, str]], preamble: str, epilogue: str, eol: str) -> bytes:
    lines = ["From: a@example.org", 'Content-Type: multipart/mixed; boundary="=b="', ""]
    text = eol.join(lines) + eol + preamble
    for headers, body in parts:
        text += f"--=b={eol}{headers}{eol}{body}{eol}"
    return (text + f"--=b=--{epilogue}").encode("utf-8", "surrogateescape")


_TEXT = st.sampled_from(
    ["", "x", "line\n", "a\r\nb", "\n\n", "--=b=", "--=b=--", "--=b= \n", "From here\n",
     "Content-Type: text/html\n", " folded", "é\r", "\r", "Subject: hi\n\nbody"]
)  # fmt: skip
_HEADERS = st.sampled_from(
    ["", "Content-Type: text/plain\n", "Content-Type: text/plain; charset=utf-8\nX: y\n",
     "Content-Type: text/html\n folded: z\n", "Content-Type: message/rfc822\n",
     "Content-Type: multipart/alternative; boundary=c\n", "Bad header\n", " cont\n",
     "From x\n", ": empty\n", "Content-Disposition: attachment; filename=a.txt\n"]
)  # fmt: skip


@given(
    st.lists(st.tuples(_HEADERS, st.lists(_TEXT, max_size=4).map("".join)), max_size=4),
    st.lists(_TEXT, max_size=3).map("".join),
    st.lists(_TEXT, max_size=3).map("".join),
    st.sampled_from(["\n", "\r\n"]),
)
@settings(max_examples=600, deadline=None)
@example([("Content-Type: text/plain\n", "hello")], "", "\n", "\n")
@example([("", "no headers")], "preamble\n", "", "\r\n")
def test_built_multiparts_read_as_the_feed_parser_reads_them(parts, preamble, epilogue, eol):
    raw = _mail(parts, preamble, epilogue, eol)
    _same_as_feed_parser(raw)
    assert parse_email(raw).from_email == "a@example.org"


def test_simple_multiparts_are_read_here_and_the_others_left_to_the_feed_parser():
    plain = _mail([("Content-Type: text/plain\n", "hello")], "", "\n", "\n")
    with_preamble = _mail([("", "a"), ("Content-Type: text/html\n", "<p>b</p>")], "pre\n", "", "\n")
    nested = _mail([("Content-Type: multipart/alternative; boundary=c\n", "x")], "", "", "\n")
    unclosed = plain.rsplit(b"--=b=--", 1)[0]
    back_to_back = plain.replace(b"--=b=\n", b"--=b=\n--=b=\n", 1)
    message = EmailMessage()
    message["From"] = "a@example.org"
    message.set_content("hi")
    message.add_attachment(b"data", maintype="application", subtype="octet-stream")
    assert _same_as_feed_parser(plain) and _same_as_feed_parser(with_preamble)
    assert _same_as_feed_parser(message.as_bytes())
    for other in (nested, unclosed, back_to_back):
        assert not _same_as_feed_parser(other)
