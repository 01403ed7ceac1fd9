"""Signed one-click links: the survey and the score, nothing to guess or to reuse for
another ticket."""

from __future__ import annotations

from django.core import signing

SALT = "csat.survey"
MAX_AGE_DAYS = 30


def survey_token(survey_id: int) -> str:
    return signing.dumps({"s": survey_id}, salt=SALT, compress=True)


def survey_from_token(token: str) -> int | None:
    """Return the survey id of a valid, unexpired token, else None."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_DAYS * 86400)
    except signing.BadSignature:
        return None
    value = data.get("s") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None
