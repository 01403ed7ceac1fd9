"""What a customer's text is about, in English, Dutch, Spanish and Russian: abuse
complaints (for the legal team), customisation requests (for the forum), and the
language it is written in. Standard library only, so the rules are tested on their own.

Abuse: "Complaints about fraudulent webshops, phishing, and copyright violations will
not be handled by our support department, but by our legal team." They may be named in
the subject or the body. Customisation: "custom developments, additional functionality,
design changes and other customization options" belong on the forum.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

BODY_CHARS = 4000  # what is read of a body: the complaint is said early, quotes come later

_ABUSE = [
    # English
    r"phishing",
    r"fraud(?:ulent)?\s+(?:web\s?shops?|web\s?stores?|online\s+(?:shops?|stores?)|(?:web\s?)?sites?)",
    r"(?:fake|scam)\s+(?:web\s?shops?|online\s+(?:shops?|stores?)|(?:web\s?)?sites?)",
    r"copyright\s+(?:violations?|infringements?|complaints?|claims?|notices?)",
    r"dmca",
    r"malware",
    r"spam\s+(?:complaints?|reports?)",
    r"abuse\s+(?:reports?|complaints?)",
    # Dutch
    r"frauduleuze\s+(?:web\s?winkels?|web\s?shops?|websites?|sites?)",
    r"nep[\s-]?(?:web\s?winkels?|web\s?shops?)",
    r"oplichters?(?:s)?[\s-]?(?:web\s?winkels?|web\s?shops?|websites?)",
    r"(?:schending|inbreuk)\s+(?:van|op)\s+(?:het\s+)?auteursrecht(?:en)?",
    r"auteursrecht(?:en)?(?:schending|inbreuk)",
    r"misbruikmelding",
    # Spanish
    r"suplantaci[oó]n\s+de\s+identidad",
    r"tiendas?\s+(?:online\s+|en\s+l[ií]nea\s+|web\s+)?fraudulentas?",
    r"(?:webs?|sitios?|p[aá]ginas?)\s+(?:web\s+)?fraudulent[oa]s?",
    r"(?:infracci[oó]n|violaci[oó]n)\s+de\s+(?:los\s+)?derechos\s+de\s+autor",
    r"denuncia\s+de\s+abuso",
    # Russian
    r"фишинг\w*",
    r"мошенническ\w+\s+(?:интернет[\s-])?(?:магазин\w*|сайт\w*)",
    r"(?:поддельн|фальшив)\w+\s+(?:интернет[\s-])?(?:магазин\w*|сайт\w*)",
    r"нарушени\w+\s+авторск\w+\s+прав\w*",
    r"жалоб\w+\s+на\s+злоупотреблени\w*",
]
# A subject line is short and deliberate: the bare words count there too.
_ABUSE_SUBJECT_ONLY = [r"abuse", r"misbruik", r"abuso", r"злоупотреблени\w*", r"copyright"]

_CUSTOMISATION = [
    # English
    r"custom(?:ised|ized)?\s+development",
    r"customi[sz]ation(?:\s+options?)?",
    r"customi[sz]e\s+(?:the\s+|our\s+|my\s+)?(?:site|website|shop|design|theme|template)",
    r"(?:additional|extra|new)\s+functionality",
    r"design\s+changes?",
    r"change\s+(?:the\s+|our\s+|my\s+)?design",
    r"co-?development",
    # Dutch
    r"maatwerk",
    r"(?:extra|aanvullende)\s+functionaliteit",
    r"(?:ontwerp|design)wijziging(?:en)?",
    r"(?:het\s+)?ontwerp\s+(?:aanpassen|wijzigen)",
    # Spanish
    r"desarrollo\s+(?:a\s+medida|personalizado)",
    r"funcionalidad(?:es)?\s+adicional(?:es)?",
    r"cambios?\s+(?:de|en\s+el)\s+dise[nñ]o",
    r"personalizaci[oó]n",
    # Russian
    r"доработк\w*",
    r"индивидуальн\w+\s+разработк\w*",
    r"дополнительн\w+\s+функционал\w*",
    r"изменени\w+\s+дизайн\w*",
    r"кастомизаци\w*",
]


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.IGNORECASE)


ABUSE_RE = _compile(_ABUSE)
ABUSE_SUBJECT_RE = _compile(_ABUSE + _ABUSE_SUBJECT_ONLY)
CUSTOMISATION_RE = _compile(_CUSTOMISATION)


@dataclass(frozen=True)
class Finding:
    """Why a text was classified: the words found and where."""

    words: str
    where: str  # "subject" | "body"

    def __str__(self) -> str:
        return f"{self.words!r} in the {self.where}"


def abuse_complaint(subject: str, body: str) -> Finding | None:
    """Return where the text names fraudulent webshops, phishing or copyright violations
    (or other abuse), or None."""
    if match := ABUSE_SUBJECT_RE.search(subject or ""):
        return Finding(match.group(0), "subject")
    if match := ABUSE_RE.search((body or "")[:BODY_CHARS]):
        return Finding(match.group(0), "body")
    return None


def customisation_request(subject: str, body: str) -> Finding | None:
    """Return where the text asks for custom development, extra functionality or design
    changes, or None."""
    if match := CUSTOMISATION_RE.search(subject or ""):
        return Finding(match.group(0), "subject")
    if match := CUSTOMISATION_RE.search((body or "")[:BODY_CHARS]):
        return Finding(match.group(0), "body")
    return None


_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_STOPWORDS = {
    "nl": {
        "de",
        "het",
        "een",
        "en",
        "van",
        "ik",
        "je",
        "niet",
        "is",
        "dat",
        "op",
        "te",
        "voor",
        "met",
        "mijn",
        "wij",
        "we",
        "graag",
        "bedankt",
        "hallo",
        "goedemorgen",
        "alstublieft",
        "kunt",
        "u",
        "onze",
        "heb",
        "hebben",
        "wordt",
        "werkt",
        "geen",
        "nog",
        "ook",
        "maar",
    },
    "es": {
        "el",
        "la",
        "los",
        "las",
        "de",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "para",
        "con",
        "no",
        "mi",
        "es",
        "hola",
        "gracias",
        "buenos",
        "días",
        "dominio",
        "nuestro",
        "está",
        "funciona",
        "pero",
        "como",
        "del",
        "al",
        "se",
        "su",
        "muy",
        "favor",
    },
    "en": {
        "the",
        "and",
        "is",
        "to",
        "of",
        "a",
        "in",
        "my",
        "we",
        "our",
        "it",
        "not",
        "please",
        "hello",
        "thanks",
        "thank",
        "you",
        "for",
        "with",
        "does",
        "doesn't",
        "have",
        "this",
        "that",
        "on",
        "domain",
        "can",
        "hi",
    },
}


# The languages each stop word counts for ("de" is Dutch and Spanish).
_STOPWORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in _words:
        _STOPWORD_LANGS[_word] = (*_STOPWORD_LANGS.get(_word, ()), _lang)


def detect_language(text: str) -> str:
    """Return "ru", "nl", "es" or "en" for a customer's text ("" when it is too short to
    tell): Cyrillic script means Russian; otherwise the most common function words."""
    sample = (text or "")[:BODY_CHARS]
    if sample.isascii():
        return _detect_ascii(sample.encode("ascii"))
    # Counted in C (a list of the letters was built char by char); every message of an
    # intake is read here twice (auto-reply language, search configuration).
    letters = sum(map(str.isalpha, sample))
    if letters < 12:
        return ""
    cyrillic = len(_CYRILLIC.findall(sample))
    if cyrillic > letters / 3:
        return "ru"
    # The words are counted in C and only the stop words among them are walked: a
    # Python loop over every word of a 4,000-character body was most of this function,
    # and every message of an intake is read here twice. Same scores as one vote a word.
    return _most_voted(Counter(map(str.lower, _WORD.findall(sample))), _STOPWORD_LANGS)


def _most_voted(counts: Counter[Any], langs_of: dict[Any, tuple[str, ...]]) -> str:
    """The language whose stop words ``counts`` holds most (English wins a tie with it),
    "" below two; ``langs_of``: the languages each stop word counts for."""
    scores = dict.fromkeys(_STOPWORDS, 0)
    for word in counts.keys() & langs_of.keys():
        for lang in langs_of[word]:
            scores[lang] += counts[word]
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 else ""


# ASCII text (most mail) is read as bytes: its letters are exactly A-Z and a-z (what
# str.isalpha and _WORD find in it), so bytes.translate counts them and splits the words
# out in C, where the regex and the per-character count were most of this function.
_ASCII_LETTERS = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_ASCII_NOT_LETTERS = bytes(b for b in range(128) if b not in _ASCII_LETTERS)
_ASCII_WORDS = bytes(b if b in _ASCII_LETTERS else ord(" ") for b in range(256))
# Only a stop word that is one run of ASCII letters can be a word of ASCII text.
_ASCII_STOPWORD_LANGS: dict[bytes, tuple[str, ...]] = {
    word.encode("ascii"): langs
    for word, langs in _STOPWORD_LANGS.items()
    if word.isascii() and word.isalpha()
}


def _detect_ascii(sample: bytes) -> str:
    """``detect_language`` of an ASCII sample (no Cyrillic in it)."""
    if len(sample.translate(None, _ASCII_NOT_LETTERS)) < 12:
        return ""
    counts = Counter(sample.lower().translate(_ASCII_WORDS).split())
    return _most_voted(counts, _ASCII_STOPWORD_LANGS)
