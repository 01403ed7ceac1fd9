"""Who may use the workspace, and fetching what a view works on with the check built in.

The workspace has the admin's login and permissions: an active staff user with the
``tickets.view_ticket`` permission reads it, ``tickets.change_ticket`` changes tickets.
Each request runs in the agent's language and time zone (their profile).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import empty

from tickets.models import Attachment, Ticket

from . import reads
from .models import AgentProfile
from .prepared import prepared_reads

# Defence in depth beside the sanitizer: no script but ours, no plugins, no framing, and
# forms post only here. Images are governed per message (remote ones blocked by default).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class AgentRequest(HttpRequest):
    """The request an ``agent_required`` view receives: a signed-in agent, with their
    profile and zone set."""

    user: User
    agent_profile: AgentProfile
    agent_zone: ZoneInfo


def is_agent(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def agent_profile(user: User) -> AgentProfile:
    """Return the agent's profile (read with the user by workspace.auth.AgentBackend, or
    made now)."""
    try:
        return user.desk_profile
    except AgentProfile.DoesNotExist:
        pass
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    return profile


def agent_zone(profile: AgentProfile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.time_zone)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def signed_in(request: HttpRequest) -> User | AnonymousUser:
    """Return the request's user itself, not the lazy stand-in AuthenticationMiddleware
    puts on the request: each attribute read through the stand-in goes through
    ``LazyObject``'s proxy methods (~4 calls), and a workspace request reads the user's
    attributes a few dozen times (``user.pk`` once per counted view)."""
    user: Any = request.user
    wrapped = getattr(user, "_wrapped", None)  # only the lazy stand-in has it
    if wrapped is None:
        return cast("User | AnonymousUser", user)
    if wrapped is empty:
        user._setup()  # what the first attribute read does
        wrapped = user._wrapped
    return cast("User | AnonymousUser", wrapped)


def agent_required(
    view: Callable[..., HttpResponseBase] | None = None, *, change: bool = False
) -> Any:
    """Let only agents in (``change``: only those who may change tickets); run the view
    in the agent's language and zone."""

    def decorate(func: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method in ("GET", "HEAD"):
                # Pages and polls repeat the same reads all day: plan them once.
                with prepared_reads():
                    return checked(request, *args, **kwargs)
            return checked(request, *args, **kwargs)

        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user = signed_in(request)
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not is_agent(user) or not user.has_perm("tickets.view_ticket"):
                raise PermissionDenied("The workspace is for agents (staff users).")
            if change and not user.has_perm("tickets.change_ticket"):
                raise PermissionDenied("You may read tickets but not change them.")
            profile = agent_profile(user)
            agent = cast(AgentRequest, request)
            agent.agent_profile = profile
            agent.agent_zone = agent_zone(profile)
            with translation.override(profile.language), timezone.override(agent.agent_zone):
                response = func(agent, *args, **kwargs)
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.render()  # inside the agent's language and zone
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers["Content-Language"] = profile.language
            response.headers.setdefault("Cache-Control", "private, no-store")
            return response

        return wrapper

    return decorate(view) if view is not None else decorate


def access_ticket(request: HttpRequest, number: int, *, for_update: bool = False) -> Ticket:
    """Return the ticket with ``number`` (404 if none) with its contact, account,
    department and assignee; the caller is an agent already."""
    ticket = reads.ticket_by_number(number)
    if ticket is None:
        raise Http404("No ticket with this number.")
    return ticket


def access_ticket_page(
    request: HttpRequest, number: int, **shape: Any
) -> tuple[Ticket, reads.PageReads]:
    """``access_ticket`` and what the ticket's page reads (``reads.ticket_page_reads``
    with ``shape``), in one statement: 404 if there is no such ticket."""
    found = reads.ticket_page_reads(number, **shape)
    if found is None:
        raise Http404("No ticket with this number.")
    return found


def access_attachment(request: HttpRequest, attachment_id: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message__ticket").filter(pk=attachment_id).first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment
