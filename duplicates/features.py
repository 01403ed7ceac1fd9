"""What detection knows about one ticket, computed from its text alone (pure Python)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from . import language, markers, minhash
from .identifiers import GENERIC_ERRORS, UBIQUITOUS_DOMAINS, extract_identifiers
from .lexicon import CONCEPTS
from .normalize import clean_stripped, strip_quotes_and_signature, strip_subject
from .text import content_tokens

# Addresses at these providers say nothing about which organisation wrote.
FREE_MAIL = UBIQUITOUS_DOMAINS | frozenset(
    "hotmail.es yahoo.es live.nl hotmail.nl yandex.by ukr.net mail.com".split()
)
_CONCEPT_NAMES = frozenset(CONCEPTS)
MAX_TOKENS = 400  # enough to judge; bounds storage and scoring time for long mails
# Bumped when tokens or identifiers are computed differently: older signatures are filed
# again before they are compared (``signatures.candidates``).
VERSION = 3


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
    language: str = "en"
    # ``markers.MARKS`` the ticket shows: a how-to question, settled in the contact, …
    marks: frozenset[str] = frozenset()
    # ``features_inputs``' digest of what these were built from ("" if not given).
    inputs: str = field(default="", compare=False)

    @cached_property
    def token_set(self) -> frozenset[str]:
        # Kept: a batch compares each candidate with ~10 tickets, ~4 times a pair.
        return frozenset(self.tokens)

    @cached_property
    def subject_set(self) -> frozenset[str]:
        return frozenset(self.subject_tokens)

    @cached_property
    def topic_set(self) -> frozenset[str]:
        # Its words that are the desk's topics (``scoring.below``: once a ticket, where
        # its ~14 candidates each took them again).
        return self.token_set & _CONCEPT_NAMES

    @cached_property
    def index_keys(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        # ``retrieval_keys`` and ``global_keys``, hashed once: filing a ticket's keys and
        # looking up its candidates both read them (~40 blake2b hashes a ticket).
        everywhere = _global_keys(self)
        return tuple(_retrieval_keys(self, everywhere)), tuple(everywhere)

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
    identities: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
    stripped: str | None = None,
    inputs: str = "",
) -> Features:
    """Return the features of a ticket with this subject and customer text.

    ``identities`` are the contact's e-mail addresses and phone numbers: tickets of
    another contact record with one of them are the same person's. ``stripped`` and
    ``inputs``: what ``features_inputs`` returned for the same arguments.
    """
    # Stripped once: the cleaned text, the identifiers and the marks all start from it.
    if stripped is None:
        stripped = strip_quotes_and_signature(body)
    cleaned = clean_stripped(stripped, ticket_prefix)
    subject_clean = strip_subject(subject, ticket_prefix)
    lang = language.detect(f"{subject_clean}\n{cleaned}")
    # The writer's own name (from their address) signs every ticket they write: no evidence.
    own = _own_names(identities, lang)
    subject_tokens = [t for t in content_tokens(subject_clean, lang) if t not in own]
    body_tokens = [t for t in content_tokens(cleaned, lang) if t not in own]
    tokens = tuple((subject_tokens + body_tokens)[:MAX_TOKENS])
    identifiers = extract_identifiers(f"{subject}\n{stripped}", ticket_prefix)
    identifiers["identity"] = {i.lower() for i in identities if i}
    identifiers["service"] = set(_services_named(subject, body, services))
    identifiers["org"] = {
        i.rsplit("@", 1)[1].lower()
        for i in identities
        if "@" in i and i.rsplit("@", 1)[1].lower() not in FREE_MAIL
    }
    identifiers = {kind: values for kind, values in identifiers.items() if values}
    exact_source = " ".join(cleaned.lower().split()) or subject_clean
    return Features(
        tokens=tokens,
        subject_tokens=tuple(subject_tokens),
        identifiers={kind: frozenset(values) for kind, values in identifiers.items()},
        text_hash=hashlib.sha256(exact_source.encode()).hexdigest()[:32],
        minhash=tuple(minhash.signature(set(tokens))),
        occurred_at=occurred_at,
        contact_id=contact_id,
        account_id=account_id,
        channel=channel,
        language=lang,
        marks=markers.marks(subject, stripped),
        inputs=inputs,
    )


def features_inputs(
    *,
    subject: str,
    body: str,
    channel: str = "",
    occurred_at: datetime | None = None,
    contact_id: int | None = None,
    account_id: int | None = None,
    ticket_prefix: str = "SD",
    identities: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
) -> tuple[str, str]:
    """Return the stripped text ``build_features`` starts from, and a digest of all it
    reads for the same arguments: the same digest, the same features.

    Quotes and signatures are cut first, so a reply below a mail's signature, or one that
    only quotes, leaves the digest as it was (and costs a tenth of building them)."""
    stripped = strip_quotes_and_signature(body)
    read = [
        VERSION,
        subject,
        stripped,
        channel,
        occurred_at.isoformat() if occurred_at else None,
        contact_id,
        account_id,
        ticket_prefix,
        sorted(identities),
        _services_named(subject, body, services),  # the only thing read of the whole text
    ]
    return stripped, hashlib.sha256(json.dumps(read).encode()).hexdigest()[:32]


def _services_named(subject: str, body: str, services: tuple[str, ...]) -> list[str]:
    # Our services by name ("mail3", "YooKassa"): an outage is reported by naming them.
    haystack = f" {subject}\n{body} ".lower()
    return [
        name.lower()
        for name in services
        if re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", haystack)
    ]


def _own_names(identities: tuple[str, ...], lang: str) -> frozenset[str]:
    parts = {
        part
        for identity in identities
        if "@" in identity
        for part in re.split(r"[._+-]+", identity.split("@", 1)[0].lower())
        if len(part) > 2 and part.isalpha()
    }
    return frozenset(t for part in parts for t in content_tokens(part, lang))


def scope_of(contact_id: int | None, account_id: int | None) -> str | None:
    """Return the LSH namespace: the account, else the contact, else none (no candidates)."""
    if account_id is not None:
        return f"a{account_id}"
    if contact_id is not None:
        return f"c{contact_id}"
    return None


# Kinds looked up across accounts: objects a duplicate shares, codes an outage shares.
GLOBAL_KINDS = ("domain", "url", "email", "error", "service")
# Of those, what many accounts share in an outage (``duplicates.problems``).
OUTAGE_KINDS = ("error", "service")


def global_key(kind: str, value: str) -> int:
    """Return the index key of one identifier looked up across accounts."""
    return minhash.signed64(f"g|{kind}|{value}")


def outage_keys(features: Features) -> dict[int, tuple[str, str]]:
    """Return the ticket's error-code and service keys, with what each stands for."""
    found: dict[int, tuple[str, str]] = {}
    for kind in OUTAGE_KINDS:
        for value in sorted(features.identifiers.get(kind, ()))[:10]:
            if kind != "error" or value not in GENERIC_ERRORS:
                found[global_key(kind, value)] = (kind, value)
    return found


def global_keys(features: Features) -> list[int]:
    """Return the keys that meet other accounts' tickets: one object or error code, and the
    contact's own addresses and numbers (another contact record of the same person)."""
    return list(features.index_keys[1])


def _global_keys(features: Features) -> list[int]:
    keys: list[int] = []
    for kind in GLOBAL_KINDS:
        values: Collection[str] = features.identifiers.get(kind, ())
        if kind == "error":
            values = [v for v in values if v not in GENERIC_ERRORS]
        for value in sorted(values)[:10]:
            keys.append(global_key(kind, value))
    for identity in sorted(features.identifiers.get("identity", ()))[:10]:
        keys.append(minhash.signed64(f"g|identity|{identity}"))
    return sorted(set(keys))


def retrieval_keys(features: Features) -> list[int]:
    """Return the indexed keys a ticket is filed under: LSH bands and identifiers in its
    account's namespace, and its global keys."""
    return list(features.index_keys[0])


def _retrieval_keys(features: Features, everywhere: list[int]) -> list[int]:
    scope = scope_of(features.contact_id, features.account_id)
    if scope is None:
        return []
    keys = minhash.band_keys(features.minhash, scope)
    for kind in ("order", "invoice", "reference", "domain", "url", "ip", "ticket", "email"):
        for value in sorted(features.identifiers.get(kind, ()))[:10]:
            keys.append(minhash.signed64(f"{scope}|{kind}|{value}"))
    keys.append(minhash.signed64(f"{scope}|exact|{features.text_hash}"))
    return sorted(set(keys) | set(everywhere))
