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
