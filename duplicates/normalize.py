"""Reduce a customer's text to what it says: no greetings, signatures, quotes or chat noise.

Pure Python (no Django), so it can be tested and benchmarked alone. Ticket references,
reply prefixes and quote headers are read by the desk's one text toolkit (``tickets.text``),
as email threading and search read them. The same problem told
in an email, a chat transcript, a phone summary and a portal form should come out as
similar token sets; the words that differ only by style are dropped here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tickets.text import is_quote_header, strip_references, strip_reply_prefixes

# Subjects that name the channel, not the problem: "Chat: оплата", "Call: …", "Звонок: …".
_CHANNEL_PREFIX = re.compile(
    r"^\s*(?:chat|live chat|call|phone call|llamada|anruf|telefoon|telefonat|звонок|чат)\s*"
    r"(?:with [^:]{1,40})?\s*:\s*",
    re.I,
)
_SIGNATURE_DELIMITER = re.compile(r"^\s*(?:--|__+|sent from my \w+.*|отправлено с .*)\s*$", re.I)
_CLOSINGS = re.compile(
    r"^\s*(?:(?:best|kind|warm|many)?\s*regards|best(?: wishes)?|cheers|thanks?(?: you)?"
    r"(?: in advance| again)?|thx|sincerely|yours(?: truly| sincerely)?"
    r"|met vriendelijke groet(?:en)?|mvg|groet(?:en|jes)?|greetings|with regards"
    r"|have a nice day|mit freundlichen grüßen|freundliche grüße"
    r"|(?:viele|beste|liebe) grüße|gruß|danke(?: schön)?|saludos|un saludo|gracias"
    r"|atentamente|с уважением|спасибо(?: заранее)?|заранее спасибо|хорошего дня)\s*[,.!]*\s*$",
    re.I,
)
# "Ирина Мельникова", "Веломаркет, СПб", "Tom": a few words, no sentence, no label or link.
_SIGNATURE_LINE = re.compile(r"^\s*[^\W\d_][^.!?:;/@\[\]]{0,40}?(?: [^.!?:;/@\s]+){0,3}\s*$")
_GREETING_WORDS = (
    r"(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|hallo|hoi|beste"
    r"|goedemiddag|goedemorgen|goeiedag|guten (?:tag|morgen)|grüß gott|sehr geehrte\w*|hola"
    r"|buen[oa]s (?:días|tardes|noches)|estimad[oa]s?|здравствуйте|добрый (?:день|вечер)"
    r"|доброе утро|привет)\b"
)
_GREETING = re.compile(rf"^\s*{_GREETING_WORDS}[^\n.!?]{{0,60}}[,!.:]?\s*$", re.I)
# "hola, la lista de dominios no carga": a greeting, a comma, then the problem.
_GREETING_LEAD = re.compile(rf"^\s*{_GREETING_WORDS}[^\n,.!?:]{{0,30}}[,!:]\s*(?=\S)", re.I)
# Chat transcripts: "[10:42]", "10:42:13", "(2024-05-01 10:42)" and system lines.
_CHAT_TIMESTAMP = re.compile(
    r"^\s*[\[(]?\s*(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]m)?"
    r"\s*[\])]?\s*[-:]?",
    re.I,
)
_CHAT_SYSTEM = re.compile(
    r"^\s*(?:\*{0,3}\s*)?(?:.{0,60}\b(?:joined|left|has joined|has left|entered|ended|started)"
    r"\s+(?:the\s+)?(?:chat|conversation|session)|chat (?:started|ended|transferred).*"
    r"|(?:visitor|customer) is typing.*|conversation (?:rated|closed).*|\[(?:file|файл|archivo|"
    r"bestand|datei)[^\]]*\])\s*\**\s*$",
    re.I,
)
_SPEAKER = re.compile(r"^\s*([^\W\d_][\w .'’&-]{0,40}?)\s*(?:\(([^)]{1,30})\))?\s*:\s+(.*)$")
# Portal forms and structured mails label their fields; the label is layout, not content.
_FORM_LABEL = re.compile(
    r"^\s*(?:category|topic|type|service|product|section|domain(?: name)?s?|mailbox|url|ip|"
    r"order(?: id| number)?|invoice(?: number)?|error(?: code)?|file|description|details|"
    r"problem|issue|message|comment|request|reason|status|since|impact|expected|steps?|"
    r"what happened|anything else|reseller id|account|subject|priority|severity|when|"
    r"domains, order ids, api calls|domains/order ids|screenshot|"
    r"wat is er gebeurd|domeinen/bestelnummers|wanneer|stappen|nog iets|"
    r"was ist passiert|domains/bestellnummern|wann|schritte|sonst noch etwas|"
    r"qué ha pasado|dominios/pedidos|cuándo|pasos|algo más|captura|"
    r"что случилось|домены/номера заказов|когда|шаги|что-то ещё|что-то еще|скриншот)\s*:\s*",
    re.I,
)
_WHEN_LINE = re.compile(r"^\s*when it happened:\s*\S+\s*$", re.I)
_AGENT_WORDS = frozenset(
    "agent support operator bot assistant staff helpdesk agente soporte medewerker mitarbeiter "
    "оператор бот поддержка специалист".split()
)
_PHONE_PREAMBLE = re.compile(
    r"^\s*(?:call (?:summary|notes?|log)|phone (?:call|note|log)|caller|call from|duration)"
    r"\b[^\n]{0,80}$",
    re.I,
)


def strip_ticket_tokens(text: str, prefix: str = "SD") -> str:
    """Remove ticket references such as ``[SD-123456]``, ``[SD - 123456]`` or ``SD#123456``."""
    return strip_references(text, prefix)


def strip_subject(subject: str, prefix: str = "SD") -> str:
    """Return the subject without Re:/Fwd:/AW:/Ответ: prefixes, tickets tokens and tags."""
    text = strip_ticket_tokens(subject or "", prefix)
    previous = None
    while previous != text:
        previous = text
        text = strip_reply_prefixes(text)
        text = _CHANNEL_PREFIX.sub("", text)
        text = re.sub(r"^\s*\[[^\]]{0,40}\]\s*", "", text)
    return " ".join(text.split()).lower()


def strip_quotes_and_signature(text: str) -> str:
    """Return ``text`` without the quoted earlier messages and the signature block."""
    text = unicodedata.normalize("NFKC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = _cut(text.split("\n"))
    return "\n".join(line for line in lines if not line.lstrip().startswith(">"))


def _cut(lines: list[str]) -> list[str]:
    """``_cut_signature(_cut_quotes(lines))``, without looking for quote headers past the
    first signature delimiter, where the text ends whatever follows: a thread's messages
    are stripped joined, and the first one's "-- " ended it while every line of the later
    ones was checked for a quote header (three patterns each; ~0.1 ms a reply)."""
    for index, line in enumerate(lines):
        if index and is_quote_header(lines, index):
            return _cut_signature(lines[:index])  # as ``_cut_quotes`` cuts
        if _SIGNATURE_DELIMITER.match(line):
            return lines[:index]  # as ``_cut_signature`` cuts: its first delimiter
    return _cut_signature(lines)


def clean_body(text: str, prefix: str = "SD") -> str:
    """Return the message text an agent would read: the customer's own new words."""
    return clean_stripped(strip_quotes_and_signature(text), prefix)


def clean_stripped(stripped: str, prefix: str = "SD") -> str:
    """``clean_body`` of a text ``strip_quotes_and_signature`` has already stripped."""
    lines = strip_ticket_tokens(stripped, prefix).split("\n")
    kept = [_clean_line(line, index < 3) for index, line in enumerate(lines)]
    return "\n".join(line for line in kept if line)


@lru_cache(maxsize=8192)
def _clean_line(line: str, opening: bool) -> str:
    """What ``clean_stripped`` keeps of a line ("" if nothing); ``opening``: among the
    first three, where a greeting alone is dropped. A line's fate depends on nothing else,
    and a desk's greetings, closings, form labels and account lines repeat: kept per
    process (each line went through up to a dozen patterns)."""
    if opening and not _GREETING_LEAD.match(line) and _GREETING.match(line):
        return ""
    stamped = _CHAT_TIMESTAMP.match(line) is not None
    line = _CHAT_TIMESTAMP.sub("", line, count=1)
    if _CHAT_SYSTEM.match(line) or _PHONE_PREAMBLE.match(line) or _WHEN_LINE.match(line):
        return ""
    line = _FORM_LABEL.sub("", line, count=1)
    speaker = _SPEAKER.match(line)
    if speaker and _is_speaker_label(*speaker.group(1, 2)):
        # Agents' lines in a transcript are our words, not the customer's problem; the
        # customer's name before a transcript line is layout.
        if _is_agent(*speaker.group(1, 2)):
            return ""
        if stamped:
            line = speaker.group(3)
    line = _GREETING_LEAD.sub("", line, count=1)
    if _GREETING.match(line) or _CLOSINGS.match(line):
        return ""
    return line.strip()


def _cut_quotes(lines: list[str]) -> list[str]:
    # A quote header on the first line is a forward with nothing of the customer's own
    # above it: keep the forwarded text, it is the problem.
    for index in range(1, len(lines)):
        if is_quote_header(lines, index):
            return lines[:index]
    return lines


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line):
            return lines[:index]
    # A closing ("Kind regards,") near the end starts the signature block.
    for index in range(len(lines) - 1, max(-1, len(lines) - 9), -1):
        if _CLOSINGS.match(lines[index]):
            return lines[:index]
    # Without a closing, a name and a company on short last lines after a blank line
    # still sign it off.
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip() and _SIGNATURE_LINE.match(lines[start - 1]):
        start -= 1
    if 0 < end - start <= 3 and start and not lines[start - 1].strip():
        if any(line.strip() for line in lines[: start - 1]):
            return lines[:start]
    return lines


def _is_speaker_label(name: str, role: str | None) -> bool:
    words = name.split()
    return role is not None or (1 <= len(words) <= 3 and words[0][:1].isupper())


def _is_agent(name: str, role: str | None) -> bool:
    words = {w.lower() for w in name.split()} | ({role.lower()} if role else set())
    return bool(words & _AGENT_WORDS)
