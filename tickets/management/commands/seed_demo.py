"""Load demo data: accounts, contacts and tickets with messages from every channel.

Idempotent: every demo message has an external id, so running it again changes nothing.
The demo agent's password is derived from SECRET_KEY: the same on every run (and
restart) of one install, printed each time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

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
    Tier,
)
from tickets.services import MessageIn
from tickets.signals import demo_seeded

ACCOUNTS = [
    # name, reseller id, tier, contacts: (name, role, verified, email, phone)
    (
        "Northwind Domains",
        "200417",
        Tier.PREMIUM,
        [
            ("Anna de Vries", ContactRole.OWNER, True, "anna@northwind.example", "+31 20 794 1234"),
            (
                "Pieter Bakker",
                ContactRole.AUTHORIZED,
                True,
                "pieter@northwind.example",
                "+31 6 1234 5678",
            ),
        ],
    ),
    (
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
            ),
            ("Oleg Petrov", ContactRole.UNVERIFIED, False, "oleg.petrov@mail.example", ""),
        ],
    ),
    (
        "Pinecone Hosting",
        "311902",
        Tier.BASIC,
        [
            ("Marta Lopez", ContactRole.OWNER, True, "marta@pinecone.example", "+34 912 345 678"),
        ],
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
    help = "Load idempotent demo data and print a demo agent login (demo mode only)."

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            contacts = self._accounts_and_contacts()
            agent = self._agent()
            self._tickets(contacts, agent)
            more = demo_seeded.send(
                Command, contacts=contacts, agent=agent, password_for=demo_password
            )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if not settings.PRODUCTION:
            port = os.environ.get("PORT", "8000")
            base = f"http://127.0.0.1:{port}"
            self.stdout.write(
                f"Workspace (agents): {base}/desk/\n"
                f"Customer portal:    {base}/portal/  (sign in as any of: "
                + ", ".join(_portal_emails())
                + ")\n"
                f"Knowledge base:     {base}/kb/\n"
                f"Admin (configuration): {base}/admin/?config=1"
            )
        for line in (line for _receiver, lines in more for line in lines or []):
            self.stdout.write(line)

    def _accounts_and_contacts(self) -> dict[str, Contact]:
        contacts: dict[str, Contact] = {}
        now = timezone.now()
        for name, reseller_id, tier, people in ACCOUNTS:
            account, _ = Account.objects.get_or_create(
                name=name, defaults={"reseller_id": reseller_id, "tier": tier}
            )
            for person, role, verified, email, phone in people:
                contact = Contact.objects.filter(emails__email=email).first()
                if contact is None:
                    contact = Contact.objects.create(
                        account=account,
                        name=person,
                        role=role,
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

    def _tickets(self, c: dict[str, Contact], agent) -> None:
        dept = {d.slug: d for d in Department.objects.all()}
        now = timezone.now()
        anna, irina, marta = (
            c["anna@northwind.example"],
            c["irina@lumen-shop.example"],
            c["marta@pinecone.example"],
        )

        transfer = services.ticket_open(
            subject="Transfer of northwind-shop.nl stuck in 'pending'",
            department=dept["technical-support"],
            contact=anna,
            severity=2,
            message=MessageIn(
                channel=Channel.EMAIL,
                author_contact=anna,
                external_id="demo-1@northwind.example",
                occurred_at=now - timedelta(hours=26),
                body_text="Hello,\n\nReseller ID 200417. The transfer of northwind-shop.nl "
                "has been pending since yesterday 09:12 CET. Order ID 88213.\n\nAnna",
            ),
        ).ticket
        services.message_add(
            ticket=transfer,
            message=MessageIn(
                channel=Channel.CHAT,
                author_contact=anna,
                external_id="demo-chat-1",
                occurred_at=now - timedelta(hours=25),
                body_text="hi, any news on the northwind-shop.nl transfer?",
            ),
        )
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

        outage = services.ticket_open(
            subject="Checkout returns error 500",
            department=dept["technical-support"],
            contact=irina,
            severity=1,
            message=MessageIn(
                channel=Channel.PHONE,
                author_contact=irina,
                external_id="demo-call-1",
                occurred_at=now - timedelta(hours=3),
                body_text="Caller reports checkout on lumen-shop.example fails with HTTP 500 "
                "since 07:40.",
                metadata={
                    "duration_seconds": 420,
                    "direction": "inbound",
                    "outcome": "ticket opened",
                },
            ),
        ).ticket
        services.message_add(
            ticket=outage,
            message=MessageIn(
                channel=Channel.PORTAL,
                author_contact=irina,
                external_id="demo-portal-1",
                occurred_at=now - timedelta(hours=2, minutes=40),
                body_text="Screenshot of the error attached.",
                attachments=[
                    services.AttachmentIn(
                        "error.txt", b"HTTP 500 at /checkout/confirm\n", "text/plain"
                    )
                ],
            ),
        )

        services.ticket_open(
            subject="How do I change VAT settings for EU customers?",
            department=dept["customer-support"],
            contact=irina,
            message=MessageIn(
                channel=Channel.PORTAL,
                author_contact=irina,
                external_id="demo-portal-2",
                occurred_at=now - timedelta(hours=5),
                body_text="Where in the admin panel do I set VAT per country?",
            ),
        )
        services.ticket_open(
            subject="Monitoring: DNS zone pinecone.example not resolving",
            department=dept["technical-support"],
            contact=marta,
            message=MessageIn(
                channel=Channel.API,
                external_id="demo-api-1",
                occurred_at=now - timedelta(minutes=30),
                body_text="Alert from the customer's monitoring: SERVFAIL for pinecone.example.",
                metadata={"integration": "monitoring"},
            ),
        )
        services.ticket_open(
            subject="Phishing site hosted on a domain of reseller 311902",
            department=dept["legal-abuse"],
            message=MessageIn(
                channel=Channel.EMAIL,
                external_id="demo-abuse-1@reporter.example",
                occurred_at=now - timedelta(hours=8),
                body_text="The domain paypa1-login.example hosts a phishing page.",
                metadata={"from": "reports@antiphishing.example"},
            ),
        )
