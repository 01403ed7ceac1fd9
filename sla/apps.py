from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from tickets import admin_hooks

        from . import receivers  # noqa: F401 - connects the ticket_events receiver
        from .admin import sla_panel

        admin_hooks.register_ticket_panel(sla_panel)
