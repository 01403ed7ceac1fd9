"""Which SLA policy a ticket gets, and which policies would hide one another.

Resolution is explicit: among the active policies whose criteria all match (an empty
criterion matches anything), the most specific wins, judged criterion by criterion in
this order: support line, then department, then channel, then severity, then account
tier. A policy for the line and a department beats one for the line and a channel; one
for the line, the department and severity 1 beats both. ``order`` only separates
policies with the very same criteria, which the admin refuses anyway.

No policy may shadow another without the admin saying so: where two policies can match
the same ticket and neither refines the other (the winner's criteria include all of the
loser's), the winner must list the loser in ``takes_precedence_over``. Otherwise the
admin refuses to save it (``policy_conflicts``), because today's silent winner is
tomorrow's "why does this ticket have the Moscow deadline?".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tickets.models import Channel, Department, Severity, SupportLine, Ticket

from .models import SlaPolicy

CRITERIA = ("line", "department", "channel", "severity", "account_tier")
LABELS = {
    "line": "line",
    "department": "department",
    "channel": "channel",
    "severity": "severity",
    "account_tier": "account tier",
}


@dataclass(frozen=True)
class Facts:
    """What policies are matched against: the ticket's line, department, origin channel,
    severity and account tier (ids, and names for the explanation)."""

    line: int | None
    department: int | None
    channel: str
    severity: int
    account_tier: str
    names: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, ticket: Ticket, department_names: dict[int, str] | None = None) -> Facts:
        line = ticket.line if ticket.line_id else None
        department = (department_names or {}).get(ticket.department_id) or str(ticket.department)
        return cls(
            line=ticket.line_id,
            department=ticket.department_id,
            channel=ticket.origin_channel,
            severity=ticket.severity,
            account_tier=ticket.account.tier if ticket.account is not None else "",
            names={
                "line": str(line) if line else "none",
                "department": department,
                "channel": ticket.origin_channel,
                "severity": f"S{ticket.severity}",
                "account_tier": ticket.account.tier if ticket.account is not None else "none",
            },
        )


def criteria(policy: SlaPolicy) -> dict[str, object]:
    """Return the criteria the policy sets (name → value)."""
    values = {
        "line": policy.line_id,
        "department": policy.department_id,
        "channel": policy.channel or None,
        "severity": policy.severity,
        "account_tier": policy.account_tier or None,
    }
    return {name: value for name, value in values.items() if value is not None}


def matches(policy: SlaPolicy, facts: Facts) -> bool:
    return all(getattr(facts, name) == value for name, value in criteria(policy).items())


def sort_key(policy: SlaPolicy) -> tuple:
    """Most specific first (criterion by criterion in resolution order), then ``order``."""
    return (tuple(not flag for flag in policy.rank), policy.order, policy.pk or 0)


@dataclass(frozen=True)
class Resolution:
    """The winning policy (or None), the others that matched, and why."""

    policy: SlaPolicy | None
    losers: list[SlaPolicy]
    facts: Facts

    def explain(self) -> dict[str, object]:
        """Return the stored "why this policy" record (names, not just ids)."""
        facts = self.facts.names
        if self.policy is None:
            return {
                "policy": None,
                "warning": "No SLA policy matches this ticket ("
                + ", ".join(f"{LABELS[k]} {facts.get(k, '')}" for k in CRITERIA[:4])
                + "): it has no deadlines. Add a policy for it in the admin.",
                "ticket": facts,
            }
        return {
            "policy": self.policy.name,
            "why": describe(self.policy, facts),
            "ticket": facts,
            "also_matched": [
                {"policy": other.name, "why_not": _lost(self.policy, other)}
                for other in self.losers
            ],
        }


def resolve(policies: Iterable[SlaPolicy], facts: Facts) -> Resolution:
    """Return the most specific active policy matching ``facts`` (see the module docs)."""
    candidates = sorted((p for p in policies if p.is_active and matches(p, facts)), key=sort_key)
    if not candidates:
        return Resolution(None, [], facts)
    return Resolution(candidates[0], candidates[1:], facts)


def describe(policy: SlaPolicy, facts: dict[str, str] | None = None) -> str:
    """Return e.g. "matches line Domain reseller, department Legal, any channel"."""
    facts = facts or {}
    set_ = criteria(policy)
    parts = []
    for name in CRITERIA[:4]:
        if name in set_:
            parts.append(f"{LABELS[name]} {facts.get(name) or _value_name(policy, name)}")
        else:
            parts.append(f"any {LABELS[name]}")
    if "account_tier" in set_:
        parts.append(f"account tier {policy.account_tier}")
    return "matches " + ", ".join(parts)


def _value_name(policy: SlaPolicy, name: str) -> str:
    if name == "line":
        return str(policy.line)
    if name == "department":
        return str(policy.department)
    if name == "severity":
        return f"S{policy.severity}"
    return str(getattr(policy, name))


def _lost(winner: SlaPolicy, loser: SlaPolicy) -> str:
    for name, won, lost in zip(CRITERIA, winner.rank, loser.rank, strict=True):
        if won != lost:
            return f"less specific: it names no {LABELS[name]} and the winner does"
    return f"same criteria; the winner comes first in order ({winner.order} < {loser.order})"


# --- shadowing -------------------------------------------------------------------------


def overlap(a: SlaPolicy, b: SlaPolicy) -> bool:
    """Return whether some ticket could match both policies."""
    ca, cb = criteria(a), criteria(b)
    return all(ca[name] == cb[name] for name in ca.keys() & cb.keys())


def refines(a: SlaPolicy, b: SlaPolicy) -> bool:
    """Return whether ``a`` is ``b`` narrowed down (it sets every criterion ``b`` sets, to
    the same value, and more): an exception carved out of ``b`` on purpose."""
    ca, cb = criteria(a), criteria(b)
    return ca != cb and all(name in ca and ca[name] == value for name, value in cb.items())


@dataclass(frozen=True)
class Conflict:
    """Two active policies one of which hides the other on some tickets, unannounced."""

    winner: SlaPolicy
    loser: SlaPolicy
    same: bool  # the very same criteria: one of them never applies

    def __str__(self) -> str:
        if self.same:
            return (
                f"“{self.winner}” and “{self.loser}” match exactly the same tickets, so "
                f"“{self.loser}” never applies: deactivate one or change its criteria."
            )
        return (
            f"“{self.winner}” ({describe(self.winner)}) hides “{self.loser}” "
            f"({describe(self.loser)}) on the tickets both match (line, then department, then "
            f"channel, then severity decide). Narrow one of them, or tick “{self.loser}” "
            f"under “Takes precedence over” of “{self.winner}” to confirm it."
        )


def policy_conflicts(
    policy: SlaPolicy,
    others: Iterable[SlaPolicy],
    precedence: dict[int | None, set[int]] | None = None,
) -> list[Conflict]:
    """Return the conflicts ``policy`` (saved or not) has with the other active policies.

    ``precedence`` maps a policy id to the ids it takes precedence over (the form's
    choice for ``policy`` under the key ``policy.pk``); read from the database otherwise.
    """
    if not policy.is_active:
        return []
    others = [o for o in others if o.is_active and o.pk != policy.pk]
    precedence = dict(precedence or {})
    if policy.pk not in precedence:
        precedence[policy.pk] = (
            set(policy.takes_precedence_over.values_list("pk", flat=True)) if policy.pk else set()
        )
    found = []
    for other in others:
        if not overlap(policy, other):
            continue
        if criteria(policy) == criteria(other):
            winner, loser = sorted((policy, other), key=sort_key)
            found.append(Conflict(winner, loser, same=True))
            continue
        if refines(policy, other) or refines(other, policy):
            continue
        winner, loser = sorted((policy, other), key=sort_key)
        if winner.pk not in precedence:
            precedence[winner.pk] = set(winner.takes_precedence_over.values_list("pk", flat=True))
        if loser.pk not in precedence[winner.pk]:
            found.append(Conflict(winner, loser, same=False))
    return found


def all_conflicts(policies: Sequence[SlaPolicy]) -> list[Conflict]:
    """Return every unannounced shadowing among the active policies (each pair once)."""
    active = [p for p in policies if p.is_active]
    precedence: dict[int | None, set[int]] = {
        p.pk: {o.pk for o in p.takes_precedence_over.all()} for p in active
    }
    seen: set[tuple[int, int]] = set()
    out = []
    for policy in active:
        for conflict in policy_conflicts(policy, active, precedence):
            key = (conflict.winner.pk, conflict.loser.pk)
            if key not in seen:
                seen.add(key)
                out.append(conflict)
    return out


# --- coverage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A kind of ticket a line takes that no policy gives deadlines."""

    line: SupportLine
    department: Department
    channel: str
    severity: int

    def __str__(self) -> str:
        return (
            f"{self.line}: {self.department}, {Channel(self.channel).label}, "
            f"S{self.severity} has no SLA policy"
        )


def channels_taken(line: SupportLine, department: Department) -> list[str]:
    """Return the channels through which the department of the line gets new tickets."""
    taken = []
    for channel in ("email", "chat", "phone", "portal", "api"):
        if not line.takes(channel):
            continue
        if channel == "chat" and not department.accepts_chat:
            continue
        if channel == "phone" and not department.accepts_phone:
            continue
        taken.append(channel)
    return taken


def coverage_gaps(
    policies: Sequence[SlaPolicy],
    lines: Sequence[SupportLine],
    departments: Sequence[Department],
) -> list[Gap]:
    """Return each (line, department, channel, severity) a line takes that no policy
    matches: every channel of every line must have its line's targets."""
    gaps = []
    for line in lines:
        own = [d for d in departments if d.is_active and d.line_id in (None, line.pk)]
        for department in own:
            for channel in channels_taken(line, department):
                for severity in Severity.values:
                    if (
                        severity == Severity.S1
                        and line.severity_1_technical_only
                        and department.kind != "technical_support"
                    ):
                        continue
                    facts = Facts(line.pk, department.pk, channel, severity, "")
                    if resolve(policies, facts).policy is None:
                        gaps.append(Gap(line, department, channel, severity))
    return gaps
