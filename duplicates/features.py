"""What detection knows about one ticket, computed from its text alone (pure Python)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from . import minhash
from .identifiers import extract_identifiers
from .normalize import clean_body, strip_quotes_and_signature, strip_subject
from .text import content_tokens

MAX_TOKENS = 400  # enough to judge; bounds storage and scoring time for long mails


@dataclass(frozen=True)
class Features:
    """A ticket's comparable evidence: tokens, shingle set, identifiers, subject, time."""

    tokens: tuple[str, ...]
    subject_tokens: tuple[str, ...]
    identifiers: dict[str, frozenset[str]]
    text_hash: str
    minhash: tuple[int, ...]
    occurred_at: datetime | None = None
    contact_id: int | None = None
    account_id: int | None = None
    channel: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def token_set(self) -> frozenset[str]:
        return frozenset(self.tokens)

    @property
    def shingle_set(self) -> set[str]:
        return minhash.shingles(self.tokens)


def build_features(
    *,
    subject: str,
    body: str,
    channel: str = "",
    occurred_at: datetime | None = None,
    contact_id: int | None = None,
    account_id: int | None = None,
    ticket_prefix: str = "SD",
) -> Features:
    """Return the features of a ticket with this subject and customer text."""
    cleaned = clean_body(body, ticket_prefix)
    subject_clean = strip_subject(subject, ticket_prefix)
    tokens = tuple((content_tokens(subject_clean) + content_tokens(cleaned))[:MAX_TOKENS])
    identifiers = extract_identifiers(
        f"{subject}\n{strip_quotes_and_signature(body)}", ticket_prefix
    )
    exact_source = " ".join(cleaned.lower().split()) or subject_clean
    return Features(
        tokens=tokens,
        subject_tokens=tuple(content_tokens(subject_clean)),
        identifiers={kind: frozenset(values) for kind, values in identifiers.items()},
        text_hash=hashlib.sha256(exact_source.encode()).hexdigest()[:32],
        minhash=tuple(minhash.signature(set(tokens))),
        occurred_at=occurred_at,
        contact_id=contact_id,
        account_id=account_id,
        channel=channel,
    )


def scope_of(contact_id: int | None, account_id: int | None) -> str | None:
    """Return the LSH namespace: the account, else the contact, else none (no candidates)."""
    if account_id is not None:
        return f"a{account_id}"
    if contact_id is not None:
        return f"c{contact_id}"
    return None


def retrieval_keys(features: Features) -> list[int]:
    """Return the indexed keys a ticket is filed under: LSH bands and strong identifiers."""
    scope = scope_of(features.contact_id, features.account_id)
    if scope is None:
        return []
    keys = minhash.band_keys(features.minhash, scope)
    for kind in ("order", "invoice", "domain", "url", "ip", "ticket", "email"):
        for value in sorted(features.identifiers.get(kind, ()))[:10]:
            keys.append(minhash.signed64(f"{scope}|{kind}|{value}"))
    keys.append(minhash.signed64(f"{scope}|exact|{features.text_hash}"))
    return sorted(set(keys))
