from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Customer portal and live chat"

    def ready(self) -> None:
        from tickets import admin_hooks

        from .admin import chat_panel

        admin_hooks.register_ticket_panel(chat_panel)
