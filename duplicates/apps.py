from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "duplicates"
    verbose_name = "Duplicate detection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets import admin_hooks

        from . import receivers  # noqa: F401 - connects the ticket_events receivers
        from .admin import DuplicateFlagInline, PossibleDuplicateFilter

        admin_hooks.register_list_filter(PossibleDuplicateFilter)
        admin_hooks.register_inline(DuplicateFlagInline)
