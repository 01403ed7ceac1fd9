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
from functools import lru_cache

from .features import Features
from .identifiers import GENERIC_ERRORS, KINDS, conflicting_kinds, shared_identifiers
from .lexicon import CONCEPTS

_LABELS = {
    "order": "order",
    "invoice": "invoice",
    "ticket": "ticket",
    "reference": "reference",
    "domain": "domain",
    "url": "URL",
    "email": "e-mail address",
    "ip": "IP address",
    "error": "error code",
}
_ORDER = list(_LABELS)
_SPECIFIC = ("order", "invoice", "ticket", "reference", "url", "email")
_OBJECTS = ("domain", "url", "email", "ticket")  # what links two accounts' tickets
_CODES = ("reference", "error")  # different codes: likely different faults

# Fitted by logistic regression (``manage.py duplicates_fit``: L2 0.0003, evidence kept
# >= 0 and counter-evidence <= 0) on the tuning two thirds of the 454 labelled pairs and
# of the 260 older ones (tests/duplicates). The threshold that goes with them,
# ``DUPLICATES_THRESHOLD`` 0.58, was chosen by five-fold cross-validation on the tuning
# part: the most precise one that keeps recall at 0.85 (bench/README.md).
BIAS = -6.41
WEIGHTS: dict[str, float] = {
    "shared": 1.01,  # how many words the two share (up to 4)
    "new_in_old": 0.87,  # the share of the new ticket's words found in the old one
    "specific_words": 2.04,  # shared words that are not the desk's everyday topics
    "subject": 1.15,
    "specific": 2.59,
    "domain": 2.02,
    "error": 0.4,
    "refers_back": 2.16,
    "continues": 0.57,
    "conflict": -5.53,
    "other_codes": -3.02,
    "other_topics": -1.76,
    "solved_before": -3.29,
    "question_before": -1.55,
    "domain_only": -1.36,
    "log_hours": -0.67,
    "same_contact": -0.46,
    "same_account": 6.07,
    "cross_language": 1.06,
}
CONCEPT_NAMES = frozenset(CONCEPTS)
CROSS_ACCOUNT_CAP = 0.3  # without a shared object, two accounts' tickets stay below this
# Same account, close in time and a shared domain, but no word, subject, order or
# reference back in common: shallow evidence, kept under the default threshold.
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
    return _measure(new, old, _shared(new, old))


def _measure(new: Features, old: Features, shared: dict[str, set[str]]) -> dict[str, float]:
    # ``compare`` needs ``shared`` too: computed once a pair (a batch scores ~10 pairs a mail).
    a, b = new.token_set, old.token_set
    common = a & b
    hours = 24.0 * 7
    if new.occurred_at and old.occurred_at:
        hours = abs((new.occurred_at - old.occurred_at).total_seconds()) / 3600
    same_contact = (new.contact_id is not None and new.contact_id == old.contact_id) or _meet(
        new, old, "identity"
    )
    # An address at the same company domain counts as the same account (colleagues whose
    # contact records were never joined to it); one bookkeeper writing for two accounts
    # does not make them one.
    other_accounts = None not in (new.account_id, old.account_id) and (
        new.account_id != old.account_id
    )
    same_account = not other_accounts and (
        new.account_id is not None
        and new.account_id == old.account_id
        or same_contact
        or _meet(new, old, "org")
    )
    topics_a, topics_b = a & CONCEPT_NAMES, b & CONCEPT_NAMES
    return {
        "shared": min(1.0, len(common) / 4),
        "new_in_old": len(common) / len(a) if a else 0.0,
        "specific_words": min(1.0, len(common - CONCEPT_NAMES) / 3),
        # Either subject's words found in the other ticket: a subject names the problem
        # (a one-word subject such as "Chat: invoice" counts half).
        "subject": max(_subject_in(new, b), _subject_in(old, a)),
        "specific": min(2, sum(len(v) for k, v in shared.items() if k in _SPECIFIC)),
        "domain": min(2, len(shared.get("domain", ())) + len(shared.get("ip", ()))),
        "error": min(1, len(shared.get("error", ()))),
        "refers_back": float("refers_back" in new.marks),
        "continues": float("continues" in new.marks),
        "conflict": float(bool(conflicting_kinds(new.identifiers, old.identifiers))),
        "other_codes": float(bool(_other_codes(new, old))),
        # Both name the desk's topics (payment, DNS, invoice …) and none in common.
        "other_topics": float(bool(topics_a and topics_b and not topics_a & topics_b)),
        # Settled in the earlier contact and not said to go on: a new problem.
        "solved_before": float("solved" in old.marks and "continues" not in new.marks),
        # A how-to question, then a report: the defect the answer led to.
        "question_before": float("question" in old.marks and "question" not in new.marks),
        "domain_only": float(bool(shared.get("domain")) and len(common) <= 1),
        "log_hours": math.log1p(hours),
        "same_contact": float(same_contact),
        "same_account": float(same_account),
        "cross_language": float(new.language != old.language),
    }


def _has_content(measured: dict[str, float]) -> bool:
    return bool(
        measured["shared"] >= 0.5
        or measured["subject"]
        or measured["specific"]
        or measured["refers_back"]
    )


def _other_codes(new: Features, old: Features) -> list[str]:
    """Return the kinds of code (reference, error) both name, none of them in common."""
    found = []
    for kind in _CODES:
        if not (new.identifiers.get(kind) and old.identifiers.get(kind)):
            continue  # most pairs: no sets to build
        mine = set(new.identifiers[kind]) - GENERIC_ERRORS
        theirs = set(old.identifiers[kind]) - GENERIC_ERRORS
        if mine and theirs and not mine & theirs:
            found.append(kind)
    return found


def _meet(new: Features, old: Features, kind: str) -> bool:
    mine, theirs = new.identifiers.get(kind), old.identifiers.get(kind)
    return bool(mine and theirs and not set(mine).isdisjoint(theirs))


def _subject_in(ticket: Features, other_tokens: frozenset[str]) -> float:
    words = ticket.subject_set
    return len(words & other_tokens) / max(len(words), 2) if words else 0.0


def compare(new: Features, old: Features) -> Match:
    """Return the duplicate score of ``new`` against the older ``old``."""
    shared, measured, exact, score = _scored(new, old)
    return Match(
        score=score,
        reasons=_reasons(measured, shared, new, old, exact),
        exact=exact,
        text_similarity=round(overlap(new.token_set, old.token_set), 3),
    )


def score(new: Features, old: Features) -> float:
    """Return ``compare(new, old).score`` without the reasons: a batch's detection scores
    ~10 candidates a ticket and explains only the few it flags."""
    return _scored(new, old)[3]


def below(new: Features, old: Features, threshold: float) -> bool:
    """Return True only if ``score(new, old) < threshold``, from an upper bound of the
    score that costs a quarter of it: a batch's detection scores ~14 candidates a new
    ticket (a reseller's open tickets) and flags about one in thirty; the rest are told
    apart by their words, topics, conflicting objects and age alone. False: score it.

    The bound is the model's sum with every measure it reads computed as ``_measure``
    does, and the rest (same contact and account, earlier codes, marks of the older
    ticket, a domain alone) at their largest contribution; the caps only lower a score.
    An exact re-send is raised to 0.9 whatever its sum: never rejected here."""
    if new.tokens and new.text_hash == old.text_hash:
        return False
    a, b = new.token_set, old.token_set
    common = a & b
    z = _UNREAD_MAX
    if n := len(common):
        z += _W_SHARED * min(1.0, n / 4) + _W_NEW_IN_OLD * (n / len(a))
        z += _W_SPECIFIC_WORDS * min(1.0, len(common - CONCEPT_NAMES) / 3)
    z += _W_SUBJECT * max(_subject_in(new, b), _subject_in(old, a))
    if marks := new.marks:
        z += _W_REFERS_BACK * ("refers_back" in marks) + _W_CONTINUES * ("continues" in marks)
    if new.language != old.language:
        z += _W_CROSS_LANGUAGE
    hours = 24.0 * 7
    if new.occurred_at and old.occurred_at:
        hours = abs((new.occurred_at - old.occurred_at).total_seconds()) / 3600
    z += _W_LOG_HOURS * math.log1p(hours)
    topics_a, topics_b = new.topic_set, old.topic_set
    if topics_a and topics_b and topics_a.isdisjoint(topics_b):
        z += _W_OTHER_TOPICS
    # Identifiers of a kind both name: most pairs have none, so no sets are built.
    if new.identifiers.keys() & old.identifiers.keys() & _KINDS:
        shared = _shared(new, old)
        z += _W_SPECIFIC * min(2, sum(len(v) for k, v in shared.items() if k in _SPECIFIC))
        z += _W_DOMAIN * min(2, len(shared.get("domain", ())) + len(shared.get("ip", ())))
        z += _W_ERROR * min(1, len(shared.get("error", ())))
        if conflicting_kinds(new.identifiers, old.identifiers):
            z += _W_CONFLICT
    # The margin covers the other order of the sum's float additions.
    return z + 1e-9 < _z_below(threshold)


# ``below``'s weights, and the most the measures it does not read can add (each is 0..1).
_W_SHARED, _W_NEW_IN_OLD = WEIGHTS["shared"], WEIGHTS["new_in_old"]
_W_SPECIFIC_WORDS, _W_SUBJECT = WEIGHTS["specific_words"], WEIGHTS["subject"]
_W_SPECIFIC, _W_DOMAIN, _W_ERROR = WEIGHTS["specific"], WEIGHTS["domain"], WEIGHTS["error"]
_W_REFERS_BACK, _W_CONTINUES = WEIGHTS["refers_back"], WEIGHTS["continues"]
_W_CONFLICT, _W_OTHER_TOPICS = WEIGHTS["conflict"], WEIGHTS["other_topics"]
_W_LOG_HOURS, _W_CROSS_LANGUAGE = WEIGHTS["log_hours"], WEIGHTS["cross_language"]
BELOW_READS = frozenset(
    "shared new_in_old specific_words subject specific domain error refers_back continues "
    "conflict other_topics log_hours cross_language".split()
)
_UNREAD_MAX = BIAS + sum(max(0.0, w) for name, w in WEIGHTS.items() if name not in BELOW_READS)
_KINDS = frozenset(KINDS)


@lru_cache(maxsize=16)
def _z_below(threshold: float) -> float:
    """The model's sum under which the rounded score is below ``threshold`` for certain:
    ``round(s, 3)`` adds at most 0.0005 to ``s``."""
    edge = threshold - 0.0005 - 1e-6
    if edge <= 0:
        return -math.inf  # no score is below it for certain
    if edge >= 1:
        return math.inf  # every score is below it
    return math.log(edge / (1 - edge))


def _scored(
    new: Features, old: Features
) -> tuple[dict[str, set[str]], dict[str, float], bool, float]:
    shared = _shared(new, old)
    measured = _measure(new, old, shared)
    exact = bool(new.tokens) and new.text_hash == old.text_hash
    total: float = 0  # summed in the same order as sum() did: the very same float
    for name, value in measured.items():
        total += WEIGHTS[name] * value
    z = BIAS + total
    score = 1 / (1 + math.exp(-z))
    if not _has_content(measured):
        score = min(score, SHALLOW_CAP)
    if exact:
        score = max(score, 0.9)
    if not measured["same_account"] and not any(shared.get(k) for k in _OBJECTS):
        # Even word for word: two customers with one fault are incidents of a problem.
        score = min(score, CROSS_ACCOUNT_CAP)
    return shared, measured, exact, round(score, 3)


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
    elif measured["shared"] >= 0.5:
        common = new.token_set & old.token_set
        reasons.append(
            f"similar wording ({len(common)} words shared, "
            f"{measured['new_in_old']:.0%} of the newer ticket)"
        )
    if measured["cross_language"]:
        reasons.append(f"written in {old.language} and {new.language}")
    for kind, values in sorted(shared.items(), key=lambda item: _ORDER.index(item[0])):
        reasons.append(f"same {_LABELS[kind]}: {', '.join(sorted(values)[:3])}")
    conflicts = conflicting_kinds(new.identifiers, old.identifiers) + _other_codes(new, old)
    if conflicts and not exact:
        reasons.append("different " + " and ".join(_LABELS[k] + "s" for k in conflicts))
    if measured["other_topics"]:
        reasons.append("about different things")
    if measured["question_before"]:
        reasons.append("a how-to question first, a fault report now")
    if measured["solved_before"]:
        reasons.append("the earlier one was settled in the contact")
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
    if measured["continues"]:
        reasons.append("says it is still happening")
    if measured["same_contact"]:
        reasons.append("same contact")
    elif measured["same_account"]:
        reasons.append("same account")
    return tuple(reasons)
