from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DuplicatesConfig(AppConfig):
    name = "duplicates"
    verbose_name = _("Duplicate detection")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets import admin_hooks

        from . import receivers  # noqa: F401 - connects the ticket_events receivers
        from .admin import DuplicateFlagInline, PossibleDuplicateFilter

        admin_hooks.register_list_filter(PossibleDuplicateFilter)
        admin_hooks.register_inline(DuplicateFlagInline)
