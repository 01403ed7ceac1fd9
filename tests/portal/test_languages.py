"""Rule 12: the portal and the knowledge base speak English, Dutch, Spanish and Russian
(Django i18n: translated .po files, LocaleMiddleware); the language comes from the
customer's choice, the contact's preference, the browser, or the support line; times
are shown in the customer's zone, and the page says which."""

from __future__ import annotations

import pytest
import time_machine

from kb.models import Article, ArticleTranslation, Category
from tests.factories import AccountFactory, ContactFactory, open_ticket

from .conftest import sign_in_link

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept", "heading", "tickets"),
    [
        ("nl-NL,nl;q=0.9", "Waarmee kunnen we helpen?", "Mijn tickets"),
        ("es-ES,es;q=0.9", "¿En qué podemos ayudarle?", "Mis tickets"),
        ("ru-RU,ru;q=0.9", "Чем мы можем помочь?", "Мои заявки"),
        ("de-DE,de;q=0.9", "How can we help?", "My tickets"),  # not ours: the line's
    ],
)
def test_the_portal_speaks_the_browsers_language(client, lines, accept, heading, tickets):
    client.get("/portal/line/reseller/")  # the reseller answers in all four
    page = client.get("/portal/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert heading in page
    assert "Sign in" in page or "Aanmelden" in page or "Iniciar sesión" in page or "Войти" in page


def test_the_line_decides_when_the_browser_names_none_of_ours(client, lines):
    lines["reseller"].language = "nl"
    lines["reseller"].save()
    client.get("/portal/line/reseller/")
    page = client.get("/portal/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'lang="nl"' in page and "Waarmee kunnen we helpen?" in page


def test_the_customers_choice_wins_and_becomes_the_contacts_preference(client, lines):
    account = AccountFactory(name="Pine", reseller_id="311902", line=lines["reseller"])
    marta = ContactFactory(account=account, email="marta@pine.example", role="owner", verified=True)
    client.post("/portal/sign-in/", {"email": "marta@pine.example"})
    client.post(sign_in_link())
    response = client.get("/portal/language/es/?next=/portal/tickets/")
    assert response["Location"] == "/portal/tickets/"
    page = client.get("/portal/tickets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Mis tickets" in page
    marta.refresh_from_db()
    assert marta.language == "es"
    # Signed in again elsewhere, her preference applies at once.
    other = client.__class__()
    other.post("/portal/sign-in/", {"email": "marta@pine.example"})
    other.post(sign_in_link())
    assert "Mis tickets" in other.get("/portal/tickets/").content.decode()


def test_times_are_in_the_customers_zone_and_say_so(client, lines, departments):
    account = AccountFactory(name="Sokol", reseller_id="412233", line=lines["reseller"])
    ivan = ContactFactory(
        account=account, email="ivan@sokol.example", role="owner", verified=True,
        time_zone="Europe/Moscow", language="ru",
    )  # fmt: skip
    with time_machine.travel("2026-11-23 09:00Z", tick=False):
        ticket = open_ticket(contact=ivan, department=departments["reseller-support"])
    client.post("/portal/sign-in/", {"email": "ivan@sokol.example"})
    client.post(sign_in_link())
    page = client.get("/portal/tickets/").content.decode()
    assert "Обновлено (Europe/Moscow)" in page and "2026-11-23 12:00" in page
    detail = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "2026-11-23 12:00 Europe/Moscow" in detail


def test_a_kb_article_is_shown_and_found_in_its_translation(client, lines):
    domains = Category.objects.create(name="Domains", slug="domains")
    article = Article.objects.create(
        title="How to transfer a domain", slug="transfer", category=domains,
        body="Unlock the domain and request the auth code.", keywords="transfer",
        published=True, helpful_yes=11, helpful_no=11,
    )  # fmt: skip
    ArticleTranslation.objects.create(
        article=article, language="nl", title="Een domein verhuizen",
        body="Ontgrendel het domein en vraag de verhuiscode aan.", keywords="verhuizen",
    )  # fmt: skip
    page = client.get("/kb/transfer/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Een domein verhuizen" in page and "Ontgrendel het domein" in page
    assert "11 van de 22 vonden dit nuttig" in page and "Was dit artikel nuttig?" in page
    found = client.get("/kb/suggest.json?q=verhuizen", HTTP_ACCEPT_LANGUAGE="nl").json()
    assert [a["title"] for a in found["articles"]] == ["Een domein verhuizen"]
    english = client.get("/kb/transfer/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How to transfer a domain" in english and "Was this article helpful?" in english


def test_sign_in_and_confirmation_mails_are_in_the_customers_language(client, lines):
    """Rule 12: verification (sign-in) mail and notifications in the customer's language."""
    from django.core import mail

    from tests.outbox_helpers import deliver

    account = AccountFactory(name="Pine", reseller_id="311902", line=lines["reseller"])
    ContactFactory(account=account, email="marta@pine.example", role="owner", verified=True)
    client.get("/portal/line/reseller/")
    client.post("/portal/sign-in/", {"email": "marta@pine.example"}, HTTP_ACCEPT_LANGUAGE="es")
    deliver()
    assert mail.outbox[-1].subject == "Su enlace de acceso a SupportDesk"
    client.post(sign_in_link(), HTTP_ACCEPT_LANGUAGE="es")
    client.post(
        "/portal/tickets/new/",
        {"topic": "account", "subject": "Factura", "description": "IVA", "severity": "3"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    deliver()
    assert "Hemos recibido su solicitud" in mail.outbox[-1].subject
    assert "Su número de ticket es" in mail.outbox[-1].body
