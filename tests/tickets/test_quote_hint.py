"""tickets.text.quotes.history_start: skipping the attribution patterns when the text
holds none of an attribution's words finds the same first quoted line as trying them
on every line."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tickets.text import strip_reply
from tickets.text.quotes import _ATTRIBUTION_RE, _SIGNATURE_RE, history_start, is_quote_header


def _every_line_tried(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if _SIGNATURE_RE.match(line) or is_quote_header(lines, index):
            return index
    return len(lines)


# Pieces of attribution lines and of ordinary text, so that generated lines both hold and
# miss the words, alone and split across two lines ("… Jean a" / "écrit :").
_PIECES = st.sampled_from(
    [
        "On Mon, 4 Mar 2024 at 9:00, Support <s@example.com>",
        "wrote:",
        "WROTE:",
        "Am 4. März 2024 schrieb Support:",
        "Le 4 mars 2024 à 09:00, Jean a",
        "écrit :",
        "a écrit :",
        "El lun, 4 mar 2024, Soporte escribió:",
        "Op ma 4 mrt 2024 schreef Support:",
        "4 марта 2024 г., Поддержка написал(а):",
        "Иван <ivan@example.ru> пишет:",
        "From: Support",
        "Sent: Monday",
        "> quoted",
        "-- ",
        "-----Original Message-----",
        "Hello, the domain is down",
        "Thanks",
        "",
        " ",
    ]
)
_LINE = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=3).map(" ".join)


@given(st.lists(_LINE, max_size=12))
@settings(max_examples=500, deadline=None)
@example(["Merci.", "Le 4 mars 2024 à 09:00, Jean a", "écrit :", "> x"])
@example(["Thanks", "On Mon, 4 Mar 2024 at 9:00, Support <", "s@example.com> wrote:", "> x"])
@example(["Hello", "", "Kind regards", "-- ", "Sent from my phone"])
def test_same_first_quoted_line(lines: list[str]) -> None:
    assert history_start(lines) == _every_line_tried(lines)


def _strip_every_line_tried(text: str) -> str:
    """strip_reply as written, with every line tried against every pattern."""
    lines = text.splitlines()
    kept = [line for line in lines[: _every_line_tried(lines)] if not line.lstrip().startswith(">")]
    result = "\n".join(kept).strip("\n").rstrip()
    if result.strip():
        return result
    unquoted = [
        line
        for line in lines
        if not line.lstrip().startswith(">") and not _ATTRIBUTION_RE.match(line)
    ]
    cut = next((i for i, line in enumerate(unquoted) if _SIGNATURE_RE.match(line)), len(unquoted))
    result = "\n".join(unquoted[:cut]).strip("\n").rstrip()
    return result if result.strip() else text


@given(st.lists(_LINE, max_size=12).map("\n".join))
@settings(max_examples=300, deadline=None)
@example("Merci.\nLe 4 mars 2024 à 09:00, Jean a\nécrit :\n> x")
def test_strip_reply_keeps_its_answers(text: str) -> None:
    assert strip_reply(text) == _strip_every_line_tried(text)
