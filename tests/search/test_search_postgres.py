"""What only PostgreSQL does: stemming per message language, and a message findable by
every other connection the moment its transaction commits (never before)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from search.selectors import ticket_search
from tests.factories import open_ticket

from .conftest import refs, reply

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("Мы не можем оплатить счета за хостинг уже неделю", "оплата"),
        ("Hallo, de betalingen van onze klanten komen niet aan", "betaling"),
        ("Hola, las facturas del mes pasado no llegan a los clientes", "factura"),
        ("Hello, the invoices of last month never reached our customers", "invoice"),
    ],
)
def test_a_message_is_stemmed_in_its_own_language(anna, written, searched):
    ticket = open_ticket(subject="Question", body="Hello", contact=anna)
    reply(ticket, written)
    assert refs(ticket_search(searched)) == [ticket.reference]


@pytest.mark.django_db(transaction=True)
def test_a_new_message_is_findable_as_soon_as_it_commits(departments, anna):
    ticket = open_ticket(subject="Fresh", body="first words", contact=anna)
    seen: dict[str, list[str]] = {}

    def search_elsewhere(label: str) -> None:
        try:  # another thread: another database connection, as another web worker
            seen[label] = refs(ticket_search("gooseberry"))
        finally:
            connection.close()

    with transaction.atomic():
        reply(ticket, "a gooseberry appeared in the logs")
        other = threading.Thread(target=search_elsewhere, args=("before commit",))
        other.start()
        other.join()
    after = threading.Thread(target=search_elsewhere, args=("after commit",))
    after.start()
    after.join()
    assert seen == {"before commit": [], "after commit": [ticket.reference]}


@pytest.mark.django_db
def test_rare_words_are_read_through_the_index_and_common_ones_newest_first(anna):
    """The way to the newest matches is chosen by the vocabulary's counts (the planner
    cannot estimate a word read in four configurations): a rare word, or one not in the
    vocabulary yet, through the GIN index; a common one (in any of its forms) walking the
    entries back; identifiers are the planner's. Both ways find the same tickets."""
    from search.backends.postgres import RARE_FLOOR, PostgresBackend
    from search.models import Word
    from search.selectors import TEXT_CANDIDATES, query_from

    ticket = open_ticket(subject="Question", body="Hello", contact=anna)
    reply(ticket, "Мы не можем продлить домен, и оплата не проходит")
    Word.objects.create(word="домен", documents=RARE_FLOOR * 10)
    Word.objects.create(word="оплата", documents=3)

    def rare(text: str) -> bool | None:
        return PostgresBackend._rare(query_from(text), TEXT_CANDIDATES)

    assert rare("домена") is False  # another form of a common word
    assert rare("оплаты") is True
    assert rare("продлить") is True  # not in the vocabulary yet: new
    assert rare("домен оплата") is True  # the rarest word bounds the matches
    assert rare("не и") is False  # short words only
    assert rare("SD-100001") is None
    for text in ("домена", "оплаты", "продлить"):
        assert refs(ticket_search(text)) == [ticket.reference]
