import sys
from typing import Any

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


def _fill_rows(sender: AppConfig, *, verbosity: int = 1, stdout: Any = None, **kwargs: Any) -> None:
    """A desk upgraded to the workspace gets its existing tickets' rows and its search
    indexes: a small one here, a big one from the worker (``migrate`` stays quick; see
    ``rows_after_migrate`` and ``search_indexes``)."""
    from .rows import rows_after_migrate
    from .search_indexes import indexes_after_migrate

    for news in (rows_after_migrate(), indexes_after_migrate()):
        if news and verbosity:
            (stdout or sys.stdout).write(news + "\n")
