"""Mail on both operations: the inbox picks the line, department and language; abuse goes
to the legal team in four languages; unknown senders and reseller IDs are held for
verification with a reply in the line's language; customisation requests get the forum."""

from __future__ import annotations

import pytest

from channels_app.models import InboundStatus
from outbox.models import MailKind, OutgoingMail
from tests.factories import AccountFactory, ContactFactory
from tests.outbox_helpers import deliver as outbox_deliver
from tickets.models import Status, Ticket

from .mail_helpers import SUPPORT, TECH, deliver, make_mail

pytestmark = pytest.mark.django_db

WORLDWIDE = "reseller@supportdesk.localhost"
DUTCH = "reseller-nl@supportdesk.localhost"
SPANISH = "reseller-es@supportdesk.localhost"
RUSSIAN = "reseller-ru@supportdesk.localhost"


@pytest.fixture
def run(departments, django_capture_on_commit_callbacks):
    def _run(raw: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            record = deliver(raw)
        outbox_deliver()  # send what it put in the outbox, as a worker would
        assert record.status == InboundStatus.PROCESSED, record.error
        return Ticket.objects.select_related("line", "department").get(pk=record.message.ticket_id)

    return _run


@pytest.fixture
def northwind(lines):
    """A reseller account of the reseller line, with Anna its verified owner."""
    account = AccountFactory(name="Northwind", reseller_id="200417", line=lines["reseller"])
    ContactFactory(
        account=account, name="Anna", email="anna@northwind.example", role="owner", verified=True
    )
    return account


@pytest.mark.parametrize(
    ("inbox", "language"), [(WORLDWIDE, "en"), (DUTCH, "nl"), (SPANISH, "es"), (RUSSIAN, "ru")]
)
def test_each_regional_inbox_opens_a_reseller_ticket_in_its_language(
    run, northwind, mailoutbox, inbox, language
):
    ticket = run(
        make_mail(to=inbox, sender="anna@northwind.example", subject="Reseller ID 200417: help")
    )
    assert (ticket.line.slug, ticket.department.slug) == ("reseller", "reseller-support")
    assert ticket.language == language and not ticket.needs_verification
    assert ticket.account == northwind
    assert f"[{ticket.reference}]" in mailoutbox[0].subject
    # Rule 12: the auto-reply is in the inbox's language.
    greeting = {"en": "Hello", "nl": "Hallo", "es": "Hola", "ru": "Здравствуйте"}[language]
    assert mailoutbox[0].body.startswith(greeting)
    assert ticket.reference in mailoutbox[0].body


def test_the_vendors_inboxes_open_vendor_tickets(run):
    ticket = run(make_mail(to=SUPPORT))
    assert (ticket.line.slug, ticket.department.slug) == ("ecommerce", "customer-support")


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Fraudulent webshop selling fake sneakers", "See cheap-sneakers.example."),
        ("Copyright violation on photos.example", "Our photos are copied."),
        ("About a domain of yours", "paypa1-login.example hosts a phishing page."),
        ("Melding", "De nepwebshop goedkope-fietsen.example is een frauduleuze webwinkel."),
        ("Schending van auteursrecht", "Onze teksten staan op kopie.example."),
        ("Denuncia", "La tienda online fraudulenta zapatos.example estafa a clientes."),
        ("Infracción de derechos de autor", "Copian nuestras fotos."),
        ("Жалоба", "Сайт bank-vhod.example занимается фишингом."),
        ("Нарушение авторских прав", "Наши фотографии используются без разрешения."),
    ],
)
def test_abuse_in_four_languages_in_subject_or_body_goes_to_legal(run, subject, body):
    """Rule 2: complaints about fraudulent webshops, phishing and copyright violations."""
    ticket = run(make_mail(to=WORLDWIDE, subject=subject, body=body))
    assert (ticket.line.slug, ticket.department.slug) == ("reseller", "legal-abuse")
    assert ticket.messages.get().metadata["abuse"]


def test_an_ordinary_mail_stays_in_reseller_support(run):
    ticket = run(make_mail(to=WORLDWIDE, subject="Transfer stuck", body="Reseller ID 1. Help."))
    assert ticket.department.slug == "reseller-support"


def test_unknown_sender_without_reseller_id_is_held_and_told_in_the_lines_language(run, mailoutbox):
    """Rule 9: write from the registered address and include the reseller ID."""
    ticket = run(make_mail(to=DUTCH, sender="stranger@example.org", subject="Help"))
    assert ticket.needs_verification and ticket.language == "nl"
    metadata = ticket.messages.get().metadata
    assert "registered contact" in metadata["verification"]
    (sent,) = mailoutbox
    assert "reseller-ID" in sent.body or "reseller ID" in sent.body
    assert OutgoingMail.objects.get(ticket=ticket).kind == MailKind.VERIFICATION


def test_a_registered_contact_without_the_reseller_id_is_held_too(run, northwind, mailoutbox):
    ticket = run(make_mail(to=WORLDWIDE, sender="anna@northwind.example", subject="Help"))
    assert ticket.needs_verification and ticket.contact.name == "Anna"
    assert "no reseller ID" in ticket.messages.get().metadata["verification"]


def test_an_unmatched_reseller_id_is_flagged_not_dropped(run, northwind):
    ticket = run(make_mail(to=WORLDWIDE, subject="Reseller ID 999999: transfer"))
    assert ticket.needs_verification and ticket.account is None
    metadata = ticket.messages.get().metadata
    assert metadata["reseller_id"] == "999999"
    assert metadata["reseller_id_unmatched"] == "999999"


def test_another_lines_account_does_not_count_on_the_reseller_line(run, lines):
    shop = AccountFactory(name="Shop", reseller_id="555555", line=lines["ecommerce"])
    ContactFactory(account=shop, email="owner@shop.example", verified=True)
    ticket = run(make_mail(to=WORLDWIDE, sender="owner@shop.example", subject="ID 555555"))
    assert ticket.account is None and ticket.needs_verification


def test_technical_support_takes_requests_only_from_registered_contacts(run, mailoutbox, anna):
    """Rule 9: "You must register with the Technical Support Service first"."""
    stranger = run(make_mail(to=TECH, sender="new@example.org", subject="Export broken"))
    assert stranger.needs_verification
    assert "register first" in mailoutbox[-1].body
    registered = run(make_mail(to=TECH, sender="anna@northwind.example", subject="Export"))
    assert not registered.needs_verification
    assert "register first" not in mailoutbox[-1].body


@pytest.mark.parametrize(
    "subject",
    [
        "Custom development: loyalty points",
        "We need additional functionality in the cart",
        "Design changes for our product page",
    ],
)
def test_customisation_requests_by_email_get_the_forum_answer(run, mailoutbox, subject):
    """Rule 10, as the portal already does."""
    ticket = run(make_mail(to=SUPPORT, subject=subject, body="What would it cost?"))
    assert ticket.status == Status.SOLVED
    assert "forum" in mailoutbox[-1].body
    assert ticket.messages.get().metadata["customisation"]


def test_an_ordinary_question_is_not_a_customisation_request(run, mailoutbox):
    ticket = run(make_mail(to=SUPPORT, subject="VAT settings", body="Where do I set VAT?"))
    assert ticket.status == Status.NEW and "forum" not in mailoutbox[-1].body


def test_the_reply_follows_the_contacts_preference_then_the_mails_language(
    run, northwind, mailoutbox
):
    """Rule 12: on the worldwide (English) line, a Russian mail gets a Russian reply; a
    contact who prefers Spanish gets Spanish whatever they write in."""
    ru = run(
        make_mail(
            to=WORLDWIDE, subject="ID реселлера 200417: не работает перенос домена",
            body="Здравствуйте! Перенос домена не работает уже третий день, помогите.",
            sender="anna@northwind.example",
        )
    )  # fmt: skip
    assert ru.language == "ru" and "заявка" in mailoutbox[-1].body
    northwind.contacts.update(language="es")
    es = run(
        make_mail(to=WORLDWIDE, subject="Reseller ID 200417: help", sender="anna@northwind.example")
    )
    assert es.language == "es" and mailoutbox[-1].body.startswith("Hola")
