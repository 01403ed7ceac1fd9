from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from . import list_cache
        from .models import Account, Contact, ContactEmail, Department, Ticket

        # What the ticket lists show; service changes also count through record_events.
        list_cache.watch_tickets(Ticket)
        list_cache.watch_directory(Account, Contact, ContactEmail, Department, get_user_model())
