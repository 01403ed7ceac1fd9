from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Customer portal and live chat"

    def ready(self) -> None:
        from . import chat_entries  # noqa: F401 - registers the chat channel's processor
