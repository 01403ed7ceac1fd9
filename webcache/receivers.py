"""What moves the ticket lists' cache versions on, and the admin list's cache.

``tickets`` knows nothing of this module: it announces committed changes through
``tickets.signals.ticket_events`` and the ORM sends its model signals; this module
subscribes to both from ``WebcacheConfig.ready()``, and hands the ticket admin its list
cache through ``tickets.admin_hooks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponseBase

from tickets import admin_hooks
from tickets.models import Account, Contact, ContactEmail, Department, Ticket
from tickets.signals import TicketEventRef, ticket_events

from . import list_cache

log = logging.getLogger(__name__)


def connect() -> None:
    """Subscribe to every change the ticket lists show (idempotent: dispatch uids)."""
    ticket_events.connect(_ticket_events, dispatch_uid="webcache.ticket_events")
    post_save.connect(_ticket_saved, sender=Ticket, dispatch_uid="webcache.ticket")
    post_delete.connect(_ticket_deleted, sender=Ticket, dispatch_uid="webcache.ticket-deleted")
    user = get_user_model()
    for model in (Account, Contact, ContactEmail, Department, user, Group):
        uid = f"webcache.{model._meta.label}"
        post_save.connect(_directory_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_directory_changed, sender=model, dispatch_uid=f"{uid}-deleted")
    # An agent's groups and permissions decide which links the admin's pages show them.
    for through in (user.groups.through, user.user_permissions.through, Group.permissions.through):
        uid = f"webcache.{through._meta.label}"
        m2m_changed.connect(_relation_changed, sender=through, dispatch_uid=uid)
    admin_hooks.register_ticket_list_wrapper(admin_ticket_list)


def admin_ticket_list(
    request: HttpRequest, render: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """The agents' ticket list, per agent (the page shows who is signed in) and URL.

    ``TicketAdmin`` calls this after the admin site signed the agent in and the list
    checked the agent's permission to view tickets.
    """
    return list_cache.cached_page(
        request,
        principal=admin_hooks.admin_user(request),
        scopes=[list_cache.ALL],
        render=render,
        # Every ticket change renders this list anew (~40 ms): meanwhile the other agents
        # get the copy from before it, never older than this.
        stale_seconds=5,
    )


def _ticket_events(sender: Any, events: list[TicketEventRef], **_: Any) -> None:
    """Move the changed tickets' account and contact scopes on (one query per commit)."""
    if not list_cache.enabled() or not events:
        return
    ids = {event.ticket_id for event in events}
    try:
        owners = Ticket.objects.filter(pk__in=ids).values_list("account_id", "contact_id")
        list_cache.tickets_changed(set(owners))
    except Exception:  # noqa: BLE001 - the change stands; the entries' expiry is the net
        log.warning("could not move the ticket lists on for tickets %s", sorted(ids))
        list_cache.lists_changed([list_cache.DIRECTORY])


def _directory_changed(**_: Any) -> None:
    list_cache.lists_changed([list_cache.DIRECTORY])


def _relation_changed(action: str, **_: Any) -> None:
    if action.startswith("post_"):  # not its pre_ twin too: one change, one bump
        list_cache.lists_changed([list_cache.DIRECTORY])


def _ticket_saved(instance: Ticket, created: bool, update_fields: Any = None, **_: Any) -> None:
    list_cache.tickets_changed([(instance.account_id, instance.contact_id)])
    # The scopes it left are unknown here: a save that may have moved it re-renders all.
    moved = update_fields is None or {"account", "contact"} & set(update_fields)
    if moved and not created:
        list_cache.lists_changed([list_cache.DIRECTORY])


def _ticket_deleted(instance: Ticket, **_: Any) -> None:
    list_cache.tickets_changed([(instance.account_id, instance.contact_id)])
