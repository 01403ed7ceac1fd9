"""Which support line a ticket belongs to, and the rules that come from its line.

A channel names the line when it knows it (the inbox a mail reached, the portal host or
path, the API integration); otherwise the department's line applies, then the default
line. The line decides which accounts and contacts count, which departments may take
severity 1, which channels are open, and the texts customers get
(``line_text``: the line's own wording in a language, else the standard translated text).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext_lazy

from .errors import InvalidInput
from .models import (
    Account,
    Contact,
    Department,
    DepartmentKind,
    Language,
    LineText,
    Severity,
    SupportLine,
)

SEVERITY_1_RULE = gettext_lazy(
    "Severity 1 (critical) is for technical problems only and goes to technical support: "
    "choose technical support or a lower severity."
)


def default_line() -> SupportLine:
    """Return the line for tickets nothing else places; raise if the desk has none."""
    line = SupportLine.objects.filter(is_default=True).first()
    if line is None:
        raise InvalidInput(
            "line", "No default support line: mark one line as the default in the admin."
        )
    return line


def lines_for(departments: Iterable[Department], given: Iterable[SupportLine | None]) -> dict:
    """Return {line id: line} for the departments' and the given lines, and ``None``: the
    default line (one query for a whole batch of new tickets)."""
    ids = {d.line_id for d in departments if d.line_id} | {g.pk for g in given if g}
    rows = list(SupportLine.objects.filter(Q(pk__in=ids) | Q(is_default=True)))
    found: dict[int | None, SupportLine] = {row.pk: row for row in rows}
    found[None] = next((row for row in rows if row.is_default), None)  # type: ignore[assignment]
    return found


def line_check(
    *,
    line: SupportLine,
    department: Department,
    severity: int,
    account: Account | None = None,
    channel: str = "",
) -> None:
    """Raise InvalidInput if the department, account, severity or the channel a new
    request came through does not fit the line."""
    if channel and not line.takes(channel):
        raise InvalidInput(
            "channel", f"{line} takes no {channel} requests; use one of {', '.join(line.channels)}."
        )
    if department.line_id is not None and department.line_id != line.pk:
        raise InvalidInput(
            "department",
            f"{department} works for another support line than {line}; choose one of {line}'s "
            "departments.",
        )
    if account is not None and account.line_id is not None and account.line_id != line.pk:
        raise InvalidInput("account", f"{account} is a customer of another line than {line}.")
    severity_check(line=line, department=department, severity=severity)


def severity_check(*, line: SupportLine, department: Department, severity: int) -> None:
    """Raise InvalidInput for severity 1 outside technical support, where the line says so."""
    if (
        severity == Severity.S1
        and line.severity_1_technical_only
        and department.kind != DepartmentKind.TECHNICAL_SUPPORT
    ):
        raise InvalidInput("severity", SEVERITY_1_RULE)


CHANNEL_FLAGS = {"chat": "accepts_chat", "phone": "accepts_phone"}


def department_for_channel(channel: str, line: SupportLine | None = None) -> Department | None:
    """Return where a new ``channel`` request goes when the caller names no department: a
    department of ``line`` (default: the default line, else the first line that takes the
    channel) that takes it, customer support first."""
    if line is None:
        candidates = [
            candidate
            for candidate in SupportLine.objects.order_by("-is_default", "name")
            if candidate.takes(channel)
        ]
        line = candidates[0] if candidates else None
        if line is None:
            return None
    elif not line.takes(channel):
        return None
    departments = Department.objects.filter(is_active=True).filter(
        Q(line=line) | Q(line__isnull=True)
    )
    if flag := CHANNEL_FLAGS.get(channel):
        departments = departments.filter(**{flag: True})
    ordered = sorted(
        departments,
        key=lambda d: (d.line_id is None, d.kind != DepartmentKind.CUSTOMER_SUPPORT, d.name),
    )
    return ordered[0] if ordered else None


def line_accounts(line: SupportLine) -> Q:
    """Return the condition for accounts that are customers of the line (or of any line)."""
    return Q(line__isnull=True) | Q(line=line)


def contact_in_line(contact: Contact, line: SupportLine) -> bool:
    """Return whether the contact speaks for a customer of the line (or of any line)."""
    account = contact.account if contact.account_id else None
    return account is None or account.line_id in (None, line.pk)


def line_department(line: SupportLine, kind: str) -> Department | None:
    """Return the line's active department of ``kind`` (the first by name), if any."""
    return (
        Department.objects.filter(is_active=True, kind=kind)
        .filter(Q(line=line) | Q(line__isnull=True))
        .order_by(F("line_id").asc(nulls_last=True), "name")  # its own before shared ones
        .first()
    )


def language_for(
    *,
    line: SupportLine,
    inbox_language: str = "",
    contact: Contact | None = None,
    detected: str = "",
) -> str:
    """Return the language to answer in: the inbox's, the contact's preference, the text's,
    then the line's default; only languages the line answers in."""
    answered = line.answered_languages
    for candidate in (inbox_language, contact.language if contact else "", detected):
        if candidate and candidate in answered:
            return candidate
    return line.language


TextTable = dict[tuple[int, str, str], str]


def texts_of(lines: Iterable[SupportLine]) -> TextTable:
    """Return the lines' own texts by (line id, key, language), in one query."""
    rows = LineText.objects.filter(line_id__in={line.pk for line in lines})
    return {(t.line_id, t.key, t.language): t.text for t in rows}


def line_text(
    line: SupportLine | None,
    key: str,
    language: str,
    default: str = "",
    table: TextTable | None = None,
) -> str:
    """Return the line's text ``key`` in ``language``: its own wording in that language,
    else ``default`` translated into it, else its own wording in its default language.

    ``default`` is the standard English text (marked with ``gettext_noop`` by callers);
    the outbox renders auto-replies with this, so each line words them its own way.
    ``table`` (``texts_of``) saves the query when many texts are needed at once.
    """
    if line is not None and line.pk:
        table = texts_of([line]) if table is None else table
        texts = {lang: text for (lid, k, lang), text in table.items() if (lid, k) == (line.pk, key)}
        if language in texts:
            return texts[language]
        if not default and line.language in texts:
            return texts[line.language]
    if default:
        with translation.override(language if language in Language.values else "en"):
            return translation.gettext(default)
    return ""
