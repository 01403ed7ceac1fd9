"""The ticket page's side panel, composer and conversation as HTML.

Written in Python rather than as templates for the reason of workspace/message_html.py:
these parts are rendered on every ticket page, and the template engine's cost per node
(variable lookups, ``{% translate %}``, ``{% url %}``, loops) was about a third of the
page's CPU (bench/desk_profile.py). The markup and msgids are those of the templates they
replace (``_panel.html``, ``_composer.html`` and the conversation loop of ``page.html``).
Every value is escaped here as the template escaped it (the msgids, like ``{% translate %}``
of a literal, are not: they are ours); HTML from elsewhere (form errors, the message
bodies cleaned by ``tickets.sanitize``, the ``countdown`` and ``when`` tags) is safe.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from html import escape
from typing import Any

from django.conf import settings
from django.template.defaultfilters import floatformat
from django.utils.functional import Promise
from django.utils.text import Truncator, slugify

from tickets.models import format_reference

from . import memo
from .choices import display
from .memo import reverse
from .message_html import cached_message_html, fill_stand_ins, translations, when_html
from .templatetags.workspace_tags import countdown, options


def _e(value: Any) -> str:
    """``{{ value }}``: escaped unless already safe (None shows as "None", as there).

    ``conditional_escape`` without Django's lazy-argument wrapper around ``escape``
    (~50 calls a page, that wrapper was half their cost): the same result. A plain
    ``str`` (most values: names, subjects, labels) goes straight to ``escape``."""
    if type(value) is str:
        return escape(value)
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return escape(str(value))


def _chars(text: str, length: int) -> str:
    """``Truncator(text).chars(length)``; a text that fits (most subjects) skips the
    truncator's per-character walk and lazy object: it returns the text NFC-normalized,
    as the truncator does."""
    text = unicodedata.normalize("NFC", str(text))
    if len(text) <= length:
        return text
    return Truncator(text).chars(length)


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(token)}">'


def _version(context: Mapping[str, Any]) -> str:
    return _e(context.get("version", ""))


def panel_html(context: Mapping[str, Any]) -> str:
    """The ``<aside>`` beside the conversation (was ``_panel.html``)."""
    _ = translations()
    ticket = context["ticket"]
    number = ticket.number
    live = context.get("live")
    csrf = _csrf(str(context.get("csrf_token") or ""))
    version = _version(context)
    out = [f'<aside class="side-panel" aria-label="{_("Ticket details")}">\n']
    if live:
        line = _e(ticket.line) if ticket.line else "–"
        tags = " ".join(escape(str(t)) for t in context.get("tags") or [])
        update = reverse("workspace:ticket_update", args=[number])
        out.append(
            '  <section class="panel" id="fields">\n'
            f"    <h2>{_('Ticket')}</h2>\n"
            f'    <p id="ticket-line">{_("Support line")}: <strong>{line}</strong></p>\n'
            f'    <form method="post" action="{update}" class="stack" id="fields-form">\n'
            f'      {csrf}<input type="hidden" name="version" value="{version}">\n'
            f'      <label>{_("Status")} <select name="status" id="f-status">'
            f"{options(context['statuses'], ticket.status)}</select></label>\n"
            f'      <label>{_("Assignee")} <select name="assignee" id="f-assignee">'
            f'<option value="">{_("nobody")}</option>'
            f"{options(context['agents'], ticket.assignee_id)}</select></label>\n"
            f'      <label>{_("Department")} <select name="department" id="f-department">'
            f"{options(context['departments'], ticket.department_id)}</select></label>\n"
            f'      <label>{_("Severity")} <select name="severity" id="f-severity">'
            f"{options(context['severities'], ticket.severity)}</select></label>\n"
            f"      <label>{_('Tags')} "
            f'<input name="tags" id="f-tags" value="{tags}"></label>\n'
            f'      <button type="submit" id="save-fields">{_("Save")}</button>\n'
            "    </form>\n  </section>\n"
        )
    out.append(_customer(context, ticket, live, csrf, version))
    now = context["now"]
    title = _("Customer's other open tickets")
    out.append(f'  <section class="panel" id="other-tickets">\n    <h2>{title}</h2>\n    ')
    others = context.get("others") or []
    for r in others:
        url = reverse("workspace:ticket", args=[r.number])
        subject = escape(_chars(r.subject, 50))
        out.append(
            f'<p><a href="{url}">{escape(format_reference(r.number))}</a> {subject} '
            f"{countdown(r.sla_due, now)}</p>\n    "
        )
    if not others:
        out.append(f'<p class="muted">{_("None.")}</p>')
    out.append("\n  </section>\n")
    out.append(_sla(context.get("sla"), now))
    out.append(_duplicates(context, ticket, live, csrf, version))
    out.append("</aside>\n")
    return "".join(out)


def _customer(context: Mapping[str, Any], ticket: Any, live: Any, csrf: str, version: str) -> str:
    _ = translations()
    out = [
        '  <section class="panel" id="customer">\n',
        f"    <h2>{_('Customer')}</h2>\n    ",
    ]
    contact = ticket.contact
    if contact:
        addresses = context.get("addresses") or {}
        name = _e(contact.name or _("(no name)"))
        out.append(
            f"\n      <p><strong>{name}</strong> · {_e(display(contact, 'role'))}</p>\n      "
        )
        out += [f'<p class="muted">{_e(e)}</p>' for e in addresses.get("emails", [])]
        out.append("\n      ")
        out += [f'<p class="muted">{_e(p)}</p>' for p in addresses.get("phones", [])]
        out.append("\n    ")
    else:
        out.append(f'<p class="muted">{_("No known contact.")}</p>')
    out.append("\n    ")
    account = ticket.account
    if account:
        reseller = ""
        if account.reseller_id:
            reseller = f" · {_('reseller')} {_e(account.reseller_id)}"
        out.append(
            f"<p>{_('Account')}: <strong>{_e(account.name)}</strong>{reseller} · "
            f"{_e(display(account, 'tier'))}</p>"
        )
    out.append('\n    <div id="verification">\n    ')
    if ticket.needs_verification:
        warning = _(
            "Sender not verified: share nothing about the account until you have checked them."
        )
        out.append(f'\n      <p class="warning">{warning}</p>\n      ')
        if live:
            verify = reverse("workspace:ticket_verify", args=[ticket.number])
            out.append(
                f'<form method="post" action="{verify}">{csrf}<input type="hidden" '
                f'name="version" value="{version}"><button type="submit" id="verify-sender">'
                f"{_('Sender verified')}</button></form>"
            )
        out.append("\n    ")
    elif contact and contact.is_verified:
        out.append(f'<p class="ok">{_("Verified contact of the account.")}</p>\n    ')
    else:
        out.append(f'<p class="muted">{_("Not a verified contact.")}</p>')
    out.append("\n    </div>\n  </section>\n")
    return "".join(out)


def _sla(sla: Mapping[str, Any] | None, now: Any) -> str:
    _ = translations()
    out = ['  <section class="panel" id="sla">\n', f"    <h2>{_('SLA')}</h2>\n    "]
    if not sla:
        out.append(f'<p class="muted">{_("Deadlines are being computed.")}</p>')
        out.append("\n  </section>\n")
        return "".join(out)
    out.append("\n      ")
    targets = sla.get("targets") or []
    for t in targets:
        state = _e(t.state)
        due = ""
        if t.due:
            left = _("%(left)s business time left") % {"left": _e(t.time_left_text)}
            due = f' · {countdown(t.due, now)} <span class="muted">({left})</span>'
        out.append(
            f'<p class="target st-{_e(slugify(t.state))}"><strong>{_e(t.label)}</strong>: '
            f"{state}{due}</p>\n      "
        )
    if not targets:
        out.append(f'<p class="muted">{_("No SLA targets for this ticket.")}</p>')
    out.append("\n      ")
    if sla.get("warning"):
        out.append(f'<p class="warning" id="sla-warning">{_e(sla["warning"])}</p>')
    line = _e(sla.get("line") or "–")
    policy = _e(sla.get("policy") or _("none matches"))
    out.append(
        f'\n      <p id="sla-policy">{_("Line")}: <strong>{line}</strong> · '
        f"{_('Policy')}: <strong>{policy}</strong></p>\n      "
    )
    if sla.get("why"):
        out.append(f'<p class="muted" id="sla-policy-why">{_e(sla["why"])}</p>')
    out.append(
        f'\n      <details class="why"><summary>{_("Why these deadlines?")}</summary>\n        '
    )
    also = sla.get("also_matched") or []
    if also:
        matched = "; ".join(f"“{_e(_key(o, 'policy'))}” ({_e(_key(o, 'why_not'))})" for o in also)
        out.append(f'<p id="sla-also-matched">{_("Also matched")}: {matched}</p>')
    out.append(
        f"\n        <p>{_('Calendar')}: {_e(sla.get('calendar'))} "
        f"({_e(sla.get('zone'))})</p>"
        "\n        "
    )
    out += [f'<p class="sla-summary-line">{_e(s)}</p>' for s in sla.get("summaries") or []]
    out.append("\n        ")
    for notes in (sla.get("notes") or {}).values():
        out += [f'<p class="muted">{_e(n)}</p>' for n in notes]
    out.append("\n        ")
    for esc in sla.get("escalations") or []:
        out.append(f'<p class="muted">{_("Escalated")} {_e(_key(esc, "at"))}</p>')
    out.append("\n      </details>\n    \n  </section>\n")
    return "".join(out)


def _key(item: Any, name: str) -> Any:
    """``{{ item.name }}`` of a JSON object (missing: empty, as the template showed it)."""
    if isinstance(item, Mapping):
        return item.get(name, "")
    return getattr(item, name, "")


def _duplicates(context: Mapping[str, Any], ticket: Any, live: Any, csrf: str, version: str) -> str:
    _ = translations()
    number = ticket.number
    out = [
        '  <section class="panel" id="duplicates">\n',
        f"    <h2>{_('Duplicates and merges')}</h2>\n    ",
    ]
    flags = context.get("flags") or []
    merge_url = reverse("workspace:ticket_merge", args=[number])
    for f in flags:
        side = _("Possible duplicate of") if f.side == "of" else _("Possibly duplicated by")
        url = reverse("workspace:ticket", args=[f.other_number])
        subject = escape(_chars(f.other_subject, 40))
        out.append(
            f'<div class="flag">\n      <p>{side} <a href="{url}">{_e(f.other_reference)}</a> '
            f'{subject} <span class="muted">({floatformat(f.score, 2)})</span></p>\n      '
        )
        if live:
            action = reverse("workspace:flag_action", args=[number, f.flag_id])
            if f.same_account:
                merge = (
                    f'<button type="submit" name="action" value="merge" class="flag-merge">'
                    f"{_('Merge')}</button>"
                )
            else:
                merge = (
                    f'<a href="{merge_url}?other={_e(f.other_number)}">'
                    f"{_('Merge… (other account)')}</a>"
                )
            out.append(
                f'<form method="post" action="{action}" class="inline">{csrf}'
                f'<input type="hidden" name="version" value="{version}">\n        {merge}\n'
                f'        <button type="submit" name="action" value="dismiss" class="link">'
                f"{_('Not a duplicate')}</button></form>"
            )
        out.append("\n    </div>")
    if not flags:
        out.append(f'<p class="muted">{_("No open duplicate flags.")}</p>')
    out.append("\n    ")
    if ticket.merged_into:
        unmerge = reverse("workspace:ticket_unmerge", args=[number])
        merged = _("Merged into %(target)s.") % {"target": _e(ticket.merged_into.reference)}
        out.append(
            f'\n      <form method="post" action="{unmerge}" class="stack" id="unmerge-form">'
            f"{csrf}\n        <p>{merged}</p>\n"
            f'        <label>{_("Why (optional)")} <input name="reason" maxlength="500">'
            "</label>\n"
            f'        <button type="submit" id="unmerge">{_("Un-merge")}</button>'
            "</form>\n    "
        )
    elif live:
        out.append(
            f'\n      <form method="get" action="{merge_url}" class="stack" id="merge-form">\n'
            f'        <label>{_("Merge with ticket")} <input name="other" '
            'placeholder="SD-100001" required id="merge-other"></label>\n'
            '        <label><input type="radio" name="direction" value="into_other" checked> '
            f"{_('this one into it')}</label>\n"
            '        <label><input type="radio" name="direction" value="into_this"> '
            f"{_('it into this one')}</label>\n"
            f'        <button type="submit" id="merge-start">{_("Merge…")}</button>'
            "</form>\n    "
        )
    out.append("\n    ")
    for n, ref in context.get("follow_ups") or []:
        url = reverse("workspace:ticket", args=[n])
        out.append(f'<p>{_("Follow-up")}: <a href="{url}">{_e(ref)}</a></p>')
    out.append("\n  </section>\n")
    return "".join(out)


def composer_html(context: Mapping[str, Any]) -> str:
    """The answer and note forms (was ``_composer.html``)."""
    _ = translations()
    ticket = context["ticket"]
    number = ticket.number
    csrf = _csrf(str(context.get("csrf_token") or ""))
    out = [
        f'<section class="composer" id="composer" aria-label="{_("Answer")}">\n'
        '  <div class="composer-tabs">\n'
        f"    <h2>{_('Answer the customer')}</h2>\n    "
    ]
    macros = context.get("macros")
    if macros:
        url = reverse("workspace:macro", args=[number])
        applied = context.get("applied_macro")
        applied_pk = applied.pk if applied is not None else None
        picks = []
        for m in macros:
            mark = " selected" if applied_pk == m.pk else ""
            language = f" ({_e(m.language)})" if m.language else ""
            picks.append(f'<option value="{m.pk}"{mark}>{_e(m.name)}{language}</option>')
        out.append(
            f'<form method="get" action="{url}" class="inline macro-form" hx-get="{url}" '
            'hx-target="#composer-wrap" hx-trigger="change" hx-swap="innerHTML">\n'
            f'    <label for="macro-pick">{_("Macro")}</label>\n'
            '    <select id="macro-pick" name="macro">\n      <option value="">–</option>\n'
            f"      {''.join(picks)}\n    </select>\n"
            f'    <noscript><button type="submit">{_("Apply")}</button></noscript>'
            "\n    </form>"
        )
    f = context["reply_form"]
    reply = reverse("workspace:reply", args=[number])
    out.append(
        "\n  </div>\n"
        f'  <form method="post" action="{reply}" enctype="multipart/form-data" '
        'id="reply-form" class="stack">\n'
        f"    {csrf}\n"
        f'    <input type="hidden" name="version" value="{_version(context)}">\n    \n    '
    )
    if errors := f.non_field_errors():
        out.append(_e(errors))
    chosen = f["channel"].value()
    radios = []
    for c in context.get("channels") or []:
        muted = "" if c.available else "muted"
        why = _e(c.why_not)
        off = "" if c.available else f' disabled title="{why}"'
        checked = " checked" if chosen == c.channel or (not chosen and c.default) else ""
        after = "" if c.available else f' <span class="why">({why})</span>'
        radios.append(
            f'<label class="{muted}"><input type="radio" name="channel" '
            f'value="{_e(c.channel)}"{off}{checked}> {_e(c.label)}{after}</label>'
        )
    out.append(
        '\n    <div class="row channels" role="radiogroup" '
        f'aria-label="{_("Answer by")}">\n      {"".join(radios)}\n      '
    )
    out.append(_errors(f, "channel"))
    body = f["body"].value()
    out.append(
        "\n    </div>\n"
        f'    <label for="id_body" class="sr-only">{_e(f["body"].label)}</label>\n    '
        f'{_errors(f, "body")}<textarea name="body" cols="40" rows="6" required id="id_body">\n'
        f"{_e('' if body is None else body)}</textarea>\n"
        '    <div class="row email-only"><label for="id_cc">CC</label> <input type="text" '
        f'name="cc" maxlength="500" id="id_cc" value="{_value(f, "cc")}"> {_errors(f, "cc")}'
        "</div>\n"
        f'    <div class="row"><label for="id_attachments">{_("Attachments")}</label> '
        '<input type="file" name="attachments" multiple id="id_attachments"> '
        f"{_errors(f, 'attachments')}</div>\n"
        '    <div class="row"><label><input type="checkbox" name="signature" id="id_signature"'
        f"{' checked' if f['signature'].value() else ''}> {_('Add my signature')}</label>\n"
        f'      <label for="id_tags_add">{_("Add tags")}</label> <input type="text" '
        f'name="tags_add" maxlength="200" id="id_tags_add" value="{_value(f, "tags_add")}">\n'
        '      <input type="hidden" name="assignee_after" id="id_assignee_after" '
        f'value="{_value(f, "assignee_after")}">\n'
        "    </div>\n"
        '    <div class="row send">\n'
        '      <button type="submit" id="send-reply" class="primary">'
        f"{_('Send')}</button>\n"
        f'      <label for="id_status_after">{_("and set status")}</label> '
        '<select name="status_after" id="id_status_after">'
        f"{options(f.fields['status_after'].choices, f['status_after'].value())}</select>\n"
        "    </div>\n    \n  </form>\n"
    )
    note = reverse("workspace:note", args=[number])
    out.append(
        f'  <form method="post" action="{note}" id="note-form" class="stack note-form">\n'
        f"    {csrf}\n"
        f'    <label for="note-body">'
        f"{_('Internal note (type @username to notify an agent)')}</label>\n"
        '    <textarea id="note-body" name="body" rows="3" required></textarea>\n'
        f'    <button type="submit">{_("Add note")}</button>\n'
        "  </form>\n</section>\n"
    )
    return "".join(out)


def _errors(form: Any, name: str) -> str:
    errors = form[name].errors
    return _e(errors) if errors else ""


def _value(form: Any, name: str) -> str:
    value = form[name].value()
    return _e("" if value is None else value)


def conversation_html(context: Mapping[str, Any]) -> str:
    """The items of the conversation list (was the loop of ``page.html``)."""
    _ = translations()
    ticket = context["ticket"]
    version = context.get("version")
    shared = {
        "number": ticket.number,
        "subject": ticket.subject,
        "version": "" if version is None else version,
        "live": bool(context.get("live")),
        "csrf_token": str(context.get("csrf_token") or ""),
    }
    entries = context.get("entries") or []
    if not entries:
        return f'<li class="entry event">{_("No messages yet.")}</li>\n  '
    # The messages' fragments are memoized per agent (``fragments``: the agent's id,
    # set by the ticket view) and everything else the fragment shows of the page.
    page = None
    if (agent := context.get("fragments_for")) is not None:
        page = (
            agent,
            memo.language(),
            memo.zone_name(),
            ticket.number,
            ticket.subject,
            shared["live"],
        )
    limit = settings.SUPPORTDESK_MESSAGE_FRAGMENTS
    chat_label = _("Live chat")
    out = []
    for e in entries:
        if e.kind == "message":
            html = cached_message_html(e, page=page, limit=limit, fill=False, **shared)
            out.append(f"\n    {html}\n    \n  ")
        elif e.kind == "chat":
            lines = "".join(
                f'<li class="{_e(line.message.direction)}" id="message-{line.message.pk}">'
                f'<span class="who">{_e(line.author)}</span> '
                f'<span class="at">{when_html(line.message.occurred_at)}</span> '
                f'<span class="text">{_e(line.message.body_text)}</span></li>'
                for line in e.lines
            )
            out.append(
                f'\n    \n    <li class="entry chat-transcript" id="message-{e.message.pk}" '
                'data-channel="chat">\n'
                f'      <div class="entry-meta"><span class="chan">{chat_label}</span> · '
                f"{when_html(e.at)}</div>\n"
                f'      <ol class="chat-lines">{lines}</ol>\n    </li>\n    \n  '
            )
        else:
            out.append(
                f'\n    \n    <li class="entry event {_e(e.css)}" data-kind="{_e(e.kind)}">'
                f'<span class="at">{when_html(e.at)}</span> {_e(e.text)}</li>\n    \n  '
            )
    html = "".join(out)
    if shared["live"]:
        # The kept fragments' stand-ins, once for the whole conversation.
        html = fill_stand_ins(html, csrf_token=shared["csrf_token"], version=shared["version"])
    return html


def viewers_html(viewers: list[Any]) -> str:
    """Who else is on the ticket (the first half of ``_presence.html``)."""
    _ = translations()
    if not viewers:
        return ""
    spans = []
    for v in viewers:
        name = _e(v.name)
        if v.typing:
            text = _("%(name)s is typing a reply") % {"name": name}
        else:
            text = _("%(name)s is viewing") % {"name": name}
        typing = " typing" if v.typing else ""
        spans.append(f'<span class="viewer{typing}" data-user="{_e(v.user_id)}">{text}</span>')
    return f'<p class="viewers" id="viewers">{", ".join(spans)}</p>'


def title_html(ticket: Any) -> str:
    return f"{_e(ticket.reference)} {_e(ticket.subject)}"


def page_html(context: Mapping[str, Any], zone: str) -> str:
    """The ticket page's body inside the workspace frame (was ``page.html``); ``zone``:
    the agent's time zone the page's times are shown in."""
    _ = translations()
    ticket = context["ticket"]
    number = ticket.number
    assignee = ticket.assignee
    if assignee:
        who = _e(assignee.get_full_name() or assignee.username)
    else:
        who = _("unassigned")
    tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in context.get("tags") or [])
    links = []
    for label, other in (
        (_("merged into"), ticket.merged_into),
        (_("follows up"), ticket.linked_to),
    ):
        if other:
            url = reverse("workspace:ticket", args=[other.number])
            links.append(f'· {label} <a href="{url}">{_e(other.reference)}</a>')
    presence = reverse("workspace:presence", args=[number])
    out = [
        f'\n<div class="ticket-layout" data-ticket="{number}">\n'
        '<main id="main" class="conversation-col">\n'
        '  <header class="ticket-head">\n'
        f'    <h1><span class="ref">{_e(ticket.reference)}</span> {_e(ticket.subject)}</h1>\n'
        f'    <p class="meta"><span class="status st-{_e(ticket.status)}">'
        f"{_e(display(ticket, 'status'))}</span>\n"
        f"      · S{_e(ticket.severity)} · {_e(ticket.department)} ·\n"
        f"      {who}\n      {tags}\n      {links[0] if ticket.merged_into else ''}\n"
        f"      {links[-1] if ticket.linked_to else ''}\n    </p>\n"
        f'    <p class="zone-note">{_("Times in %(zone)s.") % {"zone": _e(zone)}}</p>\n'
        "  </header>\n"
        f'  <div id="presence" aria-live="polite" hx-post="{presence}" hx-trigger="every 3s" '
        f'hx-vals=\'{{"version": "{_version(context)}"}}\' hx-swap="innerHTML">\n'
        f"    {viewers_html(context.get('viewers') or [])}\n\n\n  </div>\n  "
    ]
    if news := context.get("stale_news"):
        lines = "".join(f"<li>{_e(line)}</li>" for line in news)
        kept = _("Your text is kept below: read what happened, then send again if it still fits.")
        out.append(
            '\n  <section class="stale" id="stale-news" role="alert">\n'
            f"    <h2>{_('This ticket changed while you were on it')}</h2>\n"
            f"    <p>{_e(context.get('stale_message', ''))}</p>\n"
            f"    <ul>{lines}</ul>\n    <p>{kept}</p>\n  </section>\n  "
        )
    out.append(
        f'\n  <ol class="conversation" id="conversation" aria-label="{_("Conversation")}">\n  '
        f"{conversation_html(context)}\n  </ol>\n  "
    )
    if context.get("live"):
        out.append(f'\n  <div id="composer-wrap">{composer_html(context)}</div>\n  ')
    out.append(f"\n</main>\n{panel_html(context)}\n</div>\n")
    return "".join(out)
