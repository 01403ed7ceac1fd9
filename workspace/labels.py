"""Labels defined in ``tickets`` (which has no translations of its own) that the workspace
shows: listed here so ``makemessages`` finds them for the workspace's catalogue."""

from django.utils.translation import gettext_noop

LABELS = [
    gettext_noop("Email"),
    gettext_noop("Chat"),
    gettext_noop("Phone"),
    gettext_noop("Portal"),
    gettext_noop("API"),
    gettext_noop("Internal note"),
    gettext_noop("New"),
    gettext_noop("Open"),
    gettext_noop("Pending customer"),
    gettext_noop("On hold"),
    gettext_noop("Solved"),
    gettext_noop("Closed"),
    gettext_noop("Merged"),
    gettext_noop("First response"),
    gettext_noop("Next response"),
    gettext_noop("Resolution"),
]
