"""Fit the weights of ``scoring`` on labelled pairs (pure Python, no database).

``manage.py duplicates_fit PAIRS.jsonl…`` reads pairs in the ``duplicates_eval`` format,
builds each side's features from its text as detection would (contacts and accounts by
their names in the file), and fits a logistic regression with a small L2 penalty by
gradient descent. Weights of evidence (shared words, subject, objects, a reference back)
are kept at zero or above, so a reason shown to agents never counts against a match.
The held-out third (``evaluation.is_held_out``) is left out unless asked for.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import scoring
from .features import Features, build_features

EVIDENCE = frozenset(
    {"words", "contained", "subject", "specific", "domain", "error", "concepts", "refers_back"}
)


@dataclass(frozen=True)
class Fit:
    bias: float
    weights: dict[str, float]

    def score(self, measured: dict[str, float]) -> float:
        z = self.bias + sum(self.weights[name] * measured[name] for name in self.weights)
        return 1 / (1 + math.exp(-z))


def side_features(side: dict[str, Any]) -> Features:
    """Return the features of one side of a pair, as detection would compute them."""
    account = side["account"].strip() or None
    who = side["contact"].strip().lower()
    return build_features(
        subject=side["subject"],
        body=side["body"],
        channel=side["channel"],
        occurred_at=datetime.fromisoformat(side["occurred_at"]),
        contact_id=_id(f"{who}|{account or ''}"),
        account_id=_id(account) if account else None,
        identities=(who,) if who else (),
    )


def measure(pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, float]]:
    """Return ``scoring.pair_features`` of each (older, newer) pair."""
    return [scoring.pair_features(side_features(b), side_features(a)) for a, b in pairs]


def fit(
    measured: Sequence[dict[str, float]],
    labels: Sequence[bool],
    *,
    l2: float = 0.001,
    rounds: int = 4000,
    rate: float = 0.5,
) -> Fit:
    """Return the bias and weights that best separate ``labels`` (gradient descent)."""
    names = list(scoring.WEIGHTS)
    rows = [[m[name] for name in names] for m in measured]
    weights, bias, n = [0.0] * len(names), 0.0, len(rows)
    for _ in range(rounds):
        grad, grad_bias = [0.0] * len(names), 0.0
        for row, label in zip(rows, labels, strict=True):
            z = bias + sum(w * x for w, x in zip(weights, row, strict=True))
            error = 1 / (1 + math.exp(-z)) - float(label)
            grad_bias += error
            for i, x in enumerate(row):
                grad[i] += error * x
        bias -= rate * grad_bias / n
        weights = [w - rate * (g / n + l2 * w) for w, g in zip(weights, grad, strict=True)]
        weights = [
            max(0.0, w) if name in EVIDENCE else w for w, name in zip(weights, names, strict=True)
        ]
    return Fit(
        bias=round(bias, 2), weights={k: round(w, 2) for k, w in zip(names, weights, strict=True)}
    )


def _id(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)
