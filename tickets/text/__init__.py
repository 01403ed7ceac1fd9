"""The desk's text toolkit: ticket references, subjects and quoted history.

Pure Python (no Django), shared by email threading (``channels_app.email``), search and
the admin's search box, and duplicate detection, so they all read a text the same way.
"""

from .quotes import is_quote_header, strip_reply
from .references import (
    DEFAULT_PREFIX,
    find_references,
    parse_reference,
    reference_re,
    strip_references,
    strip_subject_tokens,
    subject_token,
)
from .subjects import normalize_subject, strip_reply_prefixes

__all__ = [
    "DEFAULT_PREFIX",
    "find_references",
    "is_quote_header",
    "normalize_subject",
    "parse_reference",
    "reference_re",
    "strip_references",
    "strip_reply",
    "strip_reply_prefixes",
    "strip_subject_tokens",
    "subject_token",
]
