from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Importing registers every channel's processor, the email reply sender and the
        # anymail receiver: the channels work whichever other apps are installed.
        from . import api_entries  # noqa: F401
        from .chat import processor as chat_processor  # noqa: F401
        from .email import processor, receivers  # noqa: F401
        from .phone import processor as phone_processor  # noqa: F401
