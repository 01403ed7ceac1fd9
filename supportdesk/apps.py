from django.apps import AppConfig


class SupportdeskConfig(AppConfig):
    """The project itself: checks that run in every process once the apps are loaded."""

    name = "supportdesk"
    verbose_name = "SupportDesk"

    def ready(self) -> None:
        from django.conf import settings

        from . import csrf
        from .signin import connect_receivers
        from .webhooks import check_production

        connect_receivers()  # the sign-in version (supportdesk/signin.py)
        csrf.install()  # the CSRF mask from one random read (supportdesk/csrf.py)

        if settings.PRODUCTION:  # web, worker, beat and manage.py alike refuse to start
            check_production(settings.SUPPORTDESK_INBOUND_ESPS)
