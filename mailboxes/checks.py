"""System checks: the deprecated mailbox variable."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register()
def legacy_mailbox_variable(app_configs, **kwargs) -> list[Warning]:
    if not getattr(settings, "SUPPORTDESK_IMAP_MAILBOXES", None):
        return []
    return [
        Warning(
            "SUPPORTDESK_IMAP_MAILBOXES is deprecated: its mailboxes are copied to the admin "
            "(Mailboxes) by `manage.py migrate`, and the copies are what the desk uses.",
            hint="Check the mailboxes in the admin, then remove the variable; the next "
            "release no longer reads it.",
            id="mailboxes.W001",
        )
    ]
