"""Where a new mail goes: its support line, department and language.

The first recipient that is an inbox of a line (``LineInbox``) or a department's own
address decides the line, the department and the inbox's language. Complaints about
fraudulent webshops, phishing or copyright violations (in the subject or the body, in
any of the four languages; ARF reports by type) go to the line's legal team instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from tickets.models import Department, DepartmentKind, LineInbox, SupportLine
from tickets.text_rules import Finding, abuse_complaint

from .parsing import ParsedEmail

DEFAULT_DEPARTMENT_KIND = DepartmentKind.CUSTOMER_SUPPORT


@dataclass(frozen=True)
class Destination:
    """The line, department and language of a new ticket, and why."""

    line: SupportLine
    department: Department
    language: str  # the inbox's, "" when it has none
    inbox: str  # the address that decided, "" when none did
    abuse: Finding | None = None


@dataclass(frozen=True)
class Directory:
    """The lines, inboxes and active departments: read once per batch of mails."""

    departments: list[Department]
    inboxes: dict[str, LineInbox]
    lines: dict[int, SupportLine]
    default_line: SupportLine | None

    @classmethod
    def load(cls) -> Directory:
        lines = {line.pk: line for line in SupportLine.objects.all()}
        departments = list(Department.objects.filter(is_active=True))
        inboxes = {
            inbox.email.lower(): inbox
            for inbox in LineInbox.objects.filter(
                Q(department__isnull=True) | Q(department__is_active=True)
            )
        }
        default = next((line for line in lines.values() if line.is_default), None)
        return cls(departments, inboxes, lines, default)

    def line_of(self, department: Department) -> SupportLine | None:
        return self.lines.get(department.line_id) if department.line_id else self.default_line

    def department_of(self, line: SupportLine | None, kind: str) -> Department | None:
        """Return the line's active department of ``kind``: its own before shared ones."""
        own = [d for d in self.departments if line is not None and d.line_id == line.pk]
        shared = [d for d in self.departments if d.line_id is None]
        return next((d for d in [*own, *shared] if d.kind == kind), None)

    @property
    def addresses(self) -> set[str]:
        """Return every address mail reaches us at (our own: never a customer)."""
        return {a.lower() for a in self.inboxes} | {d.inbox_email.lower() for d in self.departments}


def recipients(parsed: ParsedEmail) -> list[str]:
    """Return every address the mail was delivered to, envelope first, lower-cased."""
    ordered = [*parsed.delivered_to, *parsed.to, *parsed.cc]
    return list(dict.fromkeys(a.strip().lower() for a in ordered if "@" in a))


def route(parsed: ParsedEmail, directory: Directory | None = None) -> Destination:
    """Return the new ticket's line, department and language (see the module docstring)."""
    directory = directory or Directory.load()
    by_address = {d.inbox_email.lower(): d for d in directory.departments}
    line = department = None
    language = inbox = ""
    for address in recipients(parsed):
        if (found := directory.inboxes.get(address)) is not None:
            line = directory.lines[found.line_id]
            department = (
                next((d for d in directory.departments if d.pk == found.department_id), None)
                if found.department_id
                else None
            ) or directory.department_of(line, DEFAULT_DEPARTMENT_KIND)
            language, inbox = found.language, address
            break
        if (own := by_address.get(address)) is not None:
            line, department, inbox = directory.line_of(own), own, address
            break
    if department is None:
        line = line or directory.default_line
        department = directory.department_of(line, DEFAULT_DEPARTMENT_KIND) or next(
            iter(directory.departments), None
        )
    if department is None:
        raise Department.DoesNotExist("No active department: activate one in the admin.")
    line = line or directory.line_of(department)
    if line is None:
        raise SupportLine.DoesNotExist("No support line: mark one line as the default.")
    abuse = _abuse(parsed)
    if abuse is not None and department.kind != DepartmentKind.LEGAL_ABUSE:
        legal = directory.department_of(line, DepartmentKind.LEGAL_ABUSE)
        if legal is None:  # the line has no legal team of its own: the desk's one
            legal = next(
                (d for d in directory.departments if d.kind == DepartmentKind.LEGAL_ABUSE), None
            )
            legal_line = directory.line_of(legal) if legal is not None else None
            if legal_line is None:  # its line unknown: the mail stays where it is
                legal = None
            else:
                line = legal_line
        if legal is not None:
            department = legal
    return Destination(line, department, language, inbox, abuse)


def _abuse(parsed: ParsedEmail) -> Finding | None:
    if parsed.report_type == "feedback-report":
        return Finding("feedback-report", "content type")
    return abuse_complaint(parsed.subject, parsed.text)
