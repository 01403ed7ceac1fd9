"""Turn cleaned text into the content words that carry its meaning (pure Python).

Words are lower-cased, stop words of the ticket's language (and English, which every
language's tickets borrow) and channel filler ("called", "chat", "please help") dropped,
and the rest stemmed and mapped to domain concepts (``language.concept``), so that
"transferring", "transfers" and "EPP code", or "оплата" and "payment", compare equal.
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import language

# Letters and digits with inner apostrophes, dots or hyphens ("don't", "e-mail", "ns1").
_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
# Dates and times say when, not what: ISO stamps, 28.02, 07/04/2026, 12:47.
_DATES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.+-]+)?|\b\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?\b"
    r"|\b\d{1,2}:\d{2}\b"
)


def content_tokens(text: str, lang: str = "en") -> list[str]:
    """Return the content words of ``text`` in order: stemmed concepts, no stop words."""
    tokens: list[str] = []
    for raw in _WORD.findall(_DATES.sub(" ", text.lower().replace("ё", "е"))):
        word = raw.strip("._-'’")
        if "." in word or "@" in word:
            continue  # domains, versions, file names: identifiers carry them
        tokens.extend(_tokens_of(word, lang))
    return tokens


@lru_cache(maxsize=100_000)
def _tokens_of(word: str, lang: str) -> tuple[str, ...]:
    # A desk's vocabulary repeats: each word is split, checked and stemmed once a process.
    # "PayPal-Zahlungen", "IP-adres", "e-mail": each part is a word of its own.
    return tuple(_word_tokens(word.split("-"), lang))


def _word_tokens(parts: list[str], lang: str) -> list[str]:
    tokens: list[str] = []
    for word in parts:
        if len(word) < 2:
            continue
        if language.is_stop(word, lang):
            continue
        if any(ch.isdigit() for ch in word):
            # Numbers, order and shop ids are identifiers; a few such words are terms.
            mapped = language.concept(word, lang)
            if mapped != language.stem(word, lang):
                tokens.append(mapped)
            continue
        token = language.concept(word, lang)
        if not language.is_stop(token, lang):  # "niets" stems to the stop word "niet"
            tokens.append(token)
    return tokens
