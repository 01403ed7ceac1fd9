from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from . import list_cache
        from .models import Account, Contact, ContactEmail, Department, Ticket

        # What the ticket lists show; service changes also count through record_events.
        list_cache.watch_tickets(Ticket)
        user = get_user_model()
        list_cache.watch_directory(Account, Contact, ContactEmail, Department, user, Group)
        list_cache.watch_relations(
            user.groups.through, user.user_permissions.through, Group.permissions.through
        )
