"""Reply stripping (quoting.py) and threading keys (threading_keys.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from channels_app.email.quoting import strip_reply
from channels_app.email.threading_keys import (
    TICKET_TOKEN_RE,
    extract_ticket_number,
    find_reseller_id,
    normalize_subject,
    reference_ids,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Thanks, works now.\n\nOn Mon, Mar 4, 2024 at 9:00 AM Support <s@example.com> wrote:\n"
            "> Please restart.\n",
            "Thanks, works now.",
        ),
        (
            "Thanks!\n\nOn Mon, Mar 4, 2024 at 9:00 AM Support Team <\n"
            "s@example.com> wrote:\n> x\n",
            "Thanks!",
        ),
        (
            "Fixed.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nTo: me\n\nold",
            "Fixed.",
        ),
        (
            "Fixed.\n\n________________________________\nFrom: Support <s@example.com>\n"
            "Sent: Monday, March 4, 2024 9:00 AM\nTo: me\nSubject: x\n\nold",
            "Fixed.",
        ),
        ("Neu.\n\nFrom: Support\nSent: Monday\nSubject: x\n\nold", "Neu."),
        ("Danke.\n\nAm 04.03.2024 um 09:00 schrieb Support <s@example.com>:\n> alt", "Danke."),
        ("Спасибо.\n\n04.03.2024, 09:00, Support написал(а):\n> старое", "Спасибо."),
        ("Спасибо.\n\nПн, 4 мар. 2024 г. в 09:00, Иван <i@example.ru>:\n", None),
        ("Answer.\n> quoted line\nMore answer.", "Answer.\nMore answer."),
        ("Answer.\n\n-- \nJohn Doe\nACME Corp", "Answer."),
        ("Answer.\n\nSent from my iPhone", "Answer."),
        ("Antwort.\n\nVon meinem iPhone gesendet", "Antwort."),
    ],
)
def test_strip_reply_removes_history_and_signatures(text: str, expected: str | None) -> None:
    """Quoted history, attribution lines and signatures are removed; new text is kept."""
    assert strip_reply(text) == (expected if expected is not None else text.strip())


def test_strip_reply_keeps_bottom_posted_text() -> None:
    """A reply written below the quote keeps the reply rather than returning nothing."""
    text = "On Mon, Mar 4, 2024 Support <s@example.com> wrote:\n> question?\n\nMy answer below."
    assert strip_reply(text) == "My answer below."


@pytest.mark.parametrize("text", ["> all\n> quoted", "-- \nonly a signature", ""])
def test_strip_reply_returns_original_when_nothing_would_remain(text: str) -> None:
    """If everything looks quoted, the original text is returned unchanged."""
    assert strip_reply(text) == text


def test_strip_reply_leaves_plain_text_alone() -> None:
    """Text with no quotes or signatures is returned as is (minus trailing blank lines)."""
    assert strip_reply("Hello,\n\nmy printer is broken.\n\n") == "Hello,\n\nmy printer is broken."


@pytest.mark.parametrize(
    ("subject", "prefix", "expected"),
    [
        ("Re: [SD-123456] Printer", "SD", "123456"),
        ("AW: WG: Printer [sd-000042]", "SD", "000042"),
        ("[HD-77] Printer", "HD", "77"),
        ("[HD-77] Printer", "SD", None),
        ("Printer SD-123456", "SD", None),
        (None, "SD", None),
    ],
)
def test_extract_ticket_number(subject: str | None, prefix: str, expected: str | None) -> None:
    """The number of the first [PREFIX-n] token is returned; the prefix is configurable."""
    assert extract_ticket_number(subject, prefix=prefix) == expected


def test_ticket_token_re_uses_the_default_prefix() -> None:
    """TICKET_TOKEN_RE matches [SD-123456]."""
    match = TICKET_TOKEN_RE.search("Re: [SD-123456] x")
    assert match is not None and match.group(1) == "123456"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: FW: AW: WG: SV: VS: Antw: Printer", "Printer"),
        ("Re[2]: Re(3): Printer", "Printer"),
        ("Ответ: Принтер", "Принтер"),
        ("回复：打印机", "打印机"),
        ("Re: [SD-123456] Re:   Printer   jam ", "Printer jam"),
        ("Printer: Re: not a prefix", "Printer: Re: not a prefix"),
        ("Reinstall", "Reinstall"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    """Any number of reply/forward prefixes and ticket tokens are stripped."""
    assert normalize_subject(subject) == expected


@dataclass
class _Msg:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]


def test_reference_ids_orders_in_reply_to_then_newest_reference() -> None:
    """In-Reply-To first, then References newest first, deduplicated, own id excluded."""
    msg = _Msg("me@x", "b@x", ("a@x", "b@x", "c@x", "me@x"))
    assert reference_ids(msg) == ["b@x", "c@x", "a@x"]
    assert reference_ids(_Msg("me@x", None, ())) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our Reseller ID: 48213, thanks", "48213"),
        ("reseller #1234", "1234"),
        ("ResellerId 99", None),
        ("no id here", None),
        (None, None),
    ],
)
def test_find_reseller_id(text: str | None, expected: str | None) -> None:
    """The default pattern finds 3-10 digit reseller ids."""
    assert find_reseller_id(text) == expected


def test_find_reseller_id_with_custom_pattern() -> None:
    """A custom pattern's first group is returned."""
    assert find_reseller_id("Partner P-5512", r"Partner P-(\d+)") == "5512"
