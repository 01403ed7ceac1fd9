"""The customer portal: sign in by link, submit and follow tickets, manage contacts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kb.search import article_search
from supportdesk.client_ip import client_ip
from tickets.downloads import attachment_response
from tickets.errors import InvalidInput, TicketError
from tickets.line_texts import line_wording
from tickets.models import Attachment, Channel, Contact, Status, SupportLine, TextKey
from tickets.services import MessageIn, message_add, ticket_status_set
from tickets.submission import CUSTOM_DEVELOPMENT, CUSTOM_DEVELOPMENT_ANSWER, Submission
from webcache import list_cache

from . import selectors
from .auth import SESSION_KEY, contact_required, portal_contact, sign_in
from .forms import ReplyForm, SignInForm, TicketForm, attachments_in
from .hours import chat_phone_open, next_chat_phone_opening, support_hours
from .lines import line_hint, portal_line
from .magic import magic_link_redeem, magic_link_send
from .presence import chat_available
from .services import contact_approve, contact_remove
from .sign_in_limits import sign_in_allowed
from .submission_mail import submission_open_confirmed


def status_context(line: SupportLine) -> dict:
    """Return the line's hours box: its chat and phone week, whether each is open now, its
    phone number, and its notice (ask non-urgent questions after the weekend)."""
    takes_phone = line.takes("phone") and bool(line.phone_number)
    return {
        "hours": support_hours(line),
        "phone_open": takes_phone and chat_phone_open(line=line),
        "chat_open": chat_available(line=line),
        "next_opening": next_chat_phone_opening(line=line),
        "takes_chat": line.takes("chat"),
        "takes_phone": takes_phone,
        "notice": line_wording(line, TextKey.PORTAL_NOTICE, get_language()),
        "intro": line_wording(line, TextKey.PORTAL_INTRO, get_language()),
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    contact = portal_contact(request)
    request.contact = contact
    return render(
        request,
        "portal/home.html",
        {"contact": contact, **status_context(portal_line(request))},
    )


@require_GET
def status_json(request: HttpRequest) -> JsonResponse:
    """Return whether chat and phone are open now (the portal refreshes its badges)."""
    line = portal_line(request)
    phone = line.takes("phone") and bool(line.phone_number) and chat_phone_open(line=line)
    return JsonResponse({"chat_open": chat_available(line=line), "phone_open": phone})


# --- sign-in ------------------------------------------------------------------------------


def demo_mail_to_console() -> bool:
    """Whether this is a demo desk that prints its mail on the console (never production)."""
    return (
        not settings.PRODUCTION
        and settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    )


@require_http_methods(["GET", "POST"])
def sign_in_request(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        links: list[str] = []

        def link_for(token: str) -> str:
            links.append(request.build_absolute_uri(reverse("portal:sign_in_link", args=[token])))
            return links[-1]

        if sign_in_allowed(email=email, ip=client_ip(request) or "unknown"):
            magic_link_send(email=email, link_for=link_for)
        # The same answer whether or not the address is known or was over its limit (no
        # account enumeration) -- except on a demo desk whose mail only goes to the
        # console, where the link is shown so the demo can be tried without a mailbox.
        demo_link = links[0] if links and demo_mail_to_console() else ""
        return render(request, "portal/sign_in_sent.html", {"email": email, "demo_link": demo_link})
    return render(request, "portal/sign_in.html", {"form": form})


@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners that prefetch links must not spend them.
    if request.method == "GET":
        return render(request, "portal/sign_in_confirm.html", {"token": token})
    contact = magic_link_redeem(token)
    if contact is None:
        messages.error(
            request, _("This sign-in link has expired or was used already; ask for a new one.")
        )
        return HttpResponseRedirect(reverse("portal:sign_in"))
    sign_in(request, contact)
    target = request.POST.get("next") or reverse("portal:tickets")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("portal:tickets")
    return HttpResponseRedirect(target)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    return HttpResponseRedirect(reverse("portal:home"))


# --- tickets ------------------------------------------------------------------------------


@require_GET
@contact_required
def ticket_list(request: HttpRequest) -> HttpResponseBase:
    # Looked up only now that the contact is signed in and still verified, and kept per
    # contact: a copy is never replayed to anyone but the contact it was rendered for.
    contact = request.contact
    scopes = [list_cache.DIRECTORY, list_cache.contact_scope(contact.pk)]
    if contact.account_id:  # owners see the account's tickets; its changes count for all
        scopes.append(list_cache.account_scope(contact.account_id))
    # The page shows the support line and times in the customer's zone (portal.i18n).
    variant = f"{line_hint(request)}|{timezone.get_current_timezone_name()}"
    return list_cache.cached_page(
        request,
        principal=contact,
        scopes=scopes,
        render=lambda: _ticket_list(request),
        variant=variant,
    )


def _ticket_list(request: HttpRequest) -> HttpResponse:
    rows, more = selectors.portal_ticket_page(request.contact, before=request.GET.get("before"))
    older = "?" + urlencode({"before": rows[-1]["cursor"]}) if more else ""
    return render(
        request,
        "portal/ticket_list.html",
        {"contact": request.contact, "rows": rows, "older": older},
    )


@contact_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    contact = request.contact
    initial = {
        "subject": request.GET.get("subject", ""),
        "description": request.GET.get("text", ""),
    }
    form = TicketForm(request.POST or None, request.FILES or None, initial=initial)
    suggestions = []
    answer = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "_suggest" in request.POST:  # the no-JavaScript "check the knowledge base" button
            suggestions = article_search(data["subject"] + " " + data["description"])
        elif data["topic"] == CUSTOM_DEVELOPMENT:
            answer = CUSTOM_DEVELOPMENT_ANSWER
        else:
            try:
                result = submission_open_confirmed(
                    Submission(
                        topic=data["topic"],
                        subject=data["subject"],
                        description=data["description"],
                        details=data["details"],
                        happened_at=data["happened_at"],
                        severity=data["severity"],
                        channel=Channel.PORTAL,
                        contact=contact,
                        attachments=attachments_in(data["attachments"]),
                        line=portal_line(request) if portal_line(request).pk else None,
                    ),
                    confirm_to=_primary_email(contact) or "",
                )
            except InvalidInput as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            else:
                return HttpResponseRedirect(
                    reverse("portal:ticket_submitted", args=[result.ticket.number])
                )
    elif request.method == "GET" and initial["subject"]:
        suggestions = article_search(initial["subject"])
    return render(
        request,
        "portal/ticket_new.html",
        {"contact": contact, "form": form, "suggestions": suggestions, "answer": answer},
    )


@contact_required
@require_GET
def ticket_submitted(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _visible(request, number)
    return render(
        request,
        "portal/ticket_submitted.html",
        {"contact": request.contact, "ticket": ticket, "email": _primary_email(request.contact)},
    )


@contact_required
@require_GET
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _visible(request, number)
    return render(
        request,
        "portal/ticket_detail.html",
        {
            "contact": request.contact,
            "ticket": ticket,
            "timeline": selectors.portal_timeline(ticket),
            "reply_form": ReplyForm(),
            "can_solve": ticket.status not in (Status.SOLVED, Status.CLOSED),
            "can_reply": ticket.status != Status.CLOSED,
        },
    )


@contact_required
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _visible(request, number)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _to_detail(ticket)
    try:
        message_add(
            ticket=ticket,
            message=MessageIn(
                channel=Channel.PORTAL,
                body_text=form.cleaned_data["body"],
                author_contact=request.contact,
                attachments=attachments_in(form.cleaned_data["attachments"]),
            ),
        )
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your reply was added."))
    return _to_detail(ticket)


@contact_required
@require_POST
def ticket_solve(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _visible(request, number)
    try:
        ticket_status_set(ticket=ticket, status=Status.SOLVED, reason="customer marked solved")
    except TicketError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Marked as solved. Reply if the problem comes back."))
    return _to_detail(ticket)


@contact_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = get_object_or_404(
        Attachment.objects.select_related("message__ticket"),
        pk=attachment_id,
        message__channel__in=[c for c in Channel.values if c != Channel.NOTE],
    )
    _visible(request, attachment.message.ticket.number)
    return attachment_response(attachment)  # a download, never rendered


# --- account contacts ---------------------------------------------------------------------


@contact_required
@require_http_methods(["GET", "POST"])
def contacts(request: HttpRequest) -> HttpResponse:
    owner = request.contact
    if not owner.manages_contacts:
        raise Http404("Only the account's owner or registrant manages contacts.")
    if request.method == "POST":
        target = get_object_or_404(Contact, pk=request.POST.get("contact"), account=owner.account)
        action = contact_approve if request.POST.get("action") == "approve" else contact_remove
        try:
            action(owner=owner, contact=target)
        except InvalidInput as exc:
            messages.error(request, exc.detail)
        else:
            done = (
                _("%(name)s approved.")
                if action is contact_approve
                else _("%(name)s removed from the account.")
            )
            messages.success(request, done % {"name": target})
        return HttpResponseRedirect(reverse("portal:contacts"))
    people = Contact.objects.filter(account=owner.account).prefetch_related("emails")
    return render(request, "portal/contacts.html", {"contact": owner, "people": people})


def _visible(request: HttpRequest, number: int):
    ticket = selectors.portal_ticket(request.contact, number)
    if ticket is None:
        raise Http404("No such ticket.")  # the same for another account's ticket
    return ticket


def _to_detail(ticket) -> HttpResponse:
    return HttpResponseRedirect(reverse("portal:ticket", args=[ticket.number]))


def _primary_email(contact: Contact) -> str:
    emails = sorted(contact.emails.all(), key=lambda e: (not e.is_primary, e.pk))
    return emails[0].email if emails else ""
