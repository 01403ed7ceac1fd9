"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the ``cryptography`` package.

The keys come from the environment, ``SUPPORTDESK_MAILBOX_KEYS``: comma-separated Fernet
keys, the first encrypts, every one decrypts (rotate by putting a new key first, saving
each mailbox again, then dropping the old key). Without it a demo desk derives a key from
``SECRET_KEY``; a production desk refuses to store or read a credential (the mailbox shows
why) rather than protect it with a key that also signs sessions.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialKeyError(Exception):
    """No usable key, or a stored credential that no configured key opens."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.SUPPORTDESK_MAILBOX_KEYS if k.strip()]
    if not keys:
        if settings.PRODUCTION:
            raise CredentialKeyError(
                'SUPPORTDESK_MAILBOX_KEYS is not set: generate one with `python -c "from '
                'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"` '
                "and set it in the environment of the web, worker and beat processes."
            )
        digest = hashlib.sha256(b"supportdesk-mailbox-credentials:" + settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(digest.digest()).decode()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise CredentialKeyError(
            f"SUPPORTDESK_MAILBOX_KEYS holds a value that is not a Fernet key ({exc})."
        ) from exc


def encrypt(secret: str) -> str:
    """Return ``secret`` encrypted (a Fernet token, text); empty stays empty."""
    if not secret:
        return ""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """Return the secret a token of ``encrypt`` holds; empty stays empty."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CredentialKeyError(
            "The stored credential cannot be decrypted with SUPPORTDESK_MAILBOX_KEYS (the key "
            "changed?): enter the password or connect the account again."
        ) from exc
