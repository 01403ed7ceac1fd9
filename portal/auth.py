"""Who is signed in to the portal (a contact, kept in the session)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

from tickets.models import Contact

SESSION_KEY = "portal_contact_id"


class ContactRequest(HttpRequest):
    """The request a ``contact_required`` view receives: the signed-in contact is set."""

    contact: Contact


def portal_contact(request: HttpRequest) -> Contact | None:
    """Return the signed-in contact if it is still verified (removal takes effect at once)."""
    contact_id = request.session.get(SESSION_KEY)
    if contact_id is None:
        return None
    contact = Contact.objects.select_related("account").filter(pk=contact_id).first()
    if contact is None or not contact.is_verified:
        request.session.pop(SESSION_KEY, None)
        return None
    return contact


def sign_in(request: HttpRequest, contact: Contact) -> None:
    from .i18n import contact_settings

    request.session.cycle_key()  # no session fixation across the sign-in
    request.session[SESSION_KEY] = contact.pk
    contact_settings(request, contact)  # the contact's language and time zone


def contact_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        contact = portal_contact(request)
        if contact is None:
            return HttpResponseRedirect(f"{reverse('portal:sign_in')}?next={request.path}")
        signed_in = cast(ContactRequest, request)
        signed_in.contact = contact
        return view(signed_in, *args, **kwargs)

    return wrapper
