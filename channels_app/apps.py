from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Importing registers the processors, the email reply sender and the anymail receiver.
        from . import api_entries  # noqa: F401
        from .email import processor, receivers  # noqa: F401
