"""Combine the evidence two tickets share into one score with reasons an agent can read.

Pure Python. The weights are hand-set from what agents look at (same words? same domain
or order? same subject? close in time?) and then checked against the labelled pairs in
tests/duplicates; ``duplicates_eval`` lets a team check them on its own history.
"""

from __future__ import annotations

from dataclasses import dataclass

from .features import Features
from .identifiers import conflicting_kinds, shared_identifiers

_LABELS = {
    "order": "order",
    "invoice": "invoice",
    "ticket": "ticket",
    "domain": "domain",
    "url": "URL",
    "email": "e-mail address",
    "ip": "IP address",
    "error": "error code",
}

_ORDER = list(_LABELS)
_SPECIFIC = ("order", "invoice", "ticket", "url", "email")


@dataclass(frozen=True)
class Match:
    """How much ``new`` looks like ``old``: a score in [0, 1] and why."""

    score: float
    reasons: tuple[str, ...]
    exact: bool
    text_similarity: float


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Return |a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def overlap(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    """Return |a ∩ b| / min(|a|, |b|): a short phone note inside a long mail still counts."""
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


def compare(new: Features, old: Features) -> Match:
    """Return the duplicate score of ``new`` against the older ``old``."""
    reasons: list[str] = []
    exact = bool(new.tokens) and new.text_hash == old.text_hash
    words_j = jaccard(new.token_set, old.token_set)
    words_o = overlap(new.token_set, old.token_set)
    shingle_j = jaccard(new.shingle_set, old.shingle_set)
    # Styles differ between channels, so the word measure mixes Jaccard with containment.
    text = max(shingle_j, 0.5 * words_j + 0.5 * words_o)
    if exact:
        score = 0.9
        reasons.append("same text after normalisation (a re-send)")
    elif shingle_j >= 0.6:
        score = 0.75
        reasons.append(f"near-identical text ({shingle_j:.0%} of phrases shared)")
    else:
        score = 0.9 * text
        if text >= 0.2:
            reasons.append(
                f"similar wording ({words_j:.0%} of words shared, {words_o:.0%} of the shorter)"
            )

    # Identifiers are strong evidence only when the texts are about the same topic: one
    # domain's transfer and the same domain's SSL renewal are two problems. An order,
    # invoice, mailbox or URL is specific enough to count for more on its own.
    topic = min(1.0, max(0.0, (text - 0.05) / 0.15))
    shared = shared_identifiers(new.identifiers, old.identifiers)
    specific = sum(len(shared.get(kind, ())) for kind in _SPECIFIC)
    general = sum(len(shared.get(kind, ())) for kind in ("domain", "ip"))
    if specific:
        score += (0.45 + 0.05 * min(specific - 1, 2)) * max(topic, 0.6)
    elif general:
        score += (0.4 + 0.05 * min(general - 1, 2)) * max(topic, 0.25)
    if "error" in shared:
        score += 0.1 * max(topic, 0.3)
    for kind, values in sorted(shared.items(), key=lambda item: _ORDER.index(item[0])):
        reasons.append(f"same {_LABELS[kind]}: {', '.join(sorted(values)[:3])}")
    conflicts = conflicting_kinds(new.identifiers, old.identifiers)
    if conflicts and not exact:
        score -= 0.5
        reasons.append("different " + " and ".join(_LABELS[k] + "s" for k in conflicts))

    subject_j = jaccard(set(new.subject_tokens), set(old.subject_tokens))
    if new.subject_tokens and subject_j >= 0.6:
        score += 0.1
        reasons.append("same subject" if subject_j == 1 else f"similar subject ({subject_j:.0%})")

    if new.occurred_at and old.occurred_at:
        hours = abs((new.occurred_at - old.occurred_at).total_seconds()) / 3600
        if hours <= 2:
            score += 0.08
            reasons.append("within 2 hours" if hours >= 1 / 6 else "within minutes")
        elif hours <= 48:
            score += 0.04
            reasons.append(f"{hours:.0f} hours apart")
        elif hours > 24 * 7:
            score -= 0.05
    if new.contact_id is not None and new.contact_id == old.contact_id:
        score += 0.06
        reasons.append("same contact")
    return Match(
        score=round(min(1.0, max(0.0, score)), 3),
        reasons=tuple(reasons),
        exact=exact,
        text_similarity=round(text, 3),
    )
