"""factory_boy factories for the domain models; tickets go through the services."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from tickets.lines import department_for_channel
from tickets.models import Account, Contact, ContactEmail, ContactPhone, Department, Ticket
from tickets.services import MessageIn, ticket_open


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"agent{n}")
    is_staff = True
    is_active = True
    password = factory.django.Password("agent-password-123")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact; ``email=``/``phone=`` add addresses, ``verified=True`` verifies it."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    class Params:
        verified = False

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    role = "authorized"
    verified_at = factory.Maybe(
        "verified", yes_declaration=factory.LazyFunction(timezone.now), no_declaration=None
    )

    @factory.post_generation
    def email(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            address = ContactEmail(contact=self, email=extracted, is_primary=True)
            address.full_clean()
            address.save()

    @factory.post_generation
    def phone(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            number = ContactPhone(contact=self, number=extracted)
            number.full_clean()
            number.save()


def open_ticket(
    *,
    subject: str = "Printer on fire",
    channel: str = "email",
    body: str = "Help!",
    department: Department | None = None,
    contact: Contact | None = None,
    external_id: str | None = None,
    **message: object,
) -> Ticket:
    """Open a ticket through the service, as a channel would (by default in customer
    support, or for a phone call in the department of the line that takes calls)."""
    if department is None:
        department = (
            department_for_channel(channel)
            if channel == "phone"
            else Department.objects.get(slug="customer-support")
        )
    return ticket_open(
        subject=subject,
        department=department,
        contact=contact,
        message=MessageIn(
            channel=channel,
            body_text=body,
            author_contact=contact,
            external_id=external_id,
            **message,
        ),
    ).ticket
