"""The CSRF token's mask from one read of the system's random source, not 32.

Django masks the CSRF secret anew for every page that shows a form (``get_token``: BREACH
protection) with a 32-character random mask drawn by ``secrets.choice`` one character at
a time: 32 reads of ``os.urandom``, ~0.17 ms of CPU a page on this machine (most of the
~0.2 ms ``_mask_cipher_secret`` costs). Here the mask is drawn from one
``secrets.token_bytes`` read: the same source and the same uniform distribution over the
62 allowed characters (bytes of 248 and above are dropped, so that ``byte % 62`` favours
no character), and the same token format, which Django's own code unmasks and checks.
"""

from __future__ import annotations

import secrets

from django.middleware import csrf

_CHARS = csrf.CSRF_ALLOWED_CHARS
_COUNT = len(_CHARS)
_INDEX = {c: i for i, c in enumerate(_CHARS)}
_LENGTH = csrf.CSRF_SECRET_LENGTH
# The largest multiple of the alphabet's size a byte can hold: bytes below it map evenly.
_BELOW = 256 - 256 % _COUNT


def _mask() -> list[int]:
    """``_LENGTH`` uniform draws from ``range(_COUNT)``."""
    drawn: list[int] = []
    while len(drawn) < _LENGTH:
        # 3 % of bytes are dropped: 40 bytes give 32 draws but once in ~10^5 reads.
        drawn += [b % _COUNT for b in secrets.token_bytes(_LENGTH + 8) if b < _BELOW]
    return drawn[:_LENGTH]


def mask_cipher_secret(secret: str) -> str:
    """What ``django.middleware.csrf._mask_cipher_secret`` returns: the mask, then the
    secret with each character shifted by the mask's."""
    mask = _mask()
    cipher = "".join(_CHARS[(_INDEX[c] + m) % _COUNT] for c, m in zip(secret, mask, strict=True))
    return "".join(_CHARS[m] for m in mask) + cipher


def install() -> None:
    """Make Django's ``get_token`` mask with ``mask_cipher_secret`` (at start-up)."""
    csrf._mask_cipher_secret = mask_cipher_secret  # type: ignore[attr-defined]
