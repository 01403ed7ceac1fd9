"""Behaviour of parse_email on hand-written fixtures in tests/fixtures/email/."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest

from channels_app.email.parsing import (
    EmailParseError,
    ParsedEmail,
    _parse_single_part,
    decode_text,
    parse_email,
    safe_filename,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def parse_fixture(name: str) -> ParsedEmail:
    return parse_email((FIXTURES / name).read_bytes())


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_every_fixture_parses_into_a_complete_result(path: Path) -> None:
    """Every fixture parses; ids, dates and attachment digests are well-formed."""
    parsed = parse_email(path.read_bytes())
    assert parsed.message_id and "<" not in parsed.message_id
    assert parsed.date is None or parsed.date.tzinfo is not None
    for att in parsed.attachments:
        assert att.size == len(att.payload)
        assert att.sha256 == hashlib.sha256(att.payload).hexdigest()
        assert "/" not in att.filename and "\\" not in att.filename


@pytest.mark.parametrize(
    ("name", "subject", "from_name", "body_snippet"),
    [
        ("koi8r_plain.eml", "Не работает принтер", "Иван Петров", "Принтер не печатает"),
        ("windows1251_html_only.eml", "Счёт", "Ольга", "Счёт № 42 во вложении — срочно"),
        ("iso2022jp.eml", "お問い合わせ", "山田太郎", "ログインできません"),
    ],
)
def test_non_utf8_charsets_decode_headers_and_body(
    name: str, subject: str, from_name: str, body_snippet: str
) -> None:
    """KOI8-R, Windows-1251 and ISO-2022-JP headers (RFC 2047) and bodies decode to text."""
    parsed = parse_fixture(name)
    assert parsed.subject == subject
    assert parsed.from_name == from_name
    assert body_snippet in parsed.text


def test_html_only_mail_gets_a_plain_text_body() -> None:
    """An HTML-only mail yields text converted from HTML, with block tags as line breaks."""
    parsed = parse_fixture("windows1251_html_only.eml")
    assert parsed.text.splitlines()[0] == "Добрый день,"
    assert "<b>срочно</b>" in (parsed.html or "")


def test_outlook_reply_headers_and_threading_fields() -> None:
    """Addresses with commas in display names, In-Reply-To and References are parsed."""
    parsed = parse_fixture("outlook_reply.eml")
    assert parsed.from_email == "anna.miller@example.com"
    assert parsed.from_name == "Miller, Anna"
    assert parsed.cc == ("boss@example.com", "ops@example.com")
    assert parsed.in_reply_to == "sd-123456-2@support.example.com"
    assert parsed.references == (
        "sd-123456-1@support.example.com",
        "sd-123456-2@support.example.com",
    )
    assert parsed.date == datetime.fromisoformat("2024-03-05T10:15:00+01:00")
    assert "\r" not in parsed.text


def test_gmail_alternative_keeps_both_bodies() -> None:
    """multipart/alternative gives the plain part as text and the sanitized HTML part."""
    parsed = parse_fixture("gmail_reply.eml")
    assert parsed.text.startswith("Sounds good, I will try that tomorrow.")
    assert parsed.html is not None and "Sounds good" in parsed.html
    assert parsed.attachments == ()


def test_forwarded_message_stays_an_eml_attachment() -> None:
    """A message/rfc822 part becomes a .eml attachment; its body is not merged."""
    parsed = parse_fixture("forward_rfc822.eml")
    assert "INNER" not in parsed.text
    (att,) = parsed.attachments
    assert att.filename == "Original problem report.eml"
    assert att.content_type == "message/rfc822"
    assert b"The INNER body" in att.payload
    assert not parsed.is_bounce and parsed.bounced_message_id is None


def test_dsn_bounce_is_flagged_with_the_bounced_message_id() -> None:
    """multipart/report delivery-status is a bounce; the original id comes from its headers."""
    parsed = parse_fixture("dsn_bounce.eml")
    assert parsed.is_bounce and parsed.is_auto_reply and parsed.is_automated
    assert parsed.bounced_message_id == "sd-123-reply-9@support.example.com"
    assert parsed.return_path == "<>"
    assert {a.content_type for a in parsed.attachments} == {
        "message/delivery-status",
        "text/rfc822-headers",
    }


def test_auto_reply_headers_are_exposed_and_flagged() -> None:
    """Auto-Submitted: auto-replied and X-Autoreply mark an auto-reply, not bulk mail."""
    parsed = parse_fixture("auto_reply.eml")
    assert parsed.auto_submitted == "auto-replied"
    assert parsed.x_autoreply == "yes"
    assert parsed.x_auto_response_suppress == "All"
    assert parsed.is_auto_reply and not parsed.is_bulk and not parsed.is_bounce


def test_list_mail_is_bulk() -> None:
    """List-Id / Precedence: list mark bulk mail."""
    parsed = parse_fixture("list_mail.eml")
    assert parsed.is_bulk and not parsed.is_auto_reply
    assert parsed.list_id == "Example News <news.lists.example.com>"
    assert parsed.precedence == "list"


def test_ordinary_mail_is_not_automated() -> None:
    """A person's reply is neither auto-reply, bulk nor bounce."""
    assert not parse_fixture("gmail_reply.eml").is_automated


def test_malformed_headers_are_recovered_with_defects() -> None:
    """Raw 8-bit headers, broken encoded words and a bad Date degrade gracefully."""
    parsed = parse_fixture("malformed_headers.eml")
    assert parsed.from_name == "Jürgen Müller"
    assert parsed.from_email == "juergen@example.de"
    assert "Grüße café" in parsed.subject
    assert parsed.to == ("support@example.com",)
    assert parsed.date is None
    assert parsed.message_id_synthesized
    assert parsed.message_id.endswith("@synthesized.supportdesk.invalid")
    assert "äöü" in parsed.text
    assert any("Date" in d for d in parsed.defects)
    assert any("header line" in d for d in parsed.defects)


def test_synthesized_message_id_is_stable() -> None:
    """The same bytes always get the same synthetic Message-ID."""
    first = parse_fixture("malformed_headers.eml").message_id
    assert parse_fixture("malformed_headers.eml").message_id == first


def test_text_attachments_beside_a_plain_body_are_kept() -> None:
    """text/plain parts with a filename or attachment disposition are attachments, not body."""
    parsed = parse_fixture("text_attachment_beside_body.eml")
    assert parsed.text == "Here are the logs.\n"
    assert [(a.filename, a.payload) for a in parsed.attachments] == [
        ("server.log", b"ERROR 1\nERROR 2\n"),
        ("notes.txt", b"note without disposition\n"),
    ]
    assert parsed.attachments[0].charset == "utf-8"


def test_backslashes_in_8bit_body_stay_literal() -> None:
    """Backslash sequences in an 8-bit body are not interpreted as escapes."""
    parsed = parse_fixture("backslashes_8bit.eml")
    assert "C:\\new\\temp\\x41 und \\u00e4 — Grüße" in parsed.text


def test_html_is_sanitized_but_keeps_formatting_and_cid_images() -> None:
    """Scripts, on* handlers, javascript: URLs and iframes are removed; cid: images stay."""
    parsed = parse_fixture("html_xss.eml")
    html = parsed.html or ""
    for needle in ("<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "fixed"):
        assert needle not in html.lower()
    assert "<b>agent</b>" in html
    assert 'src="cid:logo123@example.com"' in html
    assert 'href="https://example.com/x"' in html
    assert "color:red" in html.replace(" ", "")
    (image,) = parsed.attachments
    assert image.content_id == "logo123@example.com" and image.is_inline
    assert "alert" not in parsed.text


def test_uuencoded_part_is_decoded() -> None:
    """Content-Transfer-Encoding: x-uuencode is decoded."""
    (att,) = parse_fixture("uuencode.eml").attachments
    assert att.payload == b"uuencoded attachment payload\n"


def test_winmail_dat_is_kept_as_a_plain_attachment() -> None:
    """TNEF is not decoded; winmail.dat is kept as is so nothing is lost."""
    (att,) = parse_fixture("winmail_dat.eml").attachments
    assert (att.filename, att.content_type) == ("winmail.dat", "application/ms-tnef")
    assert att.payload.startswith(b"\x78\x9f\x3e\x22")


def test_broken_mime_gives_best_effort_and_defects() -> None:
    """Bad base64 and a missing close boundary still yield body, attachments and defects."""
    parsed = parse_fixture("broken_mime.eml")
    assert parsed.text == "Body before the broken part.\n"
    names = [a.filename for a in parsed.attachments]
    assert names == ["passwd", "€ rates.pdf"]
    assert parsed.attachments[1].payload == b"%PDF-1.4 euro"
    assert any("CloseBoundaryNotFound" in d for d in parsed.defects)
    assert any("base64" in d.lower() for d in parsed.defects)


def test_lying_charset_declarations_fall_back() -> None:
    """UTF-8 declared on Latin-1 bytes, and Latin-1 declared on UTF-8 bytes, both decode."""
    parsed = parse_fixture("wrong_charset.eml")
    assert "Declared UTF-8 but Latin-1: Straße, café" in parsed.text
    assert "Declared Latin-1 but UTF-8: Straße, café" in parsed.text


def test_large_attachment_is_parsed_quickly_and_intact() -> None:
    """A ~5 MB base64 attachment (generated here, not committed) survives byte for byte."""
    payload = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    raw = (
        b"From: big@example.com\nTo: support@example.com\nSubject: big\n"
        b"Content-Type: multipart/mixed; boundary=BIG\n\n--BIG\nContent-Type: text/plain\n\nsee\n"
        b"--BIG\nContent-Type: application/octet-stream; name=big.bin\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(payload) + b"--BIG--\n"
    )
    (att,) = parse_email(raw).attachments
    assert att.size == len(payload) and att.sha256 == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n  ", b"\x00\x01\x02 binary junk", b"just some text\nwithout headers\n"],
)
def test_non_email_input_raises_email_parse_error(raw: bytes) -> None:
    """Empty or header-less input raises EmailParseError with a reason."""
    with pytest.raises(EmailParseError) as excinfo:
        parse_email(raw)
    assert excinfo.value.reason


def test_non_bytes_input_raises_email_parse_error() -> None:
    """Passing str instead of bytes is reported as EmailParseError, not TypeError."""
    with pytest.raises(EmailParseError, match="bytes"):
        parse_email("From: a@example.com\n\nhi")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        b"From: a@example.com\nContent-Type: multipart/mixed\n\nno boundary at all\n",
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\n",
        b'From: a@example.com\nContent-Type: text/plain; charset="\n\n\xff\xfe',
        b"From: a@example.com\nContent-Transfer-Encoding: base64\n\n@@@@",
        b"From: a@example.com\nContent-Disposition: attachment; filename*0*=bogus''%ZZ\n\nx",
        b"From: =?utf-8?B?????=?= <@>\nTo: ,,,<>\nSubject: =?x?Q?=ZZ?=\n\nx",
        b"From: a@example.com\nContent-Type: message/rfc822\n"
        b"Content-Transfer-Encoding: base64\n\n!!",
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
        + b"--b\nContent-Type: multipart/mixed; boundary=b\n\n" * 200,
    ],
)
def test_hostile_input_never_raises_anything_but_email_parse_error(raw: bytes) -> None:
    """Broken MIME yields a result (or EmailParseError), never another exception type."""
    try:
        parsed = parse_email(raw)
    except EmailParseError:
        return
    assert isinstance(parsed.text, str)


def test_missing_from_falls_back_to_reply_to() -> None:
    """Without a usable From address the Reply-To address is used, with a defect."""
    parsed = parse_email(b'Reply-To: <r@example.com>\nFrom: "X" <>\nSubject: s\n\nbody')
    assert parsed.from_email == "r@example.com"
    assert any("Reply-To" in d for d in parsed.defects)


def test_encoded_words_in_addr_spec_are_not_decoded() -> None:
    """RFC 2047 words inside an address stay literal, so they cannot spoof a sender."""
    raw = b"From: =?utf-8?q?admin=40bank.example=3E?= <x@evil.example>\nSubject: s\n\nb"
    assert parse_email(raw).from_email == "x@evil.example"
    raw = b"From: =?utf-8?Q?agent?=@example.com\nSubject: s\n\nb"
    assert parse_email(raw).from_email == "=?utf-8?Q?agent?=@example.com"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("Grüße".encode("cp1252"), "utf-8", "Grüße"),
        ("Grüße".encode(), "iso-8859-1", "Grüße"),
        ("Grüße".encode("cp1252"), "x-unknown-charset", "Grüße"),
        ("привет".encode("koi8-r"), "koi8-r", "привет"),
        ("表".encode("gbk"), "gb2312", "表"),
        (b"\x81\x8d", "utf-8", "\x81\x8d"),
        ("äö 差".encode() + b" \xe4", None, "äö 差 ä"),
    ],
)
def test_decode_text_falls_back_without_raising(data: bytes, charset: str, expected: str) -> None:
    """Declared charset, then UTF-8, then CP1252/Latin-1; mixed UTF-8 + Latin-1 survives."""
    assert decode_text(data, charset) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("..", "attachment"),
        ("a\x00b<c>.txt", "a_b_c_.txt"),
        (".htaccess", "htaccess"),
        ("x" * 300 + ".pdf", "x" * 190 + ".pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    """Filenames are reduced to a safe basename."""
    assert safe_filename(name) == expected


def test_address_headers_are_read_once_and_absent_ones_not_at_all(monkeypatch):
    """The desk's own To: and a repeated From: go through getaddresses once a process;
    the address headers a mail lacks (Cc, Reply-To, Delivered-To, ...) never do, and
    every mail still gets its own addresses."""
    from email import utils

    from channels_app.email import headers

    seen: list[list[str]] = []

    def counting(values):
        seen.append(list(values))
        return utils.getaddresses(values)

    monkeypatch.setattr(headers, "getaddresses", counting)
    headers._remembered_addresses.cache_clear()
    mails = [
        (
            f"From: Jane Doe <jane@example.com>\r\nTo: Support <support@desk.example>\r\n"
            f"Subject: mail {i}\r\nMessage-ID: <m{i}@example.com>\r\n\r\nbody {i}\r\n"
        ).encode()
        for i in range(5)
    ]
    mails.append(
        b"From: Other <other@example.org>\r\nTo: Support <support@desk.example>\r\n"
        b"Cc: a@example.org, B <b@example.org>\r\nSubject: cc\r\n\r\nbody\r\n"
    )
    parsed = [parse_email(raw) for raw in mails]
    assert [(p.from_name, p.from_email, p.to, p.cc) for p in parsed] == [
        ("Jane Doe", "jane@example.com", ("support@desk.example",), ())
    ] * 5 + [
        (
            "Other",
            "other@example.org",
            ("support@desk.example",),
            ("a@example.org", "b@example.org"),
        )
    ]
    assert sorted(map(tuple, seen)) == sorted(
        [
            ("Jane Doe <jane@example.com>",),
            ("Support <support@desk.example>",),
            ("Other <other@example.org>",),
            ("a@example.org, B <b@example.org>",),
        ]
    )


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_the_header_index_answers_as_the_message_does(path: Path) -> None:
    """HeaderIndex (read once) gives what compat32's Message gives for every header."""
    from email.parser import BytesParser
    from email.policy import compat32

    from channels_app.email.headers import HeaderIndex

    msg = BytesParser(policy=compat32).parsebytes(path.read_bytes())
    index = HeaderIndex(msg)
    names = {name for name, _ in msg.raw_items()} | {"x-absent", "CC", "Reply-To"}
    for name in sorted(names) + [n.upper() for n in names]:
        assert str(index.get(name)) == str(msg.get(name))
        assert [str(v) for v in index.get_all(name, [])] == [str(v) for v in msg.get_all(name, [])]
        assert (name in index) == (name in msg)


def _feed_parser_state(msg) -> tuple:
    payload = msg._payload
    if isinstance(payload, list):  # a multipart's parts, each compared the same way
        payload = tuple(_feed_parser_state(part) for part in payload)
    return (
        msg._headers, payload, [type(d) for d in msg.defects], msg.get_unixfrom(),
        msg.get_default_type(), msg.preamble, msg.epilogue, msg.get_charset(),
    )  # fmt: skip


# name: (raw mail, whether the fast path reads it)
_SINGLE_PART_CASES = {
    "plain": (b"From: a@example.org\nSubject: Hi\n\nbody\n", True),
    "crlf and folded": (b"From: a@example.org\r\nSubject: a\r\n  long\r\n\r\nbody\r\nend", True),
    "lone carriage returns": (b"From: a@example.org\rSubject: x\r\rbody\r", True),
    "no body": (b"From: a@example.org\nSubject: x\n\n", True),
    "form feed": (b"From: a@example.org\nSubject: a\x0cb\n\nbody\x0c\x1c\n", True),
    "8-bit": ("From: Jürgen <j@example.org>\nSubject: Grüße\n\nÄ\n".encode("latin-1"), True),
    "envelope line": (b"From a@example.org Mon Jan 1 00:00:00 2024\n"
                      b"From: a@example.org\n\nb\n", False),
    "continuation first": (b" cont\nFrom: a@example.org\n\nb\n", False),
    "no blank line": (b"From: a@example.org\nSubject: x\nthis is body\n", False),
    "header block only": (b"From: a@example.org\nSubject: x\n", False),
    "empty name": (b"From: a@example.org\n: x\n\nb\n", False),
    "multipart": (b'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n'
                  b"--b\n\nx\n--b--\n", True),  # test_email_multipart_fast
    "message/rfc822": (b"From: a@example.org\nContent-Type: message/rfc822\n\n"
                       b"From: b@example.org\n\nx\n", False),
}  # fmt: skip


@pytest.mark.parametrize(("raw", "read"), _SINGLE_PART_CASES.values(), ids=list(_SINGLE_PART_CASES))
def test_a_single_part_mail_is_read_as_the_feed_parser_reads_it(raw, read):
    """The fast path for one-part mail with a clean header block (or a simple multipart of
    such parts) gives the very message the stdlib's feed parser gives; anything else
    (message/*, an envelope line, a header line it would mark as a defect) is left to
    the feed parser."""
    fast = _parse_single_part(raw)
    assert (fast is not None) == read
    if fast is not None:
        assert _feed_parser_state(fast) == _feed_parser_state(
            BytesParser(policy=compat32).parsebytes(raw)
        )
    assert "@example.org" in parse_email(raw).from_email  # the whole parse, either way


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_the_fast_path_reads_every_fixture_as_the_feed_parser_does(path):
    raw = path.read_bytes().lstrip(b"\r\n")
    fast = _parse_single_part(raw)
    if fast is not None:
        assert _feed_parser_state(fast) == _feed_parser_state(
            BytesParser(policy=compat32).parsebytes(raw)
        )
