"""One attachment policy for every channel: what may be stored on a ticket.

Email, the portal, chat and the API all ask ``attachment_refusal`` before they accept a
file, and the ticket services check it again, so no channel can store what another
refuses. Settings: ``SUPPORTDESK_ATTACHMENT_MAX_BYTES`` and
``SUPPORTDESK_ATTACHMENT_BLOCKED_EXTENSIONS``.
"""

from __future__ import annotations

from django.conf import settings

# Types that run when opened; the extension and content checks catch them under any
# declared type.
BLOCKED_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sh",
        "application/hta",
        "application/x-ms-shortcut",
        "application/x-msi",
        "application/x-ms-installer",
        "application/vnd.microsoft.portable-executable",
        "application/x-mach-binary",
        "application/x-elf",
    }
)
# The first bytes of native executables, whatever their name: Windows PE (checked
# further below), ELF, Mach-O (32/64-bit, both byte orders).
ELF_MAGIC = b"\x7fELF"
MACHO_MAGICS = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
HEAD_BYTES = 4096  # what ``attachment_refusal`` needs to see of a file's content


def max_bytes() -> int:
    """Return the largest attachment accepted, in bytes."""
    return settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES


def attachment_refusal(
    *, filename: str, content_type: str, size: int, head: bytes = b""
) -> str | None:
    """Return why this file may not be stored on a ticket, or None if it may.

    ``head`` is the start of the content (``HEAD_BYTES`` are enough): an executable is
    refused under any name.
    """
    limit = max_bytes()
    if size > limit:
        return f"larger than the {_megabytes(limit)} MB limit; share a link instead"
    name = (filename or "").strip().rstrip(" .").lower()  # Windows ignores trailing dots
    blocked = tuple(ext.lower() for ext in settings.SUPPORTDESK_ATTACHMENT_BLOCKED_EXTENSIONS)
    if name.endswith(blocked):
        return "executable file type is not accepted"
    if (content_type or "").split(";", 1)[0].strip().lower() in BLOCKED_CONTENT_TYPES:
        return "executable file type is not accepted"
    if _is_executable(head):
        return "the file is a program (executable content) and is not accepted"
    return None


def _is_executable(head: bytes) -> bool:
    if head.startswith(ELF_MAGIC) or head.startswith(MACHO_MAGICS):
        return True
    # A PE file: "MZ", and at 0x3C the offset of the "PE\0\0" signature. Checking the
    # signature keeps a text file that happens to start with "MZ" acceptable.
    if head.startswith(b"MZ") and len(head) >= 0x40:
        offset = int.from_bytes(head[0x3C:0x40], "little")
        return head[offset : offset + 4] == b"PE\0\0"
    return False


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
