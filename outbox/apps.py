from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox"

    def ready(self) -> None:
        # A worker that starts queues every mail left unsent (a lost task, a dead worker).
        from . import worker  # noqa: F401
