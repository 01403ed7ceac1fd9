"""Which language a ticket is in, and its words reduced to stems and domain concepts.

Pure Python (no Django). Stems come from the Snowball stemmers (``snowballstemmer``,
pure Python; cached per word, so a desk's vocabulary is stemmed once per process). A
stem that belongs to a group of ``lexicon.CONCEPTS`` becomes the group's name, which is
how "payment" in a chat and "checkout" in a mail, or "оплата" and "pago", compare equal.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from .lexicon import CONCEPTS, STOP

LANGUAGES = ("en", "nl", "de", "es", "ru")
_STEMMERS = {
    "en": "english",
    "nl": "dutch",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
}
_CYRILLIC = re.compile(r"[а-яё]", re.I)
_ADDRESS = re.compile(r"\S+[.@]\w\S*")
_LATIN_WORD = re.compile(r"[a-zäöüßáéíóúñàèëïç]+")
# Words that tell Latin-script languages apart (frequent, short, rarely shared).
_MARKERS = {
    "en": frozenset(
        "the and is are was were have has with our your this that not from for to of on it its"
        " my we can but after since nothing any all does did receives works there been a an".split()
    ),
    "nl": frozenset("de het een en van is niet wij we zijn op bij naar voor ook nog maar".split()),
    "de": frozenset("der die das und ist nicht wir ein eine mit von für auf sich auch bei".split()),
    "es": frozenset("el la los las de que y en no es un una por para con del se al".split()),
}


def _markers() -> dict[str, frozenset[str]]:
    # Every function word of a language's stop list tells it apart, except the English ones
    # that every language's tickets borrow.
    english = frozenset(STOP["en"].split())
    return {
        lang: words | (frozenset(STOP[lang].split()) - english) if lang != "en" else words
        for lang, words in _MARKERS.items()
    }


def detect(text: str) -> str:
    """Return the language of ``text`` (one of ``LANGUAGES``); English when unsure."""
    # Addresses and domains ("kitedental.de", "info@tienda.es") name no language.
    sample = _ADDRESS.sub(" ", text[:4000].lower())
    cyrillic = len(_CYRILLIC.findall(sample))
    words = _LATIN_WORD.findall(sample)
    if cyrillic > len(words):  # letters against words: Russian text with English terms
        return "ru"
    counts = {lang: sum(w in markers for w in words) for lang, markers in _MARKER_SETS.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == "en"))
    return best if counts[best] else "en"


def is_stop(word: str, language: str) -> bool:
    """Return whether ``word`` (lower case) carries no meaning in ``language`` or English."""
    return word in _STOP_SETS[language] or word in _STOP_SETS["en"]


@lru_cache(maxsize=100_000)
def stem(word: str, language: str) -> str:
    """Return the Snowball stem of ``word``; Latin words in Russian text stem as English."""
    if word.isascii() and word.isdigit():
        # A number is its own stem (the stemmers' rules all end in letters): a ticket's
        # order and ticket numbers are new words, and each cost a stemmer run (~40 µs).
        return word
    if language == "ru" and not _CYRILLIC.search(word):
        language = "en"
    return _STEMMER[language].stemWord(word.replace("ё", "е"))


def concept(word: str, language: str) -> str:
    """Return the word's domain concept (``"pay"``), else its stem."""
    stemmed = stem(word, language)
    return _CONCEPT.get((language, stemmed)) or _CONCEPT.get(("*", stemmed)) or stemmed


def _build() -> tuple[dict[str, snowballstemmer.stemmer], dict[tuple[str, str], str]]:
    stemmers = {lang: snowballstemmer.stemmer(name) for lang, name in _STEMMERS.items()}
    table: dict[tuple[str, str], str] = {}
    for name, words in CONCEPTS.items():
        for lang, listed in words.items():
            for word in listed.split():
                stemmed = stemmers[lang].stemWord(word.replace("ё", "е"))
                table[(lang, stemmed)] = name
                # English technical words appear in every language's tickets.
                if lang == "en":
                    for other in LANGUAGES:
                        table.setdefault((other, stemmers[other].stemWord(word)), name)
                table.setdefault(("*", stemmed), name)
    return stemmers, table


_STEMMER, _CONCEPT = _build()
_STOP_SETS = {lang: frozenset(STOP[lang].split()) for lang in LANGUAGES}
_MARKER_SETS = _markers()
