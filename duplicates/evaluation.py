"""Run production detection over labelled ticket pairs and measure it (duplicates_eval).

Each pair is created inside its own transaction, which is rolled back: the database is
left as it was (PostgreSQL still advances the ticket number sequence).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from tickets.lines import department_for_channel
from tickets.models import Account, Contact, ContactEmail, ContactPhone, Department
from tickets.phones import normalize_phone
from tickets.services import MessageIn, ticket_open

from .services import duplicates_detect

CHANNELS = ("email", "chat", "phone", "portal")
FIELDS = ("channel", "contact", "account", "subject", "body", "occurred_at")


HELD_OUT_SHARE = 3  # one pair in three, by a stable hash of its id


PARTS = ("held-out", "tuning")


def is_held_out(pair_id: str, part: str | None = None) -> bool:
    """Return whether the pair belongs to the held-out part that tuning never sees.

    A pair's own ``part`` decides when it has one: pairs written after the detector's
    errors were seen go to tuning, a set written before it was ever run is held out.
    Otherwise a hash of the id (not its position) puts one pair in three aside, so that
    adding pairs never moves old ones.
    """
    if part is not None:
        return part == "held-out"
    return hashlib.sha256(pair_id.encode()).digest()[0] % HELD_OUT_SHARE == 0


class PairError(ValueError):
    """A line of the pairs file that cannot be evaluated, with the reason."""


@dataclass(frozen=True)
class Pair:
    id: str
    a: dict[str, Any]
    b: dict[str, Any]
    label: bool
    part: str | None = None  # "held-out" or "tuning"; None: by the hash of the id

    @property
    def held_out(self) -> bool:
        return is_held_out(self.id, self.part)


@dataclass
class Scores:
    """Confusion counts and the figures derived from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, *, predicted: bool, label: bool) -> None:
        if predicted and label:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return f"precision={self.precision:.3f} recall={self.recall:.3f} f1={self.f1:.3f}"


def parse_pairs(lines: Iterable[str]) -> Iterator[tuple[int, Pair | PairError]]:
    """Yield (line number, pair or the error that line has); blank lines are skipped."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, _parse_pair(raw)
        except PairError as exc:
            yield number, exc


def _parse_pair(raw: str) -> Pair:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PairError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise PairError("expected an object with id, a, b and label")
    if not isinstance(data.get("label"), bool):
        raise PairError('"label" must be true or false')
    for side in ("a", "b"):
        ticket = data.get(side)
        if not isinstance(ticket, dict):
            raise PairError(f'"{side}" must be an object with {", ".join(FIELDS)}')
        missing = [name for name in FIELDS if not isinstance(ticket.get(name), str)]
        if missing:
            raise PairError(f'"{side}" lacks text field(s): {", ".join(missing)}')
        if ticket["channel"] not in CHANNELS:
            raise PairError(f'"{side}.channel" must be one of {", ".join(CHANNELS)}')
        try:
            when = datetime.fromisoformat(ticket["occurred_at"])
        except ValueError:
            raise PairError(f'"{side}.occurred_at" is not ISO 8601') from None
        if when.tzinfo is None:
            raise PairError(f'"{side}.occurred_at" needs a UTC offset, e.g. +01:00')
        if not ticket["subject"].strip() or not ticket["body"].strip():
            raise PairError(f'"{side}" needs a non-empty subject and body')
    part = data.get("part")
    if part is not None and part not in PARTS:
        raise PairError(f'"part" must be one of {", ".join(PARTS)} (or left out)')
    return Pair(
        id=str(data.get("id", "")), a=data["a"], b=data["b"], label=data["label"], part=part
    )


def channel_recall(decisions: Iterable[dict[str, Any]]) -> list[tuple[str, int, int, float]]:
    """Return (a->b channels, duplicates, found, recall) per ordered channel pair."""
    counts: dict[str, list[int]] = {}
    for decision in decisions:
        if decision["label"]:
            seen = counts.setdefault(decision["channels"], [0, 0])
            seen[0] += 1
            seen[1] += bool(decision["predicted"])
    return [(key, n, found, found / n) for key, (n, found) in sorted(counts.items())]


def miss_reason(decision: dict[str, Any], threshold: float) -> str:
    """Return why a labelled duplicate was not flagged, in an agent's words."""
    if decision["score"] is None:
        return decision["reasons"][0]
    found = "; ".join(decision["reasons"]) or "no shared evidence"
    return f"score {decision['score']:.2f} < {threshold:.2f}: {found}"


def evaluate_pair(pair: Pair) -> dict[str, Any]:
    """Open a then b as production would, detect on b, roll back; return the decision."""
    with transaction.atomic():
        department = Department.objects.filter(is_active=True).order_by("pk").first()
        if department is None:
            raise PairError("no active department: run migrations first")
        accounts: dict[str, Account] = {}
        contacts: dict[tuple[str, str], Contact] = {}
        opened = []
        for side in (pair.a, pair.b):  # as in production: each runs detection on arrival
            opened.append(_open(side, department, accounts, contacts))
            result = duplicates_detect(opened[-1].pk, notify=False, auto_merge=False)
        transaction.set_rollback(True)
    best = next((c for c in result.scored if c.ticket_id == opened[0].pk), None)
    return {
        "id": pair.id,
        "label": pair.label,
        "channels": f"{pair.a['channel']}->{pair.b['channel']}",
        "held_out": pair.held_out,
        "predicted": opened[0].pk in result.flagged,
        "score": best.score if best else None,
        "reasons": list(best.reasons) if best else [_not_compared(pair)],
    }


def _not_compared(pair: Pair) -> str:
    """Say who the two tickets were from when detection never compared them."""
    same_account = pair.a["account"].strip() and pair.a["account"] == pair.b["account"]
    same_contact = pair.a["contact"].strip().lower() == pair.b["contact"].strip().lower()
    if same_contact:
        who = "same contact"
    elif same_account:
        who = "same account, another contact"
    else:
        who = "another account"
    return f"not a candidate ({who}, no shared retrieval key)"


def _open(
    data: dict[str, Any],
    department: Department,
    accounts: dict[str, Account],
    contacts: dict[tuple[str, str], Contact],
):
    account = None
    if data["account"].strip():
        key = data["account"].strip()
        if key not in accounts:
            # No reseller_id: the real account with that id may exist; this one is rolled back.
            accounts[key] = Account.objects.create(name=f"eval {key}")
        account = accounts[key]
    contact = None
    who = data["contact"].strip()
    if who:
        ckey = (who.lower(), data["account"].strip())
        if ckey not in contacts:
            contact = Contact.objects.create(account=account, name=who)
            if "@" in who:
                ContactEmail.objects.create(contact=contact, email=who.lower(), is_primary=True)
            else:
                ContactPhone.objects.create(contact=contact, number=normalize_phone(who))
            contacts[ckey] = contact
        contact = contacts[ckey]
    return ticket_open(
        subject=data["subject"][:255],
        # A channel's own department where the lines say so (the vendor takes no calls).
        department=department_for_channel(data["channel"]) or department,
        contact=contact,
        account=account,
        message=MessageIn(
            channel=data["channel"],
            body_text=data["body"],
            author_contact=contact,
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
        ),
    ).ticket
