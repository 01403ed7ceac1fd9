from django.apps import AppConfig


class WebcacheConfig(AppConfig):
    name = "webcache"
    verbose_name = "Ticket-list cache"

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
