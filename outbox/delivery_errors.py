"""Tell a mail server's or ESP's temporary refusal from a final one.

Temporary (retried with backoff): SMTP 4xx replies, a dropped or refused connection,
timeouts, an ESP answering 408/429/5xx or not at all. Everything else is final: SMTP
5xx replies (unknown mailbox, rejected content), an ESP's 4xx, and errors in our own
mail (a bad address or header), which no retry can fix.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

TRANSIENT_HTTP = frozenset({408, 425, 429})


@dataclass(frozen=True)
class DeliveryError:
    transient: bool
    reason: str


def classify(exc: BaseException) -> DeliveryError:
    """Return whether ``exc`` (raised while sending) is worth retrying, and why it failed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = "; ".join(
            f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items()
        )
        return DeliveryError(bool(codes) and all(400 <= c < 500 for c in codes), refused)
    if isinstance(exc, smtplib.SMTPResponseException):  # sender, data, connect, helo, auth
        reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        return DeliveryError(400 <= exc.smtp_code < 500, reason)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(True, f"the mail server disconnected: {exc}")
    if isinstance(exc, smtplib.SMTPException):  # e.g. SMTPNotSupportedError: configuration
        return DeliveryError(False, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, AnymailRecipientsRefused):
        return DeliveryError(False, f"the ESP refused the recipients: {exc}")
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        # No status: the request never got an answer (requests' errors are OSErrors).
        transient = (
            isinstance(exc, OSError)
            if status is None
            else status >= 500 or status in TRANSIENT_HTTP
        )
        return DeliveryError(transient, f"ESP error ({status or 'no answer'}): {exc}")
    if isinstance(exc, OSError):  # refused, reset, unreachable, timed out, TLS
        return DeliveryError(True, f"{type(exc).__name__}: {exc}")
    return DeliveryError(False, f"{type(exc).__name__}: {exc}")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
