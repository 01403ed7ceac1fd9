from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        # Registers the phone processor of the raw-first ledger (chat: portal's ready()).
        from channels_app import phone  # noqa: F401

        from . import schema  # noqa: F401 - OpenAPI descriptions of the auth schemes
