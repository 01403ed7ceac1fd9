"""channels_app.email.parts.Part: header parameters parsed once a distinct text give
what the stdlib's Message gives, part for part (the parser builds Parts)."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from channels_app.email.parsing import _PARSER, parse_email
from channels_app.email.parts import Part

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "email"


def _reads(part: Message) -> tuple:
    """Everything the parser's readers ask of a part's parameters."""
    return (
        part.get_params(),
        part.get_params(unquote=False),
        part.get_params(header="content-disposition"),
        part.get_param("charset"),
        part.get_param("name"),
        part.get_param("report-type", ""),
        part.get_filename(),
        part.get_content_charset(),
        part.get_boundary(),
        part.get_content_type(),
        part.get_content_disposition(),
    )


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_every_part_of_every_fixture_reads_as_the_stdlibs(path):
    raw = path.read_bytes().lstrip(b"\r\n")
    ours, theirs = _PARSER.parsebytes(raw), BytesParser(policy=compat32).parsebytes(raw)
    pairs = list(zip(ours.walk(), theirs.walk(), strict=True))
    assert all(isinstance(a, Part) for a, _ in pairs)
    for a, b in pairs:
        assert _reads(a) == _reads(b)
        assert a._headers == b._headers and len(a.defects) == len(b.defects)
    parse_email(raw)  # the whole parse reads the Parts


_VALUE_PIECES = st.sampled_from(
    [
        "text/plain",
        "multipart/mixed",
        "; charset=utf-8",
        '; charset="ISO-8859-1"',
        "; CHARSET=koi8-r",
        "; name=report.pdf",
        '; name="a;b.pdf"',
        '; name="quo\\"ted.txt"',
        "; filename*=utf-8''%E2%82%AC%20rates.pdf",
        "; filename*0=long; filename*1=name.txt",
        "; filename*0*=utf-8''%C3%A9; filename*1=t%C3%A9.txt",
        '; boundary="==b=="',
        "; format=flowed",
        ";",
        " ",
        "attachment",
        "inline",
        "; bare",
        "=",
        '"',
    ]
)


@given(st.lists(st.one_of(_VALUE_PIECES, st.text(max_size=6)), max_size=8).map("".join))
@settings(max_examples=400, deadline=None)
@example('text/plain; charset=utf-8; name="x.txt"')
@example("")
def test_any_header_text_reads_as_the_stdlibs(value):
    ours, theirs = Part(policy=compat32), Message(policy=compat32)
    for msg in (ours, theirs):
        msg["Content-Type"] = value
        msg["Content-Disposition"] = value
    try:
        expected = _reads(theirs)
    except Exception as exc:  # noqa: BLE001 - then ours must fail the same way
        with pytest.raises(type(exc)):
            _reads(ours)
        return
    assert _reads(ours) == expected
    assert _reads(ours) == expected  # and again from the cache
