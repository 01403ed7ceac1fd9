from django.apps import AppConfig


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = "Mailboxes"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401 - registers the system checks
        from .legacy import import_settings_mailboxes_after_migrate

        post_migrate.connect(import_settings_mailboxes_after_migrate, sender=self)
