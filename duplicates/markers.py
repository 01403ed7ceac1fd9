"""What a ticket says about itself besides its topic, in the five languages (pure Python).

Two tickets of one customer about one object are often two problems: a how-to question
answered in a chat, then the defect the answer led to; a request solved on the phone,
then a new fault. Agents tell them apart by these turns of phrase, which ``marks`` finds:

- ``question``: the ticket asks how to do something ("how do I", "kann ich", "как
  настроить") rather than reporting a fault;
- ``solved``: it was settled in the contact itself ("Done.", "Restored", "opgelost");
- ``continues``: it says the problem goes on ("still", "sigue", "immer noch", "опять");
- ``refers_back``: it points at an earlier contact ("my colleague already wrote").

They are stored with the signature (``TicketSignature.marks``), so scoring a candidate
reads them instead of the candidate's text.
"""

from __future__ import annotations

import re

_REFERS_BACK = re.compile(
    r"already (?:wrote|emailed|e-mailed|called|phoned|reported|sent|filed|raised|chatted|opened"
    r"|asked|mentioned|contacted)|(?:as|like) (?:discussed|promised|requested|agreed|asked)"
    r"|follow(?:ing)?[- ]?up|following (?:my|our|the|up) |my (?:colleague|wife|husband|partner)"
    r"|colleague|on the (?:phone|portal)|in (?:the )?chat|reported (?:it|this) (?:already|today)"
    r"|al (?:gemaild|gebeld|gemeld|geschreven|gevraagd)|zoals (?:besproken|beloofd|gevraagd)"
    r"|collega|(?:schon|bereits) (?:geschrieben|angerufen|gemeldet|gemailt)|wie (?:telefonisch )?"
    r"besprochen|kolleg|ruft wieder an|ya (?:os |nos )?(?:escribi|llam|coment|habl|abri|pregunt)"
    r"|como (?:hablamos|acordamos|comentamos)|compañer|уже (?:писал|звонил|обращал|сообщал"
    r"|оставлял|спрашивал)|писал\w? (?:вам|на почту|в чат)|вам (?:\w+ )?писал"
    r"|как договорились|по телефону просили|коллег|повторно|в чате",
    re.I,
)
# A how-to question, not a fault report ("Can you check?" is a request, so not listed).
_QUESTION = re.compile(
    r"\bhow (?:can|do|does|should|would) (?:i|we|one|you)\b|\bhow to\b|\bcan (?:i|we) (?!not\b)"
    r"|\bis (?:it|there) (?:possible|a way)|\bwants? to know\b|\basked (?:whether|if|how)\b"
    r"|\bwhere (?:can|do) (?:i|we)\b"
    r"|\bhoe (?:kan|kunnen|moet) (?:ik|we|je|u)\b|\bkan (?:ik|je)\b|\bis het mogelijk"
    r"|\bvraagt? (?:of|hoe)\b"
    r"|\bwie (?:kann|können) (?:ich|wir|man)\b|\bkann (?:ich|man)\b|\bist es möglich"
    r"|\bfragt,? (?:ob|wie)\b|\bgibt es (?:eine|einen) möglichkeit"
    r"|\bcómo (?:puedo|se|podemos|hago|\w+o)\b|\bse puede\b|\bes posible\b"
    r"|\bpregunta (?:si|cómo)\b|\bpuedo\b"
    r"|\bкак (?:можно|мне|нам|\w+(?:ть|ти)(?:ся)?)\b|\bможно ли\b"
    r"|\bспрашива\w+,? (?:можно|как|есть ли)"
    r"|\bподскажите,? как",
    re.I,
)
_SOLVED = re.compile(
    r"\b(?:done|solved|resolved|restored|fixed it|works now|working now|sorted|walked (?:him|her"
    r"|them) through|switched it on|will change)\b|\b(?:opgelost|werkt weer|erledigt|gelöst"
    r"|funktioniert wieder|resuelto|solucionado|enviada|funciona ya|решено|восстановили"
    r"|исправили|заработал\w*|готово)\b",
    re.I,
)
_CONTINUES = re.compile(
    r"\bstill\b|\bagain\b|\bnog steeds\b|\bopnieuw\b|\bweer\b|\bimmer noch\b|\bnoch immer\b"
    r"|\bwieder\b|\bsigue\b|\bsiguen\b|\botra vez\b|\btodavía\b|\bde nuevo\b|всё ещё|все еще"
    r"|по-прежнему|\bснова\b|\bопять\b|\bтак и не\b|^\s*re\b",
    re.I | re.M,
)
MARKS = ("question", "solved", "continues", "refers_back")


def _case_sensitive(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], ...]:
    """The same pattern without ``re.I``, for text already lower-cased: on ASCII text it
    finds what the ``re.I`` one finds, 3–5× faster (an ``re.I`` alternation of this size
    folds the case of every character at every position; ~2 ms a ticket for _REFERS_BACK).
    Only for patterns whose letters are all lower case (``tests/duplicates``).

    The copy leaves out the alternatives that cannot match ASCII text (``_ascii_only``),
    and is two patterns, one of the alternatives that start at a word boundary and one of
    the rest: a text matches the pattern if it matches either, and mixed, _CONTINUES's
    Russian phrases and its "^re" made it ~25× slower (~0.1 ms a ticket, a quarter of
    building its features)."""
    flags = pattern.flags & ~re.I
    kept = _ascii_only(pattern.pattern)
    bounded = [part for part in kept if part.startswith("\\b")]
    rest = [part for part in kept if not part.startswith("\\b")]
    return tuple(re.compile("|".join(group), flags) for group in (bounded, rest) if group)


def _ascii_only(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern``, but those that are a plain run of
    characters (no group, class or repeat) with a non-ASCII letter: each such letter must
    be in the text, and none of the patterns' folds to an ASCII one (``tests/duplicates``)."""
    parts, start, depth, in_class, index = [], 0, 0, False, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return [p for p in parts if p.isascii() or set(p) & set("()[]?*+{}")]


_FAST = {p: _case_sensitive(p) for p in (_QUESTION, _SOLVED, _CONTINUES, _REFERS_BACK)}


def _search(pattern: re.Pattern[str], text: str, lower: str | None) -> bool:
    # ``lower`` is ``text.lower()`` when ``text`` is ASCII (where lower() is exactly the
    # case folding re.I applies), else None: other scripts keep the re.I pattern.
    if lower is not None:
        return any(fast.search(lower) for fast in _FAST[pattern])
    return pattern.search(text) is not None


def marks(subject: str, body: str) -> frozenset[str]:
    """Return which of ``MARKS`` the ticket's subject and text (quotes removed) show."""
    text = f"{subject}\n{body}"
    ascii_text = text.isascii()
    lower_text = text.lower() if ascii_text else None
    lower_body = body.lower() if ascii_text else None
    found = {
        "question": _search(_QUESTION, text, lower_text),
        "solved": _search(_SOLVED, body, lower_body),
        "continues": _search(_CONTINUES, text, lower_text),
        "refers_back": _search(_REFERS_BACK, body, lower_body),
    }
    return frozenset(name for name, match in found.items() if match)
