"""Phone numbers in one form (E.164), so a caller is found whatever way it was written."""

import phonenumbers
from django.conf import settings

from .errors import InvalidInput


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` as E.164 (``+31201234567``); raise InvalidInput if it is no number.

    Numbers without a country code are read in ``region`` (default: the
    SUPPORTDESK_PHONE_REGION setting).
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidInput("phone", "Enter a phone number.")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region or settings.SUPPORTDESK_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", f"{raw!r} is not a phone number: {exc}.") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput(
            "phone", f"{raw!r} is not a possible phone number; include the country code."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
