"""tickets.text_rules.detect_language: counting letters in C and looking each word up
once gives what the rule as first written (a list of letters, a pass per language) gave."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tickets.text_rules import _CYRILLIC, _STOPWORDS, _WORD, BODY_CHARS, detect_language


def _first_written(text: str) -> str:
    sample = (text or "")[:BODY_CHARS]
    letters = [ch for ch in sample if ch.isalpha()]
    if len(letters) < 12:
        return ""
    cyrillic = len(_CYRILLIC.findall(sample))
    if cyrillic > len(letters) / 3:
        return "ru"
    words = [w.lower() for w in _WORD.findall(sample)]
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    return best if scores[best] >= 2 else ""


_STOP = sorted({w for words in _STOPWORDS.values() for w in words})
# Stop words of every language (some in capitals), digits, Cyrillic and other letters,
# numerals that are not letters (², ½), underscores and punctuation between them.
_PIECES = st.one_of(
    st.sampled_from(_STOP),
    st.sampled_from(_STOP).map(str.upper),
    st.text(alphabet="abcxyzÀéİß²½_-'.,  \n0123456789", max_size=12),
    st.text(alphabet="привет мир ПОКА ёЁ", max_size=12),
)


@given(st.lists(_PIECES, max_size=60).map(" ".join))
@settings(max_examples=400, deadline=None)
@example("Hello, the domain is not working and we can't log in. Thanks")
@example("Hola, el dominio de la empresa no funciona. Gracias por su ayuda")
@example("Goedemorgen, de website van ons bedrijf is niet bereikbaar")
@example("Здравствуйте, домен не работает уже второй день")
@example("de de la la het het")  # Dutch and Spanish tie: the order of _STOPWORDS decides
@example("x" * 5000 + " the and")  # past BODY_CHARS
def test_same_language_as_first_written(text: str) -> None:
    assert detect_language(text) == _first_written(text)


def test_languages_of_plain_messages() -> None:
    """The rule's answers on ordinary customer text (and too little to tell)."""
    assert detect_language("Hello, the domain is not working. Thank you for your help") == "en"
    assert detect_language("Hola, el dominio no funciona desde ayer, por favor") == "es"
    assert detect_language("Здравствуйте, домен не работает") == "ru"
    assert detect_language("ok") == ""


_ASCII_STOP = [w for w in _STOP if w.isascii()]
# ASCII text takes the bytes path: stop words (one with an apostrophe among them), their
# capitals, digits, underscores, punctuation and control characters between them.
_ASCII_PIECES = st.one_of(
    st.sampled_from(_ASCII_STOP),
    st.sampled_from(_ASCII_STOP).map(str.upper),
    st.sampled_from(_ASCII_STOP).map(str.title),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=12),
)


@given(
    st.lists(_ASCII_PIECES, max_size=80).map(
        lambda ws: "".join(f"{w}{' ' * (i % 2)}" for i, w in enumerate(ws))
    )
)
@settings(max_examples=600, deadline=None)
@example("The_the and1and: THE,and")
@example("doesn't doesn't the")
@example("ab" * 2100 + " the and")  # past BODY_CHARS
def test_ascii_text_same_language_as_first_written(text: str) -> None:
    assert text.isascii()
    assert detect_language(text) == _first_written(text)
