"""The pure rules of search: what is indexed, in which language, which identifiers, and
how a query is read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search import text as text_module
from search.query import parse_query
from search.text import identifiers, language_config, phone_number, searchable_text

REGIONS = ["NL", "RU", "ES"]


def test_quoted_history_and_signature_are_not_indexed():
    body = (
        "The new invoice is still wrong.\n\n"
        "On Mon, 3 Mar 2025 at 10:00, Support <help@desk.example> wrote:\n"
        "> Please check the attached quote\n> secretquoted words\n"
    )
    text = searchable_text(body)
    assert "invoice is still wrong" in text
    assert "secretquoted" not in text


@pytest.mark.parametrize(
    ("text", "config"),
    [
        ("Здравствуйте, у нас не работает оплата счёта на сайте", "russian"),
        ("Hallo, ik kan de factuur niet betalen en de betaling werkt niet", "dutch"),
        ("Hola, no puedo pagar la factura y el pago no funciona para mi", "spanish"),
        ("Hello, the payment of my invoice does not work and it is urgent", "english"),
        ("12345 67890", "simple"),
        ("ok", "simple"),
    ],
)
def test_each_message_gets_the_configuration_of_its_language(text, config):
    assert language_config(text) == config


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("8 (495) 123-45-67", "74951234567"),
        ("+7 495 123 45 67", "74951234567"),
        ("0074951234567", "74951234567"),
        ("+31 20 123 4567", "31201234567"),
        ("020-1234567", "31201234567"),  # the desk's own region (NL) first
        ("12-34", ""),
        ("2024-0042", ""),
    ],
)
def test_phone_numbers_in_any_notation(raw, digits):
    assert phone_number(raw, REGIONS) == digits


def test_a_number_is_checked_by_libphonenumber_once_for_its_regions(monkeypatch):
    """An import meets most numbers twice (issue 16: 3,000 checks of 2,000 numbers a
    1,000 mails, ~0.3 ms each): the answer is remembered per text and regions."""
    import phonenumbers

    import search.text as text_module

    calls: list[tuple[str, str | None]] = []
    real = phonenumbers.parse

    def counted(number: str, region: str | None = None, *args: object, **kwargs: object):
        calls.append((number, region))
        return real(number, region, *args, **kwargs)

    monkeypatch.setattr(text_module.phonenumbers, "parse", counted)
    text_module._phone_number.cache_clear()
    assert phone_number("020-7654321", REGIONS) == "31207654321"
    first = len(calls)
    assert first >= 1
    assert phone_number(" 020-7654321 ", REGIONS) == "31207654321"
    assert len(calls) == first
    assert phone_number("020-7654321", ["RU", "NL"]) == "31207654321"  # its own regions
    assert len(calls) > first  # the other regions were tried for the second list
    again = len(calls)
    assert phone_number("020-7654321", ("RU", "NL")) == "31207654321"
    assert len(calls) == again


def test_identifiers_of_a_message():
    text = (
        "Order INV-2024-0042 for https://shop.northwind.example/cart failed; "
        "call 8 (495) 123-45-67 or write to billing@northwind.example"
    )
    found = identifiers(text, regions=REGIONS, filenames=["Screenshot_2025.png"])
    for expected in (
        "inv-2024-0042",
        "shop.northwind.example",
        "northwind.example",
        "74951234567",
        "billing@northwind.example",
        "screenshot_2025.png",
        "screenshot",
    ):
        assert expected in found
    assert "example" not in found  # a bare top-level domain is no identifier


def test_an_all_digit_query_is_a_ticket_number_a_reseller_id_and_a_word():
    query = parse_query("200417", prefix="SD", regions=REGIONS)
    assert query.numbers == (200417,)
    assert query.reseller_ids == ("200417",)
    assert "200417" in query.lexemes


def test_query_readings():
    assert parse_query("SD-100001", prefix="SD", regions=REGIONS).numbers == (100001,)
    assert parse_query("sd-100001", prefix="SD", regions=REGIONS).reseller_ids == ()
    email = parse_query("Anna@Northwind.example", prefix="SD", regions=REGIONS)
    assert email.emails == ("anna@northwind.example",)
    assert email.domains == ()  # the address, not everyone at its domain
    phone = parse_query("8 (495) 123-45-67", prefix="SD", regions=REGIONS)
    assert phone.phones == ("74951234567",)
    assert phone.is_identifier
    domain = parse_query("https://northwind.example/", prefix="SD", regions=REGIONS)
    assert domain.domains == ("northwind.example",)
    words = parse_query("  payment   failed ", prefix="SD", regions=REGIONS)
    assert words.text == "payment failed"
    assert not words.is_identifier
    code = parse_query("INV-2024-0042", prefix="SD", regions=REGIONS)
    assert code.codes == ("inv-2024-0042",)
    assert code.reseller_ids == ("INV-2024-0042",)


def test_the_fragment_of_a_phone_number_is_what_typed_and_read_digits_end_in():
    regions = ("RU", "NL", "ES", "GB", "DE")  # the default SUPPORTDESK_SEARCH_PHONE_REGIONS
    # Seven digits without an area code: Germany would read them as a whole number
    # (49 5176202); the fragment searched in stored numbers stays the typed digits.
    assert parse_query("5176202", prefix="SD", regions=regions).partial == "5176202"
    assert parse_query("0806607", prefix="SD", regions=regions).partial.endswith("806607")
    assert parse_query("8 (495) 123-45-67", prefix="SD", regions=regions).partial == ("4951234567")
    assert parse_query("+31 20 123 4567", prefix="SD", regions=regions).partial == ("31201234567")


def test_sender_identifiers_remembered_are_those_worked_out():
    """The index remembers the identifiers of a sender's addresses (one sender writes
    many mails): asked again, and for the same addresses in another order, they are
    what ``identifiers`` works out for them."""
    from search.indexing import _sender_identifiers

    cases = [
        ("anna@shop.northwind.example", "+31 20 123 4567"),
        ("+31 20 123 4567", "anna@shop.northwind.example"),
        ("ivan@roga.example", "", "not an address"),
        (),
    ]
    for senders in cases + cases:
        assert _sender_identifiers(senders, tuple(REGIONS)) == tuple(
            identifiers("", regions=REGIONS, extra=senders)
        )
    assert "northwind.example" in _sender_identifiers(cases[0], tuple(REGIONS))


@given(st.text(alphabet=st.characters(blacklist_characters="@"), max_size=200))
def test_a_text_without_an_at_sign_has_no_address_to_scan_for(text):
    """identifiers() skips the address pattern when the text has no @: the pattern finds
    nothing in such a text, so the identifiers are those of the full scan."""
    assert text_module._EMAIL.search(text) is None
