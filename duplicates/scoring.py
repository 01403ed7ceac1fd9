"""Combine the evidence two tickets share into one score with reasons an agent can read.

Pure Python. ``pair_features`` measures what an agent looks at — the same words (stems
and domain concepts, so paraphrase and other languages count), the same subject, the same
domain, order or error code, a *different* domain or order, how far apart in time, and
who wrote — and ``compare`` weighs them with a logistic model: the score is the modelled
probability that the two tickets are one problem. The weights were fitted on the tuning
two thirds of the labelled pairs (tests/duplicates/README.md) and are checked on the
held-out third; ``duplicates_eval`` lets a team check them on its own history.

Two tickets of different accounts are one problem only when they name the same object
(domain, URL, address): the same error code or outage at many accounts is an incident of
a problem ticket (``duplicates.problems``), not a duplicate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .features import Features
from .identifiers import GENERIC_ERRORS, conflicting_kinds, shared_identifiers
from .lexicon import CONCEPTS

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
_OBJECTS = ("domain", "url", "email", "ticket")  # what links two accounts' tickets

# Fitted by logistic regression (L2 0.001, evidence weights kept >= 0) on the tuning part
# of the 404 labelled pairs together with the 260 older pairs (tests/duplicates).
BIAS = -5.27
WEIGHTS: dict[str, float] = {
    "words": 0.48,
    "contained": 2.55,
    "subject": 1.74,
    "specific": 2.68,
    "domain": 1.29,
    "error": 0.66,
    "conflict": -4.84,
    "log_hours": -0.29,
    "same_contact": -0.96,  # one person's tickets: more often a new problem than a colleague's
    "same_account": 4.32,
    "cross_language": -0.03,
    "concepts": 0.98,
    "refers_back": 2.12,
}
CONCEPT_NAMES = frozenset(CONCEPTS)
CROSS_ACCOUNT_CAP = 0.3  # without a shared object, two accounts' tickets stay below this
# Same account, close in time and a shared domain, but no word, concept, subject, order
# or reference back in common: shallow evidence, kept under the default threshold.
SHALLOW_CAP = 0.45


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


def pair_features(new: Features, old: Features) -> dict[str, float]:
    """Return the measures ``compare`` weighs (each about 0..1, hours on a log scale)."""
    a, b = new.token_set, old.token_set
    shared = _shared(new, old)
    hours = 24.0 * 7
    if new.occurred_at and old.occurred_at:
        hours = abs((new.occurred_at - old.occurred_at).total_seconds()) / 3600
    same_contact = (new.contact_id is not None and new.contact_id == old.contact_id) or _meet(
        new, old, "identity"
    )
    # An address at the same company domain counts as the same account (colleagues whose
    # contact records were never joined to it).
    same_account = (new.account_id is not None and new.account_id == old.account_id) or _meet(
        new, old, "org"
    )
    return {
        "words": jaccard(a, b),
        # Containment needs a few words to mean anything.
        "contained": overlap(a, b) * min(1.0, min(len(a), len(b)) / 8),
        # Either subject's words found in the other ticket: a subject names the problem.
        "subject": max(_subject_in(new, b), _subject_in(old, a)),
        "specific": min(2, sum(len(shared.get(k, ())) for k in _SPECIFIC)),
        "domain": min(2, len(shared.get("domain", ())) + len(shared.get("ip", ()))),
        "error": min(1, len(shared.get("error", ()))),
        "conflict": float(bool(conflicting_kinds(new.identifiers, old.identifiers))),
        "log_hours": math.log1p(hours),
        "same_contact": float(same_contact),
        "same_account": float(same_account or same_contact),
        "cross_language": float(new.language != old.language),
        # Domain concepts alone: the topic, whatever the language or the wording.
        "concepts": jaccard(a & CONCEPT_NAMES, b & CONCEPT_NAMES),
        "refers_back": float(bool(new.extra.get("refers_back"))),
    }


def _has_content(measured: dict[str, float]) -> bool:
    return bool(
        measured["contained"] >= 0.1
        or measured["subject"]
        or measured["concepts"]
        or measured["specific"]
        or measured["refers_back"]
    )


def _meet(new: Features, old: Features, kind: str) -> bool:
    return bool(set(new.identifiers.get(kind, ())) & set(old.identifiers.get(kind, ())))


def _subject_in(ticket: Features, other_tokens: frozenset[str]) -> float:
    words = frozenset(ticket.subject_tokens)
    return len(words & other_tokens) / len(words) if words else 0.0


def compare(new: Features, old: Features) -> Match:
    """Return the duplicate score of ``new`` against the older ``old``."""
    measured = pair_features(new, old)
    exact = bool(new.tokens) and new.text_hash == old.text_hash
    z = BIAS + sum(WEIGHTS[name] * value for name, value in measured.items())
    score = 1 / (1 + math.exp(-z))
    shared = _shared(new, old)
    if not _has_content(measured):
        score = min(score, SHALLOW_CAP)
    if exact:
        score = max(score, 0.9)
    if not measured["same_account"] and not any(shared.get(k) for k in _OBJECTS):
        # Even word for word: two customers with one fault are incidents of a problem.
        score = min(score, CROSS_ACCOUNT_CAP)
    return Match(
        score=round(score, 3),
        reasons=_reasons(measured, shared, new, old, exact),
        exact=exact,
        text_similarity=round(max(measured["words"], measured["contained"]), 3),
    )


def _shared(new: Features, old: Features) -> dict[str, set[str]]:
    shared = shared_identifiers(new.identifiers, old.identifiers)
    errors = shared.get("error", set()) - GENERIC_ERRORS
    if errors:
        shared["error"] = errors
    else:
        shared.pop("error", None)
    return shared


def _reasons(
    measured: dict[str, float],
    shared: dict[str, set[str]],
    new: Features,
    old: Features,
    exact: bool,
) -> tuple[str, ...]:
    reasons: list[str] = []
    if exact:
        reasons.append("same text after normalisation (a re-send)")
    elif measured["words"] >= 0.1 or measured["contained"] >= 0.3:
        reasons.append(
            f"similar wording ({measured['words']:.0%} of words shared, "
            f"{measured['contained']:.0%} of the shorter)"
        )
    if measured["cross_language"]:
        reasons.append(f"written in {old.language} and {new.language}")
    for kind, values in sorted(shared.items(), key=lambda item: _ORDER.index(item[0])):
        reasons.append(f"same {_LABELS[kind]}: {', '.join(sorted(values)[:3])}")
    conflicts = conflicting_kinds(new.identifiers, old.identifiers)
    if conflicts and not exact:
        reasons.append("different " + " and ".join(_LABELS[k] + "s" for k in conflicts))
    hours = math.expm1(measured["log_hours"])
    if new.occurred_at and old.occurred_at:
        if hours < 1 / 6:
            reasons.append("within minutes")
        elif hours <= 2:
            reasons.append("within 2 hours")
        else:
            reasons.append(f"{hours:.0f} hours apart")
    if measured["refers_back"]:
        reasons.append("refers to an earlier report")
    if measured["same_contact"]:
        reasons.append("same contact")
    elif measured["same_account"]:
        reasons.append("same account")
    return tuple(reasons)
