from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets import admin_hooks

        from . import indexing, selectors  # noqa: F401 - connects the in-transaction receivers

        admin_hooks.register_ticket_search(selectors.admin_ticket_search)
        post_migrate.connect(_index_existing, sender=self, dispatch_uid="search.index_existing")


def _index_existing(sender: AppConfig, **kwargs: object) -> None:
    """A desk upgraded to search gets its existing tickets indexed once (a big one is told
    to run ``manage.py search_index``, which may take a while, instead)."""
    from tickets.models import Message, Ticket

    from .backfill import AUTOMATIC_LIMIT, index_missing
    from .models import Entry

    if not Ticket.objects.exists() or Entry.objects.exists():
        return
    if Message.objects.count() > AUTOMATIC_LIMIT:
        print(  # migrate's own output
            "Search: existing messages are not indexed yet; run `manage.py search_index`."
        )
        return
    index_missing()
