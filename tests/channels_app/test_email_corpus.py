"""Run the parser against Zammad's real-world mail corpus (external AGPL test data).

The corpus is never copied into this repository; see its README.md for provenance. Zammad's
expectations carry Zammad conventions (its own HTML cleaner, a ``message.html`` copy of the
HTML alternative, etc.), so the comparison here is deliberately parser-neutral:

- ``from_email`` case-insensitively, ``subject`` whitespace-normalised;
- ``body``: tags stripped, entities decoded and all whitespace removed on both sides, then the
  first ``BODY_PREFIX`` characters of the expectation must occur in our body;
- attachments: every expected attachment except Zammad's ``message.html`` copy must be present,
  matched by MD5 of the bytes (or of the text re-encoded as UTF-8) or, failing that, by filename.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import unicodedata
from pathlib import Path

import pytest

from channels_app.email.parsing import (
    EmailParseError,
    ParsedEmail,
    decode_text,
    parse_email,
    safe_filename,
)

BODY_PREFIX = 300
CORPUS_DIR = Path(
    os.environ.get("SUPPORTDESK_EMAIL_CORPUS")
    or Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "zammad-mail"
)
MISSING_HINT = (
    "corpus not found: put zammad-mail at ../shared/corpus/ or set SUPPORTDESK_EMAIL_CORPUS"
)

# Mails that may raise EmailParseError (id -> why). Empty: every corpus mail must parse.
EXPECTED_PARSE_ERRORS: dict[str, str] = {}

# Where our result differs from Zammad's on purpose (id -> reason). These run as strict xfail,
# so a difference that disappears is reported and can be removed from this list.
DELIBERATE_DIFFERENCES: dict[str, str] = {
    "018": "Subject and body are UTF-7 (+ANw- = Ü); we decode them, Zammad leaves them raw",
    "023": "HTML declared UTF-8 is really GB2312; Zammad guesses charsets statistically, we "
    "do not (no chardet dependency), so the body falls back to CP1252 mojibake",
    "026": "the HTML body's only text is its <title>; we drop <title> as page metadata",
    "035": "From is a bare quoted string; we return the usable address, Zammad keeps the quotes",
    "046": "raw 8-bit GB2312 display name: we decode it with the charset the message declares "
    "(武兰成), Zammad produced mojibake",
    "060": "body mixes UTF-8 and Latin-1 under the unknown charset iso-gb2312; we decode both "
    "runs correctly, Zammad produced mojibake",
    "065": "a comma inside a Q-encoded display name: we decode 'Bürling, Andreas', Zammad "
    "split the mailbox and kept '=20Andreas?='",
    "072": "body declared windows-1258: we decode per the declaration ('à', 'û'), Zammad "
    "used another code page ('ŕ', 'ű')",
    "076": "From '\"…transfer\"@example.com>': we drop the stray '>' and keep the quoted "
    "local part as the address; Zammad keeps the '>' and copies it into the display name",
    "085": "Apple Mail split HTML body: we concatenate inline text/html parts of a "
    "multipart/mixed, Zammad turns the second one into a document.html attachment",
    "087": "From 'Test test@example.com' (no angle brackets): we split name and address; and "
    "the unterminated multipart's text part is our body, Zammad's 'file' attachment",
    "092": "display name 'MAILER-DAEMON (Mail Delivery System)': the stdlib keeps the RFC 5322 "
    "comment, Zammad drops it",
    "117": "encoded word inside the addr-spec: RFC 2047 §5 forbids it and decoding it enables "
    "sender spoofing, so we keep the literal address",
    "118": "encoded word inside the addr-spec kept literal (see 117)",
}

NO_CONTENT = "novisiblecontent"
_TAG_RE = re.compile(r"<[^>]*>")


def _corpus_ids() -> list[str]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(path.stem for path in CORPUS_DIR.glob("*.eml"))


def _require_corpus() -> None:
    if CORPUS_DIR.is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail(MISSING_HINT + f" (looked in {CORPUS_DIR})")
    pytest.skip(MISSING_HINT)


def _squash(text: str, is_html: bool) -> str:
    """Return text without tags, entities or any whitespace, for a markup-neutral compare."""
    if is_html:
        text = html.unescape(_TAG_RE.sub(" ", text))
    return "".join(unicodedata.normalize("NFC", text).split())


def _attachment_matches(expected: dict, parsed: ParsedEmail) -> bool:
    wanted = safe_filename(unicodedata.normalize("NFC", expected["filename"])).lower()
    for att in parsed.attachments:
        md5s = {hashlib.md5(att.payload).hexdigest()}  # noqa: S324 - corpus stores MD5s
        if expected["data_kind"] == "text":
            # Zammad hashes text parts after converting them to UTF-8.
            text = decode_text(att.payload, att.charset)
            for variant in (text, text.replace("\r\n", "\n"), text.rstrip("\r\n")):
                md5s.add(hashlib.md5(variant.encode("utf-8")).hexdigest())  # noqa: S324
        if expected["data_md5"] in md5s or att.filename.lower() == wanted:
            return True
    return False


def compare(parsed: ParsedEmail, expected: dict) -> list[str]:
    """Return human-readable mismatches between our parse and Zammad's expectation."""
    problems = []
    if parsed.from_email.lower() != expected["from_email"].strip().lower():
        problems.append(f"from_email {parsed.from_email!r} != {expected['from_email']!r}")
    if " ".join(parsed.from_name.split()) != " ".join(expected["from_display_name"].split()):
        problems.append(f"from_name {parsed.from_name!r} != {expected['from_display_name']!r}")
    want_subject = " ".join((expected.get("subject") or "").split())
    if " ".join(parsed.subject.split()) != want_subject:
        problems.append(f"subject {parsed.subject!r} != {want_subject!r}")
    is_html = expected["content_type"] == "text/html"
    want_all = _squash(expected["body"], is_html)
    want = want_all[:BODY_PREFIX]
    ours = _squash(parsed.html, True) if is_html and parsed.html else _squash(parsed.text, False)
    # Zammad keeps <title> text and shows "no visible content" for empty bodies; we do
    # neither, so our body may also be a leading part of Zammad's.
    if want not in ours and not (ours and ours[:100] in want_all) and want != NO_CONTENT:
        problems.append(f"body: expected prefix {want[:80]!r}, got {ours[:80]!r}")
    for att in expected["attachments"]:
        if att["preferences"].get("original-format"):
            continue  # Zammad's copy of the HTML alternative, not a real attachment
        if not _attachment_matches(att, parsed):
            problems.append(f"attachment {att['filename']!r} ({att['data_size']} bytes) missing")
    return problems


def _params() -> list:
    params = []
    for case_id in _corpus_ids():
        marks = []
        if case_id in DELIBERATE_DIFFERENCES:
            marks.append(pytest.mark.xfail(strict=True, reason=DELIBERATE_DIFFERENCES[case_id]))
        params.append(pytest.param(case_id, marks=marks, id=case_id))
    return params or [pytest.param(None, id="corpus-missing")]


@pytest.mark.parametrize("case_id", _corpus_ids() or [None])
def test_corpus_mail_parses_without_crashing(case_id: str | None) -> None:
    """Every corpus mail parses; only listed mails may raise, and only EmailParseError."""
    _require_corpus()
    raw = (CORPUS_DIR / f"{case_id}.eml").read_bytes()
    try:
        parsed = parse_email(raw)
    except EmailParseError:
        if case_id in EXPECTED_PARSE_ERRORS:
            return
        raise
    assert parsed.message_id
    assert isinstance(parsed.text, str)


@pytest.mark.parametrize("case_id", _params())
def test_corpus_mail_matches_zammad_expectation(case_id: str | None) -> None:
    """Sender, subject, body and attachments match Zammad's expectations for the mail."""
    _require_corpus()
    if case_id in EXPECTED_PARSE_ERRORS:
        pytest.skip(EXPECTED_PARSE_ERRORS[case_id])
    expected = json.loads((CORPUS_DIR / f"{case_id}.json").read_text("utf-8"))["expected"]
    parsed = parse_email((CORPUS_DIR / f"{case_id}.eml").read_bytes())
    assert compare(parsed, expected) == []
