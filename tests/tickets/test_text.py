"""The text toolkit (``tickets.text``): quoted history, subjects and ticket references;
and the email threading keys (``channels_app.email.threading_keys``)."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels_app.email.threading_keys import find_reseller_id, reference_ids
from tickets.text import (
    find_references,
    normalize_subject,
    parse_reference,
    strip_references,
    strip_reply,
    subject_token,
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
        ("Re: [SD - 100001] Printer", "SD", "100001"),
        ("Re: [ SD-100001 ] Printer", "SD", "100001"),
        ("Re: [SD#100001] Printer", "SD", "100001"),
        ("about SD-7, Re: [SD-100001] Printer", "SD", "100001"),
        ("Re: [SD-100001 Printer", "SD", None),
        (None, "SD", None),
    ],
)
def test_subject_token(subject: str | None, prefix: str, expected: str | None) -> None:
    """The number of the first bracketed [PREFIX-n] token is returned; the prefix is
    configurable; a subject that only mentions a ticket carries no token."""
    assert subject_token(subject, prefix=prefix) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: FW: AW: WG: SV: VS: Antw: Printer", "Printer"),
        ("Re[2]: Re(3): Printer", "Printer"),
        ("Ответ: Принтер", "Принтер"),
        ("Отв: RE: TR: VS: SV: Fwd: WG: AW: Принтер", "Принтер"),
        ("Re: [SD - 100001] Printer SD-100002", "Printer SD-100002"),
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


REFERENCES = [
    ("[SD-100001]", 100001),
    ("[SD - 100001]", 100001),
    ("[sd-100001]", 100001),
    ("[SD#100001]", 100001),
    ("[SD 100001]", 100001),
    ("SD-100001", 100001),
    ("sd - 100001", 100001),
    ("SD#100001", 100001),
    ("SD №100001", 100001),
]


@pytest.mark.parametrize(("written", "number"), REFERENCES)
def test_every_form_of_a_reference_is_found_stripped_and_parsed(written: str, number: int):
    """One grammar: the forms threading, search and duplicate detection read are the same."""
    text = f"Hello, about {written}: still broken"
    assert find_references(text) == [str(number)]
    assert "100001" not in strip_references(text)
    assert strip_references(text).split() == ["Hello,", "about", ":", "still", "broken"]
    assert parse_reference(f"  {written} ") == number
    assert parse_reference(written, bare=False) == number


@pytest.mark.parametrize(
    "text",
    ["SD 128 GB card", "SD128GB", "SD-100001x", "XSD-100001", "SD-", "SD-1234567890123456789"],
)
def test_what_is_not_a_reference_in_text(text: str):
    """Without a separator or brackets, "SD 128" is a memory card; a number glued to
    letters is a code; a number longer than a ticket number column is none."""
    assert find_references(text) == []
    assert strip_references(text) == text


@pytest.mark.parametrize(
    ("query", "number"),
    [
        ("100001", 100001),
        ("#100001", 100001),
        ("SD100001", 100001),
        ("sd 100001", 100001),
        ("100001²", None),
        ("١٠٠٠٠١", None),
        ("SD-100001 and more", None),
        ("1234567890123456789", None),
        ("", None),
    ],
)
def test_parse_reference_reads_a_whole_query(query: str, number: int | None):
    assert parse_reference(query) == number


def test_parse_reference_without_bare_numbers_needs_the_prefix():
    assert parse_reference("100001", bare=False) is None
    assert parse_reference("#100001", bare=False) is None
    assert parse_reference("HD-5", "HD", bare=False) == 5


@pytest.mark.parametrize(
    "header",
    [
        "Am 03.06.2024 um 10:12 schrieb Support <help@desk.example>:",
        "Am Mo., 3. Juni 2024 um 10:12 Uhr schrieb Support <\nhelp@desk.example>:",
        "-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag, 3. Juni 2024",
        "3 июня 2024 г., в 10:12, Support <help@desk.example> написал:",
        "03.06.2024 10:12, Support написал(а):",
        "03.06.2024 10:12, Support пишет:",
        "Понедельник, 3 июня 2024, 10:12 +03:00 от Support <help@desk.example> пишет:",
        "-----Исходное сообщение-----\nОт: Support\nОтправлено: 3 июня 2024 г. 10:12",
        "Op ma 3 jun 2024 om 10:12 schreef Support <help@desk.example>:",
        "El lun, 3 jun 2024 a las 10:12, Support (<help@desk.example>) escribió:",
        "Le lun. 3 juin 2024 à 10:12, Support <help@desk.example> a écrit :",
        "On Mon, 3 Jun 2024 at 10:12, Support <help@desk.example> wrote:",
        "-----Original Message-----\nFrom: Support\nSent: Monday, June 3, 2024 10:12",
        "From: Support <help@desk.example>\nSent: Monday, June 3, 2024 10:12\nTo: Anna",
        "Begin forwarded message:",
    ],
)
def test_quote_headers_in_every_language_end_the_new_text(header: str):
    text = f"The transfer failed again.\n\n{header}\n> the earlier answer\nold words"
    assert strip_reply(text) == "The transfer failed again."


def test_a_sentence_that_says_someone_writes_is_not_a_quote_header():
    """ "Клиент пишет:" without a date or an address is the customer's own sentence."""
    text = "Клиент пишет:\nдомен не работает"
    assert strip_reply(text) == text


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


def test_the_pure_modules_import_no_django():
    """``tickets.text`` and ``tickets.status`` run without Django (tested and benchmarked
    alone, used by pure modules of other apps): only the standard library and each other."""
    root = Path(__file__).resolve().parents[2] / "tickets"
    for path in [root / "status.py", *sorted((root / "text").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
