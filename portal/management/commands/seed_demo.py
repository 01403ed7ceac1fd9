"""Load demo data for both support operations, through the paths customers use.

* The e-commerce platform vendor (Moscow time): customer support and technical support,
  a site account whose registrant and owner speak for it, a critical error, a question
  in the portal, a customisation request answered with the forum.
* The domain reseller (CET): mail to the worldwide, Netherlands, Spanish and Russian
  support lines (each an inbox with its language), a sender without a reseller ID held
  for verification, a phishing report for the legal team, live chat, a phone call and an
  API alert.

Mails go through the real email pipeline (stored raw, then processed in-process), so
their lines, departments, languages and auto-replies come from the same rules as
production mail. Idempotent: every demo message has an external id, so running it again
changes nothing. The demo agent's password is derived from SECRET_KEY: the same on every
run (and restart) of one install, printed each time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from channels_app.inbound import inbound_process, inbound_store
from tickets import services
from tickets.models import (
    Account,
    Channel,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactRole,
    Department,
    Direction,
    Message,
    SupportLine,
    Tier,
)
from tickets.services import MessageIn

VENDOR, RESELLER = "ecommerce", "reseller"
ACCOUNTS = [
    # line, name, reseller id, tier, contacts: (name, role, verified, email, phone, language)
    (
        VENDOR,
        "Lumen Shop",
        None,
        Tier.STANDARD,
        [
            (
                "Irina Sokolova",
                ContactRole.REGISTRANT,
                True,
                "irina@lumen-shop.example",
                "+7 495 123-45-67",
                "ru",
            ),
            ("Dmitri Orlov", ContactRole.OWNER, True, "dmitri@lumen-shop.example", "", "ru"),
            ("Oleg Petrov", ContactRole.UNVERIFIED, False, "oleg.petrov@mail.example", "", ""),
        ],
    ),
    (
        RESELLER,
        "Northwind Domains",
        "200417",
        Tier.PREMIUM,
        [
            (
                "Anna de Vries",
                ContactRole.OWNER,
                True,
                "anna@northwind.example",
                "+31 20 794 1234",
                "nl",
            ),
            (
                "Pieter Bakker",
                ContactRole.AUTHORIZED,
                True,
                "pieter@northwind.example",
                "+31 6 1234 5678",
                "nl",
            ),
        ],
    ),
    (
        RESELLER,
        "Pinecone Hosting",
        "311902",
        Tier.BASIC,
        [
            (
                "Marta Lopez",
                ContactRole.OWNER,
                True,
                "marta@pinecone.example",
                "+34 912 345 678",
                "es",
            )
        ],
    ),
    (
        RESELLER,
        "Sokol Registrar",
        "412233",
        Tier.STANDARD,
        [("Ivan Petrov", ContactRole.OWNER, True, "ivan@sokol.example", "+7 812 555-01-02", "ru")],
    ),
]

# (message id, from, to, subject, body, hours ago)
RESELLER_MAILS = [
    (
        "demo-1@northwind.example",
        "Anna de Vries <anna@northwind.example>",
        "reseller@supportdesk.localhost",
        "Transfer of northwind-shop.nl stuck in 'pending'",
        "Hello,\n\nReseller ID 200417. The transfer of northwind-shop.nl has been pending since "
        "yesterday 09:12 CET. Order ID 88213.\n\nAnna",
        26,
    ),
    (
        "demo-nl-1@northwind.example",
        "Pieter Bakker <pieter@northwind.example>",
        "reseller-nl@supportdesk.localhost",
        "DNS-wijziging wordt niet doorgevoerd",
        "Hallo,\n\nReseller ID 200417. De DNS-wijziging voor bakkerij-vos.nl wordt sinds "
        "vanochtend niet doorgevoerd. Kunt u kijken wat er mis is?\n\nMet vriendelijke groet,\n"
        "Pieter",
        5,
    ),
    (
        "demo-es-1@pinecone.example",
        "Marta Lopez <marta@pinecone.example>",
        "reseller-es@supportdesk.localhost",
        "No puedo renovar el dominio pinecone.es",
        "Hola,\n\nID de revendedor 311902. La renovación del dominio pinecone.es falla con el "
        "error 'invalid period' desde esta mañana. ¿Pueden revisarlo, por favor?\n\nGracias,\n"
        "Marta",
        3,
    ),
    (
        "demo-ru-1@sokol.example",
        "Ivan Petrov <ivan@sokol.example>",
        "reseller-ru@supportdesk.localhost",
        "Не проходит регистрация домена sokol-shop.ru",
        "Здравствуйте!\n\nID реселлера 412233. Регистрация домена sokol-shop.ru завершается "
        "ошибкой 'contact handle invalid'. Подскажите, пожалуйста, что не так.\n\nИван",
        2,
    ),
    (
        "demo-unknown-1@freemail.example",
        "Tom Baker <tom.baker@freemail.example>",
        "reseller@supportdesk.localhost",
        "Need help with my domains",
        "Hi, two of my domains expired yesterday, can you restore them?\n\nTom",
        1,
    ),
    (
        "demo-abuse-1@reporter.example",
        "Anti-Phishing Desk <reports@antiphishing.example>",
        "reseller@supportdesk.localhost",
        "Report about paypa1-login.example",
        "Hello,\n\nThe domain paypa1-login.example, registered through your platform, hosts a "
        "phishing page imitating a payment provider's sign-in. Please take it down.\n",
        8,
    ),
]
VENDOR_MAILS = [
    (
        "demo-tech-1@lumen-shop.example",
        "Irina Sokolova <irina@lumen-shop.example>",
        "tech@supportdesk.localhost",
        "Order export times out",
        "Hello,\n\nThe nightly order export to our ERP times out after 30 seconds since the "
        "last update. Log attached in the admin panel.\n\nIrina",
        4,
    ),
    (
        "demo-custom-1@lumen-shop.example",
        "Dmitri Orlov <dmitri@lumen-shop.example>",
        "support@supportdesk.localhost",
        "Custom development: loyalty points",
        "Hello,\n\nWe would like additional functionality: a loyalty-points module with its own "
        "page in the account area. What would it cost?\n\nDmitri",
        6,
    ),
]


def _portal_emails() -> list[str]:
    """Return the demo customers who can sign in to the portal (verified contacts)."""
    return [person[3] for *_, people in ACCOUNTS for person in people if person[2]]


def demo_password(username: str) -> str:
    """Return the demo login's password: stable for this install's SECRET_KEY."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo:{username}".encode(), hashlib.sha256)
    return "demo-" + digest.hexdigest()[:10]


class Command(BaseCommand):
    help = "Load idempotent demo data of both support operations and print a demo agent login."

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            contacts = self._accounts_and_contacts()
            agent = self._agent()
            self._mails(RESELLER_MAILS + VENDOR_MAILS)
            self._tickets(contacts, agent)
        self.stdout.write(self.style.SUCCESS("Demo data ready: both support operations."))
        if not settings.PRODUCTION:
            port = os.environ.get("PORT", "8000")
            base = f"http://127.0.0.1:{port}"
            self.stdout.write(
                f"Workspace (agents): {base}/desk/\n"
                f"Customer portal:    {base}/portal/  (sign in as any of: "
                + ", ".join(_portal_emails())
                + ")\n"
                f"  the reseller's portal: {base}/portal/line/reseller/ "
                f"(the vendor's: {base}/portal/line/ecommerce/)\n"
                f"Knowledge base:     {base}/kb/\n"
                f"Admin (configuration): {base}/admin/?config=1"
            )

    def _accounts_and_contacts(self) -> dict[str, Contact]:
        lines = {line.slug: line for line in SupportLine.objects.all()}
        contacts: dict[str, Contact] = {}
        now = timezone.now()
        for line_slug, name, reseller_id, tier, people in ACCOUNTS:
            account, _ = Account.objects.get_or_create(
                name=name,
                defaults={"reseller_id": reseller_id, "tier": tier, "line": lines.get(line_slug)},
            )
            for person, role, verified, email, phone, language in people:
                contact = Contact.objects.filter(emails__email=email).first()
                if contact is None:
                    contact = Contact.objects.create(
                        account=account,
                        name=person,
                        role=role,
                        language=language,
                        verified_at=now if verified else None,
                    )
                    ContactEmail.objects.create(contact=contact, email=email, is_primary=True)
                    if phone:
                        number = ContactPhone(contact=contact, number=phone)
                        number.full_clean()  # normalises to E.164
                        number.save()
                contacts[email] = contact
        return contacts

    def _agent(self):
        User = get_user_model()
        if settings.PRODUCTION:
            self.stdout.write("Production mode: no demo login was created or changed.")
            return User.objects.filter(username="agent", is_staff=True).first()
        agent, _ = User.objects.get_or_create(
            username="agent",
            defaults={
                "first_name": "Demo",
                "last_name": "Agent",
                "email": "agent@supportdesk.localhost",
            },
        )
        password = demo_password("agent")
        agent.is_staff = agent.is_superuser = True
        agent.set_password(password)
        agent.save()
        self.stdout.write(
            self.style.WARNING(f"Demo agent login: username 'agent', password '{password}'")
        )
        return agent

    def _mails(self, mails: list[tuple[str, str, str, str, str, int]]) -> None:
        """Deliver the demo mails through the email pipeline (raw first, then processed)."""
        now = timezone.now()
        for message_id, sender, to, subject, body, hours_ago in mails:
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = sender, to, subject
            mail["Date"] = format_datetime(now - timedelta(hours=hours_ago))
            mail["Message-ID"] = f"<{message_id}>"
            mail.set_content(body)
            record, created = inbound_store(
                channel=Channel.EMAIL, source="demo", raw=mail.as_bytes(), enqueue=False
            )
            if created:
                inbound_process(record.pk)

    def _tickets(self, c: dict[str, Contact], agent) -> None:
        dept = {d.slug: d for d in Department.objects.all()}
        lines = {line.slug: line for line in SupportLine.objects.all()}
        now = timezone.now()
        anna, irina, marta = (
            c["anna@northwind.example"],
            c["irina@lumen-shop.example"],
            c["marta@pinecone.example"],
        )
        transfer = Message.objects.select_related("ticket").get(
            channel=Channel.EMAIL, external_id="demo-1@northwind.example"
        )
        self._reseller_follow_ups(transfer.ticket, anna, agent, now)

        # The reseller's phone line (urgent cases) and live chat (for resellers).
        services.ticket_open(
            subject="Call: nameserver change for northwind.example urgent",
            department=dept["reseller-support"],
            contact=anna,
            line=lines[RESELLER],
            message=MessageIn(
                channel=Channel.PHONE,
                author_contact=anna,
                external_id="demo-call-1",
                occurred_at=now - timedelta(hours=3),
                body_text="Anna called: the nameserver change for northwind.example must go "
                "live before a launch at 15:00 CET. Ticket ID given: none yet.",
                metadata={"duration_seconds": 420, "call_direction": "inbound"},
            ),
        )
        services.ticket_open(
            subject="Monitoring: DNS zone pinecone.example not resolving",
            department=dept["reseller-support"],
            contact=marta,
            line=lines[RESELLER],
            message=MessageIn(
                channel=Channel.API,
                external_id="demo-api-1",
                occurred_at=now - timedelta(minutes=30),
                body_text="Alert from the customer's monitoring: SERVFAIL for pinecone.example.",
                metadata={"integration": "monitoring"},
            ),
        )

        # The vendor: a critical error (technical support only) and a portal question.
        outage = services.ticket_open(
            subject="Checkout returns error 500",
            department=dept["technical-support"],
            contact=irina,
            severity=1,
            line=lines[VENDOR],
            message=MessageIn(
                channel=Channel.PORTAL,
                author_contact=irina,
                external_id="demo-portal-1",
                occurred_at=now - timedelta(hours=2, minutes=40),
                body_text="Checkout on lumen-shop.example fails with HTTP 500 since 07:40.",
                attachments=[
                    services.AttachmentIn(
                        "error.txt", b"HTTP 500 at /checkout/confirm\n", "text/plain"
                    )
                ],
            ),
        ).ticket
        services.message_add(
            ticket=outage,
            message=MessageIn(
                channel=Channel.CHAT,
                author_contact=irina,
                external_id="demo-chat-1",
                occurred_at=now - timedelta(hours=2, minutes=30),
                body_text="Still failing, we lose orders every minute.",
            ),
        )
        services.ticket_open(
            subject="How do I change VAT settings for EU customers?",
            department=dept["customer-support"],
            contact=irina,
            line=lines[VENDOR],
            message=MessageIn(
                channel=Channel.PORTAL,
                author_contact=irina,
                external_id="demo-portal-2",
                occurred_at=now - timedelta(hours=5),
                body_text="Where in the admin panel do I set VAT per country?",
            ),
        )

    def _reseller_follow_ups(self, transfer, anna: Contact, agent, now) -> None:
        services.message_add(
            ticket=transfer,
            message=MessageIn(
                channel=Channel.CHAT,
                author_contact=anna,
                external_id="demo-chat-2",
                occurred_at=now - timedelta(hours=25),
                body_text="hi, any news on the northwind-shop.nl transfer?",
            ),
        )
        if agent is None:
            return
        services.message_add(
            ticket=transfer,
            actor=agent,
            message=MessageIn(
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                author_user=agent,
                external_id="demo-2@supportdesk",
                occurred_at=now - timedelta(hours=24),
                body_text="Hi Anna, the registry is waiting for the auth code. "
                "Could you check it and resend?",
            ),
        )
        services.message_add(
            ticket=transfer,
            actor=agent,
            message=MessageIn(
                channel=Channel.NOTE,
                direction=Direction.INTERNAL,
                author_user=agent,
                external_id="demo-note-1",
                occurred_at=now - timedelta(hours=23, minutes=50),
                body_text="Registry ticket REG-5531 opened.",
            ),
        )
