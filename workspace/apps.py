from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WorkspaceConfig(AppConfig):
    name = "workspace"
    verbose_name = _("Agents' workspace")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - keeps the list rows and notifications current

        post_migrate.connect(_fill_rows, sender=self, dispatch_uid="workspace.fill_rows")


def _fill_rows(sender: AppConfig, **kwargs: object) -> None:
    """A desk upgraded to the workspace gets its existing tickets' rows once."""
    from tickets.models import Ticket

    from .models import TicketRow
    from .rows import rows_rebuild_all

    if Ticket.objects.exists() and not TicketRow.objects.exists():
        rows_rebuild_all()
